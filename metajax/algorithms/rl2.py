"""RL^2 (Duan et al. 2016): a recurrent policy trained across trials adapts in its activations.

The environment is :class:`~metajax.envs.trials.Trials` (``n`` episodes per task, previous
action, reward and done flag in the observation); the policy is a GRU actor-critic whose hidden
state is reset only at trial boundaries. Training is PPO (Schulman et al. 2017), as in
PureJaxRL's recurrent PPO: ``num_envs`` parallel trials stepped for ``num_steps`` steps, GAE
that bootstraps across episode ends inside a trial but never across a trial's end, then
``update_epochs`` epochs of minibatches over whole sequences with backpropagation through time
from the hidden state stored at the start of the rollout. The paper used TRPO; PPO is what
current RL^2 implementations use.

Options for the value function, after the RL^2 reimplementation that reproduces the paper's
tabular-MDP rows (lucaslingle/pytorch_rl2): ``separate_critic`` (the value gets its own GRU, so
its loss never shapes the policy's memory), ``layer_norm`` (a layer-normalised GRU),
``value_loss="huber"`` (unclipped Huber loss instead of PPO's clipped squared error) and
``normalize_values`` (the value head predicts returns standardised by running statistics of
the targets, so the value loss and its gradients keep one scale while returns grow).

``RL2.step`` is one PPO update (a pure function of ``(state, key)``); :func:`make_train` scans
it into one jitted ``train(key)``, so ``jax.jit(jax.vmap(train))`` trains many seeds at once.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from metajax import checks, xla_cpu
from metajax.algorithms.ppo_hyperparameters import PPOHyperparameters
from metajax.envs.trials import Trials
from metajax.estimators import gae_with_dones, normalize_advantages
from metajax.losses import (actor_critic_objective, clipped_value_loss, huber_value_loss,
                            ppo_clip_loss)
from metajax.meta_learner import Curves, MetaTestPlan
from metajax.optim import minibatch_epochs, ppo_optimizer
from metajax.recurrent import RecurrentPolicy, make_recurrent_policy
from metajax.rollouts import scan_steps
from metajax.running_stats import RunningStats

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig

VALUE_LOSSES = ("clipped", "huber")


@dataclasses.dataclass(frozen=True)
class RL2Config(PPOHyperparameters):
    """RL^2-PPO hyperparameters: the shared PPO ones (with RL^2's defaults) plus the trial and
    the recurrent network. ``num_steps=0`` means one trial per update; ``max_grad_norm=0``
    turns gradient clipping off; the network and value options are described in the module
    docstring."""

    num_envs: int = 128
    num_steps: int = 0
    lr: float = 1e-3
    gae_lambda: float = 0.3
    trial_episodes: int = 10
    hidden_size: int = 128
    embed_size: int = 64
    layer_norm: bool = False
    separate_critic: bool = False
    value_loss: str = "clipped"
    normalize_values: bool = False
    normalize_advantages: bool = True

    def __post_init__(self):
        super().__post_init__()
        for name in ("trial_episodes", "hidden_size"):
            checks.positive(name, getattr(self, name), integer=True)
        checks.non_negative_int("embed_size", self.embed_size)
        checks.one_of("value_loss", self.value_loss, VALUE_LOSSES)
        if self.num_envs % self.num_minibatches:
            raise ValueError(f"num_envs ({self.num_envs}) must be divisible by "
                             f"num_minibatches ({self.num_minibatches})")


@struct.dataclass
class RL2State:
    """Everything RL^2 carries from one update to the next (a checkpointable pytree)."""

    params: Any
    opt_state: Any
    env_state: Any  # [num_envs] trial states
    obs: jax.Array  # [num_envs, obs_dim] the next observation
    reset: jax.Array  # [num_envs] True where ``obs`` starts a new trial
    hidden: jax.Array  # [num_envs, hidden_size]
    trial_return: jax.Array  # [num_envs] return so far of the running trial
    iteration: jax.Array
    value_stats: RunningStats  # of the value targets (used when ``normalize_values``)

    @property
    def meta_params(self):
        return self.params


class Transition(NamedTuple):
    obs: jax.Array
    reset: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array  # the trial ended at this step
    episode: jax.Array  # index of the episode inside its trial
    episode_done: jax.Array  # an episode (not necessarily the trial) ended at this step
    completed_return: jax.Array  # the trial's return where it ended here, else 0


class RL2:
    """RL^2 with PPO; see the module docstring. ``num_iterations`` counts PPO updates."""

    score_names = ("first_episode_return", "last_episode_return")
    curves = Curves(("first episode of a trial", "last episode of a trial"),
                    "episode of the trial", 1)

    def __init__(self, env: Trials, policy: RecurrentPolicy, config: RL2Config = RL2Config(),
                 num_updates: int = 1000):
        if not isinstance(env, Trials):
            raise TypeError(f"RL2 needs a Trials environment, got {type(env).__name__}")
        checks.positive("num_updates", num_updates, integer=True)
        if config.trial_episodes != env.num_episodes:
            raise ValueError(f"config.trial_episodes ({config.trial_episodes}) must equal the "
                             f"Trials env's num_episodes ({env.num_episodes})")
        self.env, self.policy, self.config = env, policy, config
        self.check_env_batch(config.num_envs, "num_envs", "num_envs")
        self.num_steps = config.num_steps or env.trial_horizon
        self.env_params = env.default_params
        steps = num_updates * config.update_epochs * config.num_minibatches
        self.optimizer = ppo_optimizer(config.lr, config.max_grad_norm,
                                       steps if config.anneal_lr else None)

    def init(self, key: jax.Array) -> RL2State:
        param_key, env_key = jax.random.split(key)
        params = self.policy.init(param_key)
        n = self.config.num_envs
        obs, env_state = jax.vmap(self.env.reset, (0, None))(
            jax.random.split(env_key, n), self.env_params)
        return RL2State(params=params, opt_state=self.optimizer.init(params),
                        env_state=env_state, obs=obs, reset=jnp.ones(n, bool),
                        hidden=jnp.zeros((n, self.policy.hidden_size)),
                        trial_return=jnp.zeros(n), iteration=jnp.zeros((), jnp.int32),
                        value_stats=RunningStats.create())

    def _act(self, params, value_stats, hidden, obs, reset, key):
        """One step of every stream: the new hidden state, the sampled action, its
        log-probability and the value in return units."""
        hidden, dist, value = jax.vmap(self.policy.step, (None, 0, 0, 0))(
            params, hidden, obs, reset)
        action = self.policy.distribution.sample(key, dist)
        return (hidden, action, self.policy.distribution.log_prob(dist, action),
                self._to_returns(value_stats, value))

    def _policy_act(self, params, hidden, obs, reset, key):
        """One step of every stream without the value: ``(hidden, action)``."""
        hidden, dist, _ = jax.vmap(self.policy.step, (None, 0, 0, 0))(params, hidden, obs, reset)
        return hidden, self.policy.distribution.sample(key, dist)

    def _to_returns(self, value_stats: RunningStats, value: jax.Array) -> jax.Array:
        """The value head's output in return units (it predicts standardised returns when
        ``normalize_values``)."""
        return value_stats.denormalize(value) if self.config.normalize_values else value

    def _rollout(self, state: RL2State, key: jax.Array):
        def one_step(carry, step_key):
            env_state, obs, reset, hidden, trial_return = carry
            act_key, env_key = jax.random.split(step_key)
            hidden, action, log_prob, value = self._act(state.params, state.value_stats, hidden,
                                                        obs, reset, act_key)
            next_obs, env_state, reward, terminated, truncated, info = jax.vmap(
                self.env.step, (0, 0, 0, None))(
                jax.random.split(env_key, obs.shape[0]), env_state, action, self.env_params)
            done = jnp.logical_or(terminated, truncated)
            trial_return = trial_return + reward
            transition = Transition(obs, reset, action, log_prob, value, reward, done,
                                    info["episode"], info["episode_done"],
                                    jnp.where(done, trial_return, 0.0))
            trial_return = jnp.where(done, 0.0, trial_return)
            return (env_state, next_obs, done, hidden, trial_return), transition

        carry = (state.env_state, state.obs, state.reset, state.hidden, state.trial_return)
        carry, transitions = scan_steps(one_step, carry, key, self.num_steps)
        return carry, jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), transitions)  # [N, T]

    def _loss(self, params, hidden0, batch: Transition, advantages, targets):
        _, dists, values = jax.vmap(self.policy.unroll, (None, 0, 0, 0))(
            params, hidden0, batch.obs, batch.reset)
        dist_fns = self.policy.distribution
        log_prob = dist_fns.log_prob(dists, batch.action)
        if self.config.normalize_advantages:
            advantages = normalize_advantages(advantages)
        c = self.config
        policy_loss = ppo_clip_loss(log_prob, batch.log_prob, advantages, c.clip_eps)
        # ``batch.value`` and ``targets`` arrive in the value head's units (see ``step``)
        if c.value_loss == "huber":
            value_loss = huber_value_loss(values, targets)
        else:
            value_loss = clipped_value_loss(values, batch.value, targets, c.clip_eps)
        entropy = jnp.mean(dist_fns.entropy(dists))
        total, info = actor_critic_objective(policy_loss, value_loss, entropy, c.vf_coef,
                                             c.ent_coef)
        log_ratio = log_prob - batch.log_prob
        info |= {"approx_kl": jnp.mean(jnp.exp(log_ratio) - 1.0 - log_ratio),
                 "clip_fraction": jnp.mean(jnp.abs(jnp.exp(log_ratio) - 1.0) > c.clip_eps)}
        return total, info

    def step(self, state: RL2State, key: jax.Array) -> tuple[RL2State, dict[str, jax.Array]]:
        """One PPO update: a rollout of ``num_steps`` in every parallel trial, then epochs of
        minibatch updates."""
        c = self.config
        rollout_key, shuffle_key = jax.random.split(key)
        (env_state, obs, reset, hidden, trial_return), batch = self._rollout(state, rollout_key)
        _, _, last_value = jax.vmap(self.policy.step, (None, 0, 0, 0))(
            state.params, hidden, obs, reset)
        last_value = self._to_returns(state.value_stats, last_value)
        advantages = jax.vmap(gae_with_dones, (0, 0, 0, 0, None, None))(
            batch.reward, batch.value, batch.done, last_value, c.gamma, c.gae_lambda)
        targets = advantages + batch.value
        value_stats = state.value_stats
        if c.normalize_values:  # the loss sees targets and old values in the head's units
            value_stats = value_stats.update(targets)
            targets = value_stats.normalize(targets)
            batch = batch._replace(value=value_stats.normalize(batch.value))
        data = (state.hidden, batch, advantages, targets)
        params, opt_state, info = minibatch_epochs(
            jax.value_and_grad(self._loss, has_aux=True), self.optimizer, state.params,
            state.opt_state, data, shuffle_key, c.update_epochs, c.num_minibatches)
        metrics = {k: jnp.mean(v) for k, v in info.items()}
        metrics.update(self._return_metrics(batch))
        new_state = RL2State(params=params, opt_state=opt_state, env_state=env_state, obs=obs,
                             reset=reset, hidden=hidden, trial_return=trial_return,
                             iteration=state.iteration + 1, value_stats=value_stats)
        return new_state, metrics

    def _return_metrics(self, batch: Transition) -> dict[str, jax.Array]:
        """Mean return of the trials that ended in this rollout, and of their first and last
        episodes (the within-trial improvement RL^2 is after)."""

        def episode_return(index):
            in_episode = batch.episode == index
            ended = jnp.sum(batch.episode_done * in_episode)
            return jnp.sum(batch.reward * in_episode) / jnp.maximum(ended, 1)

        trials = jnp.sum(batch.done)
        return {"trial_return": jnp.sum(batch.completed_return) / jnp.maximum(trials, 1),
                "trials_completed": trials,
                "first_episode_return": episode_return(0),
                "last_episode_return": episode_return(self.env.num_episodes - 1)}

    def evaluate(self, params, tasks, key: jax.Array) -> jax.Array:
        """Runs one trial on each of ``tasks`` (batched env params of the wrapped env);
        returns the return of every episode of the trial, ``[num_tasks, num_episodes]``."""
        num_tasks = jax.tree.leaves(tasks)[0].shape[0]
        self.check_env_batch(num_tasks, "the meta-test", "the number of tasks")
        env_params = self.env.fixed_task(tasks)
        reset_key, key = jax.random.split(key)
        obs, env_state = jax.vmap(self.env.reset)(jax.random.split(reset_key, num_tasks),
                                                 env_params)

        def one_step(carry, step_key):
            env_state, obs, reset, hidden, alive = carry
            act_key, env_key = jax.random.split(step_key)
            hidden, action = self._policy_act(params, hidden, obs, reset, act_key)
            obs, env_state, reward, terminated, truncated, info = jax.vmap(self.env.step)(
                jax.random.split(env_key, num_tasks), env_state, action, env_params)
            per_episode = jax.nn.one_hot(info["episode"], self.env.num_episodes) * (
                reward * alive)[:, None]
            alive = alive * (1.0 - jnp.logical_or(terminated, truncated))
            return (env_state, obs, jnp.zeros_like(reset), hidden, alive), per_episode

        carry = (env_state, obs, jnp.ones(num_tasks, bool),
                 jnp.zeros((num_tasks, self.policy.hidden_size)), jnp.ones(num_tasks))
        _, per_episode = scan_steps(one_step, carry, key, self.env.trial_horizon)
        return per_episode.sum(0)

    def check_env_batch(self, num_trials: int, what: str, setting: str,
                        copies: int = 1) -> None:
        """Refuses stepping ``num_trials`` trials (times ``copies`` vmapped runs) in one call
        where the env's ``max_envs_per_call()`` is smaller: a ``ValueError`` naming the
        ``setting`` to lower, before anything runs (:mod:`metajax.xla_cpu`)."""
        xla_cpu.check_env_batch(f"{what} ({num_trials} trials)", copies * num_trials, self.env,
                                f"lower {setting}")

    # ----- the MetaLearner protocol -----

    def sample_tasks(self, key: jax.Array, num_tasks: int):
        """Tasks of the wrapped environment (a trial runs several episodes of one)."""
        return self.env.env.sample_tasks(key, num_tasks)

    def meta_test(self, params, tasks, key: jax.Array, plan: MetaTestPlan) -> jax.Array:
        """:meth:`evaluate`: the return of each episode of one trial on each task,
        ``[tasks, num_episodes]`` (RL^2 adapts in memory: ``plan`` does not apply)."""
        del plan
        return self.evaluate(params, tasks, key)

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return (f"meta-test on {protocol.num_tasks} held-out tasks (seed {protocol.seed}, "
                f"one trial of {self.env.num_episodes} episodes each):")


def make_rl2_policy(env: Trials, config: RL2Config) -> RecurrentPolicy:
    """The recurrent actor-critic that ``config`` describes, for ``env``'s trials."""
    return make_recurrent_policy(env.obs_shape, env.action_space(), config.hidden_size,
                                 config.embed_size, config.layer_norm, config.separate_critic)


def make_train(env: Trials, policy: RecurrentPolicy, config: RL2Config, num_updates: int):
    """PureJaxRL style: ``train(key) -> (final state, per-update metrics)``, the whole run
    one ``lax.scan``; ``jax.jit(jax.vmap(train))(keys)`` trains one learner per key."""
    algo = RL2(env, policy, config, num_updates)

    def train(key: jax.Array):
        init_key, key = jax.random.split(key)
        return jax.lax.scan(algo.step, algo.init(init_key), jax.random.split(key, num_updates))

    return train
