"""PPO (Schulman et al. 2017) and A2C (Mnih et al. 2016) with GAE as one jitted run:
``make_train(config, env) -> train(key)`` whose body is a ``lax.scan`` over updates
(PureJaxRL style), so ``jax.jit(jax.vmap(train))(keys)`` trains one agent per key.

Each update steps ``num_envs`` environments for ``num_steps`` steps, computes GAE (no
bootstrap past ``terminated``; at a time-limit ``truncated`` the value of gymnax's final
observation is added to the reward), then takes ``update_epochs`` epochs of
``num_minibatches`` minibatches. ``algo="a2c"`` is the same loop with one epoch, one
minibatch, the plain policy-gradient loss and an unclipped value loss.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from gymnax.environments import environment, spaces

from metajax import checks
from metajax.algorithms.learner import Learner, whole_run
from metajax.distributions import Categorical, for_action_space
from metajax.estimators import gae_with_dones, normalize_advantages
from metajax.algorithms.ppo_hyperparameters import PPOHyperparameters
from metajax.losses import actor_critic_objective, clipped_value_loss, ppo_clip_loss
from metajax.networks import ACTIVATIONS, ActorCritic
from metajax.optim import minibatch_epochs, ppo_optimizer
from metajax.rollouts import episode_returns, scan_steps


@dataclasses.dataclass(frozen=True)
class PPOConfig(PPOHyperparameters):
    """PPO or A2C on one environment: the shared PPO hyperparameters plus the run's length and
    the actor-critic network."""

    algo: str = "ppo"  # or "a2c"
    total_steps: int = 500_000
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    shared_torso: bool = False

    def __post_init__(self):
        super().__post_init__()
        checks.one_of("algo", self.algo, ("ppo", "a2c"))
        checks.one_of("activation", self.activation, tuple(ACTIVATIONS))
        for name in ("total_steps", "num_steps"):
            checks.positive(name, getattr(self, name), integer=True)
        checks.positive("max_grad_norm", self.max_grad_norm)
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(f"num_envs * num_steps ({self.num_envs * self.num_steps}) must be "
                             f"divisible by num_minibatches ({self.num_minibatches})")
        if self.total_steps < self.num_envs * self.num_steps:
            raise ValueError(f"total_steps ({self.total_steps}) must cover one update of "
                             f"num_envs * num_steps = {self.num_envs * self.num_steps}")

    @property
    def num_updates(self) -> int:
        return self.total_steps // (self.num_envs * self.num_steps)

    @property
    def epochs_and_minibatches(self) -> tuple[int, int]:
        return (1, 1) if self.algo == "a2c" else (self.update_epochs, self.num_minibatches)


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    episode_return: jax.Array  # the return of an episode that ended here, else 0


class PPOState(NamedTuple):
    params: Any
    opt_state: Any
    env_state: Any
    obs: jax.Array
    episode_return: jax.Array
    task: Any  # the env params trained on (one task of a distribution, or the env's default)


def make_actor_critic(config: PPOConfig, action_space: spaces.Space):
    distribution, size = for_action_space(action_space)
    discrete = isinstance(distribution, Categorical)
    return ActorCritic(config.hidden_sizes, size, discrete, config.activation,
                       config.shared_torso), distribution


def make_learner(config: PPOConfig, env: environment.Environment, env_params=None) -> Learner:
    """PPO/A2C as ``init`` and ``update`` (one rollout and its epochs of minibatches); see the
    module docstring."""
    env_params = env.default_params if env_params is None else env_params
    network, dist = make_actor_critic(config, env.action_space(env_params))
    epochs, minibatches = config.epochs_and_minibatches
    steps = config.num_updates * epochs * minibatches
    optimizer = ppo_optimizer(config.lr, config.max_grad_norm,
                              steps if config.anneal_lr else None)
    apply = lambda params, obs: network.apply({"params": params}, obs)  # noqa: E731
    vstep = jax.vmap(env.step, (0, 0, 0, None))

    def env_step(carry, key):
        state, params = carry
        act_key, env_key = jax.random.split(key)
        dist_params, value = apply(params, state.obs)
        action = dist.sample(act_key, dist_params)
        obs, env_state, reward, terminated, truncated, info = vstep(
            jax.random.split(env_key, config.num_envs), state.env_state, action, state.task)
        # a time limit is not an end: bootstrap from the final observation's value
        final_value = apply(params, info["final_observation"])[1]
        reward_bootstrapped = reward + config.gamma * final_value * truncated
        done = jnp.logical_or(terminated, truncated)
        episode_return = state.episode_return + reward
        transition = Transition(state.obs, action, dist.log_prob(dist_params, action), value,
                                reward_bootstrapped, terminated, done,
                                jnp.where(done, episode_return, 0.0))
        state = state._replace(env_state=env_state, obs=obs,
                               episode_return=jnp.where(done, 0.0, episode_return))
        return (state, params), transition

    def loss_fn(params, batch: Transition, advantages, targets):
        dist_params, values = apply(params, batch.obs)
        log_prob = dist.log_prob(dist_params, batch.action)
        advantages = normalize_advantages(advantages)
        if config.algo == "a2c":
            policy_loss = -jnp.mean(log_prob * advantages)
            value_loss = 0.5 * jnp.mean((values - targets) ** 2)
        else:
            policy_loss = ppo_clip_loss(log_prob, batch.log_prob, advantages, config.clip_eps)
            value_loss = clipped_value_loss(values, batch.value, targets, config.clip_eps)
        entropy = jnp.mean(dist.entropy(dist_params))
        return actor_critic_objective(policy_loss, value_loss, entropy, config.vf_coef,
                                      config.ent_coef)

    def update(state: PPOState, key: jax.Array):
        rollout_key, shuffle_key = jax.random.split(key)
        (state, _), batch = scan_steps(env_step, (state, state.params), rollout_key,
                                       config.num_steps)
        last_value = apply(state.params, state.obs)[1]
        # GAE per environment: [num_steps, num_envs] -> vmap over the env axis
        advantages = jax.vmap(gae_with_dones, (1, 1, 1, 0, None, None), 1)(
            batch.reward, batch.value, batch.done, last_value, config.gamma, config.gae_lambda)
        # terminated vs done: GAE stops at both; `reward` already carries the truncation value
        data = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]),
                            (batch, advantages, advantages + batch.value))
        params, opt_state, info = minibatch_epochs(
            jax.value_and_grad(loss_fn, has_aux=True), optimizer, state.params,
            state.opt_state, data, shuffle_key, epochs, minibatches)
        metrics = {k: jnp.mean(v) for k, v in info.items()}
        metrics |= {"episode_return_sum": jnp.sum(batch.episode_return),
                    "episodes": jnp.sum(batch.done)}
        return state._replace(params=params, opt_state=opt_state), metrics

    def init(key: jax.Array, params=None, task=None) -> PPOState:
        task = env_params if task is None else task
        init_key, env_key = jax.random.split(key)
        obs, env_state = jax.vmap(env.reset, (0, None))(
            jax.random.split(env_key, config.num_envs), task)
        if params is None:
            params = network.init(init_key, obs[0])["params"]
        return PPOState(params, optimizer.init(params), env_state, obs,
                        jnp.zeros(config.num_envs), task)

    def evaluate(params, key: jax.Array, num_episodes: int, task=None) -> jax.Array:
        return evaluate_returns(config, env, params, key, num_episodes,
                                env_params if task is None else task)

    return Learner(init, update, config.num_updates, config.num_envs * config.num_steps,
                   evaluate)


def make_train(config: PPOConfig, env: environment.Environment, env_params=None):
    """``train(key, params=None, task=None) -> (final PPOState, per-update metrics)``, one
    ``lax.scan``; see :func:`metajax.algorithms.learner.whole_run`."""
    return whole_run(make_learner(config, env, env_params))


def evaluate_returns(config: PPOConfig, env: environment.Environment, params, key: jax.Array,
                     num_episodes: int = 100, env_params=None) -> jax.Array:
    """Undiscounted returns of the deterministic policy (argmax or mean action) over
    ``num_episodes`` full episodes."""
    env_params = env.default_params if env_params is None else env_params
    network, _ = make_actor_critic(config, env.action_space(env_params))

    def act(obs):
        dist_params, _ = network.apply({"params": params}, obs)
        if "logits" in dist_params:
            return jnp.argmax(dist_params["logits"], axis=-1)
        return dist_params["mean"]

    return episode_returns(env, env_params, act, key, num_episodes)
