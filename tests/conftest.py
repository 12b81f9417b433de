"""Shared tiny configurations so the suite compiles few programs and runs in minutes."""

import jax
import pytest

import metajax
from metajax.envs.navigation import Navigation2D


def tiny_algo(**overrides):
    """MAML on a 10-step Navigation2D with a small policy: compiles in seconds."""
    env = Navigation2D(horizon=10)
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(), (8, 8), "tanh")
    config = dict(num_tasks=3, num_episodes=4, inner_lr=0.1, cg_iters=5)
    config.update(overrides)
    return metajax.maml(env, policy, **config)


@pytest.fixture(scope="session")
def algo():
    return tiny_algo()


@pytest.fixture(scope="session")
def sampled(algo):
    """One meta-batch of fixed trajectories: (params, train batches, valid batches)."""
    params = algo.init(jax.random.key(0)).params
    tasks = algo.env.sample_tasks(jax.random.key(1), algo.config.num_tasks)
    keys = jax.random.split(jax.random.key(2), algo.config.num_tasks)
    train, valid, _, _ = jax.jit(jax.vmap(algo._sample_task, in_axes=(None, 0, 0)))(
        params, tasks, keys)
    return params, train, valid
