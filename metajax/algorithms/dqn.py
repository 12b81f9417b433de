"""DQN (Mnih et al. 2015) with Double DQN, hard or Polyak target updates and optional
ensemble Q-networks, as one jitted run: ``make_train(config, env) -> train(key)`` whose body
is a ``lax.scan`` over vectorised environment steps (PureJaxRL style), so
``jax.jit(jax.vmap(train))(keys)`` trains one agent per key.

Each scan step: every one of ``num_envs`` environments takes an epsilon-greedy action
(epsilon decays linearly from ``epsilon_start`` to ``epsilon_end`` over ``epsilon_fraction``
of the run), the transitions go into a :mod:`metajax.replay` buffer, and once
``learning_starts`` steps are collected, every ``train_every``-th step takes one gradient step
on a sampled minibatch; the target network follows the online one by Polyak averaging
(``tau < 1``) or is copied every ``target_period`` steps (``tau = 1``). Bootstrapping stops
at ``terminated`` but not at ``truncated`` (time limits), using gymnax's final observation.
Defaults are CleanRL's / PureJaxRL's CartPole settings (MSE TD loss, hard target copy every
500 steps); with the Huber loss those settings diverged here (Q-values above 1000).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from gymnax.environments import environment

from metajax import checks, qlearning, replay
from metajax.algorithms.learner import Learner, whole_run
from metajax.networks import EnsembleQ, QNetwork
from metajax.rollouts import episode_returns


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    total_steps: int = 500_000
    num_envs: int = 10
    buffer_size: int = 10_000
    batch_size: int = 128
    lr: float = 2.5e-4
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5
    learning_starts: int = 10_000
    train_every: int = 1
    tau: float = 1.0
    target_period: int = 500
    double: bool = True
    huber: bool = False  # MSE as CleanRL/PureJaxRL; Huber diverged on CartPole with hard targets
    hidden_sizes: tuple[int, ...] = (120, 84)
    ensemble_members: int = 0  # 0: a single Q-network; K > 0: EnsembleQ of K members
    learn_ensemble_weights: bool = False

    def __post_init__(self):
        for name in ("total_steps", "num_envs", "buffer_size", "batch_size", "train_every",
                     "target_period"):
            checks.positive(name, getattr(self, name), integer=True)
        checks.non_negative_int("learning_starts", self.learning_starts)
        checks.non_negative_int("ensemble_members", self.ensemble_members)
        checks.positive("lr", self.lr)
        for name in ("gamma", "epsilon_start", "epsilon_end", "epsilon_fraction"):
            checks.in_interval(name, getattr(self, name), 0.0, 1.0)
        checks.in_interval("tau", self.tau, 1e-6, 1.0)
        if self.total_steps < self.num_envs:
            raise ValueError(f"total_steps ({self.total_steps}) must be >= num_envs "
                             f"({self.num_envs})")


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


class DQNState(NamedTuple):
    params: Any
    target_params: Any
    opt_state: Any
    buffer: replay.ReplayBuffer
    env_state: Any
    obs: jax.Array
    episode_return: jax.Array
    step: jax.Array
    task: Any  # the env params trained on


def make_q_network(config: DQNConfig, num_actions: int):
    if config.ensemble_members:
        return EnsembleQ(config.hidden_sizes, num_actions, config.ensemble_members,
                         learn_weights=config.learn_ensemble_weights)
    return QNetwork(config.hidden_sizes, num_actions)


def epsilon_at(config: DQNConfig, step: jax.Array) -> jax.Array:
    """Linear decay over ``epsilon_fraction`` of the run, then constant."""
    frac = jnp.clip(step / (config.epsilon_fraction * config.total_steps + 1e-8), 0.0, 1.0)
    return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


def make_learner(config: DQNConfig, env: environment.Environment, env_params=None) -> Learner:
    """DQN as ``init`` and ``update`` (one vectorised env step, maybe one gradient step); see
    the module docstring."""
    env_params = env.default_params if env_params is None else env_params
    num_actions = int(env.action_space(env_params).n)
    network = make_q_network(config, num_actions)
    optimizer = optax.adam(config.lr)
    num_iterations = config.total_steps // config.num_envs
    vreset = jax.vmap(env.reset, (0, None))
    vstep = jax.vmap(env.step, (0, 0, 0, None))

    def loss_fn(params, target_params, batch: Transition):
        q = network.apply({"params": params}, batch.obs)
        q_next_target = network.apply({"params": target_params}, batch.next_obs)
        discount = config.gamma * (1.0 - batch.terminated)
        if config.double:
            q_next_online = network.apply({"params": params}, batch.next_obs)
            target = qlearning.double_q_target(batch.reward, discount, q_next_target,
                                               q_next_online)
        else:
            target = qlearning.q_learning_target(batch.reward, discount, q_next_target)
        return jnp.mean(qlearning.td_loss(q, batch.action, target,
                                          1.0 if config.huber else None))

    def learn(state: DQNState, key: jax.Array):
        batch = replay.sample(state.buffer, key, config.batch_size)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, state.target_params, batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        return state._replace(params=optax.apply_updates(state.params, updates),
                              opt_state=opt_state), loss

    def iteration(state: DQNState, key: jax.Array):
        act_key, explore_key, env_key, learn_key = jax.random.split(key, 4)
        greedy = jnp.argmax(network.apply({"params": state.params}, state.obs), axis=-1)
        random_actions = jax.random.randint(act_key, greedy.shape, 0, num_actions)
        explore = jax.random.uniform(explore_key, greedy.shape) < epsilon_at(config, state.step)
        action = jnp.where(explore, random_actions, greedy)
        obs, env_state, reward, terminated, truncated, info = vstep(
            jax.random.split(env_key, config.num_envs), state.env_state, action, state.task)
        transitions = Transition(state.obs, action, reward, info["final_observation"],
                                 terminated.astype(jnp.float32))
        done = jnp.logical_or(terminated, truncated)
        episode_return = state.episode_return + reward
        state = state._replace(buffer=replay.add_batch(state.buffer, transitions),
                               env_state=env_state, obs=obs,
                               episode_return=jnp.where(done, 0.0, episode_return),
                               step=state.step + config.num_envs)
        ready = state.step >= config.learning_starts
        train_now = ready & ((state.step // config.num_envs) % config.train_every == 0)
        state, loss = jax.lax.cond(train_now, learn, lambda s, k: (s, jnp.zeros(())),
                                   state, learn_key)
        if config.tau < 1.0:
            target = qlearning.polyak_update(state.params, state.target_params, config.tau)
            target = jax.tree.map(lambda new, old: jnp.where(train_now, new, old), target,
                                  state.target_params)
        else:
            period_iterations = max(config.target_period // config.num_envs, 1)
            copy = ready & ((state.step // config.num_envs) % period_iterations == 0)
            target = jax.tree.map(lambda o, t: jnp.where(copy, o, t), state.params,
                                  state.target_params)
        state = state._replace(target_params=target)
        metrics = {"episode_return_sum": jnp.sum(jnp.where(done, episode_return, 0.0)),
                   "episodes": jnp.sum(done), "loss": loss}
        return state, metrics

    def init(key: jax.Array, params=None, task=None) -> DQNState:
        task = env_params if task is None else task
        init_key, env_key = jax.random.split(key)
        obs, env_state = vreset(jax.random.split(env_key, config.num_envs), task)
        if params is None:
            params = network.init(init_key, obs[0])["params"]
        example = Transition(obs[0], jnp.zeros((), jnp.int32), jnp.zeros(()), obs[0],
                             jnp.zeros(()))
        return DQNState(params, params, optimizer.init(params),
                        replay.init(example, config.buffer_size), env_state, obs,
                        jnp.zeros(config.num_envs), jnp.zeros((), jnp.int32), task)

    def evaluate(params, key: jax.Array, num_episodes: int, task=None) -> jax.Array:
        return greedy_returns(config, env, params, key, num_episodes,
                              env_params if task is None else task)

    return Learner(init, iteration, num_iterations, config.num_envs, evaluate)


def make_train(config: DQNConfig, env: environment.Environment, env_params=None):
    """``train(key, params=None, task=None) -> (final DQNState, per-step metrics)``, one
    ``lax.scan``; see :func:`metajax.algorithms.learner.whole_run`."""
    return whole_run(make_learner(config, env, env_params))


def greedy_returns(config: DQNConfig, env: environment.Environment, params, key: jax.Array,
                   num_episodes: int = 100, env_params=None) -> jax.Array:
    """Undiscounted returns of the greedy policy over ``num_episodes`` episodes."""
    env_params = env.default_params if env_params is None else env_params
    network = make_q_network(config, int(env.action_space(env_params).n))
    return episode_returns(
        env, env_params, lambda obs: jnp.argmax(network.apply({"params": params}, obs)), key,
        num_episodes)
