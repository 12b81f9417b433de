"""Rollouts: ``lax.scan`` over a fixed horizon with done masks, ``vmap`` over episodes.

Written for one task; vmap over tasks (``in_axes`` 0 on the env params, and on the policy
params when each task has its own adapted params). Sampling is not differentiated: the
trajectories are data for score-function (likelihood-ratio) gradients.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from gymnax.environments import environment

from metajax.networks import Policy


class Trajectory(NamedTuple):
    """A batch of fixed-horizon episodes; leading axes ``[..., episodes, T]``.

    ``valid`` is 1.0 for steps inside the episode and 0.0 after it ended (terminated or
    truncated); ``obs`` is the observation the action was taken at.
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    valid: jax.Array
    terminated: jax.Array
    truncated: jax.Array

    @property
    def episode_returns(self) -> jax.Array:
        """Undiscounted return of each episode, shape ``[..., episodes]``."""
        return jnp.sum(self.reward * self.valid, axis=-1)


def scan_steps(step: Callable, carry: Any, key: jax.Array, num_steps: int) -> tuple[Any, Any]:
    """The fixed-horizon loop of every environment scan: ``step(carry, step_key) -> (carry,
    output)`` for ``num_steps`` keys split from ``key``; returns the last carry and the stacked
    outputs ``[num_steps, ...]``."""
    return jax.lax.scan(step, carry, jax.random.split(key, num_steps))


def rollout_episode(
    env: environment.Environment,
    policy: Policy,
    params,
    env_params: environment.EnvParams,
    key: jax.Array,
    horizon: int,
) -> Trajectory:
    """One episode of at most ``horizon`` steps; steps after the end are masked out."""
    reset_key, key = jax.random.split(key)
    obs, state = env.reset(reset_key, env_params)
    # every step's action and env keys, and the action noise, drawn before the time loop
    # (the same values as splitting inside it, in a few large draws instead of many small)
    step_keys = jax.vmap(jax.random.split)(jax.random.split(key, horizon))  # [horizon, 2]
    action_keys, env_keys = step_keys[:, 0], step_keys[:, 1]
    dist = policy.distribution
    shapes = jax.eval_shape(policy.apply, params, obs)
    noise = jax.vmap(lambda k: dist.noise(k, shapes))(action_keys)

    def step(carry, inputs):
        obs, state, alive = carry
        action_noise, env_key = inputs
        action = dist.sample_with_noise(policy.apply(params, obs), action_noise)
        next_obs, state, reward, terminated, truncated, _ = env.step(
            env_key, state, action, env_params
        )
        transition = Trajectory(obs, action, reward, alive.astype(reward.dtype),
                                terminated, truncated)
        alive = alive & ~(terminated | truncated)
        return (next_obs, state, alive), transition

    params = jax.lax.stop_gradient(params)
    _, trajectory = jax.lax.scan(step, (obs, state, jnp.array(True)), (noise, env_keys))
    return trajectory


def rollout(
    env: environment.Environment,
    policy: Policy,
    params,
    env_params: environment.EnvParams,
    key: jax.Array,
    num_episodes: int,
    horizon: int,
) -> Trajectory:
    """``num_episodes`` independent episodes on one task, shape ``[episodes, T, ...]``."""
    keys = jax.random.split(key, num_episodes)
    return jax.vmap(rollout_episode, in_axes=(None, None, None, None, 0, None))(
        env, policy, params, env_params, keys, horizon
    )


def episode_returns(env: environment.Environment, env_params, act, key: jax.Array,
                    num_episodes: int) -> jax.Array:
    """Undiscounted returns ``[num_episodes]`` of ``act(obs) -> action`` (e.g. a greedy
    policy), each episode run to its end or to the time limit. ``env_params`` may be traced
    (vmap over tasks): the scan length is the env's default ``max_steps_in_episode``."""
    horizon = int(env.default_params.max_steps_in_episode)

    def episode(key):
        reset_key, key = jax.random.split(key)
        obs, state = env.reset(reset_key, env_params)

        def body(carry, step_key):
            obs, state, alive = carry
            obs, state, reward, terminated, truncated, _ = env.step(step_key, state, act(obs),
                                                                    env_params)
            reward = reward * alive
            alive = alive * (1.0 - jnp.logical_or(terminated, truncated))
            return (obs, state, alive), reward

        _, rewards = scan_steps(body, (obs, state, 1.0), key, horizon)
        return rewards.sum()

    return jax.vmap(episode)(jax.random.split(key, num_episodes))
