"""Reptile meta-initialisation of whole-run learners over CartPoleDynamics-v0."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.algorithms import dqn, ppo
from metajax.algorithms.meta_init import ReptileConfig, make_reptile


class FakeState(NamedTuple):
    params: dict


def test_reptile_moves_toward_the_mean_of_adapted_params():
    """With a fake learner that returns params + task, one step is theta + lr (mean - theta)."""
    env, _ = metajax.make("CartPoleDynamics-v0")

    def train(key, params, task):
        state = FakeState(jax.tree.map(lambda p: p + task.gravity, params))
        return state, {"episode_return_sum": jnp.ones(2), "episodes": jnp.ones(2)}

    config = ReptileConfig(tasks_per_iteration=4, outer_lr=0.5)
    params, metrics = jax.jit(make_reptile(train, env, config, 1))(jax.random.key(0),
                                                                {"w": jnp.zeros(3)})
    task_key = jax.random.split(jax.random.split(jax.random.key(0), 1)[0], 3)[0]
    gravity = env.sample_tasks(task_key, 4).gravity
    np.testing.assert_allclose(params["w"], np.full(3, 0.5 * float(gravity.mean())), rtol=1e-5)
    np.testing.assert_allclose(metrics["inner_return"], [1.0])


@pytest.mark.parametrize("module, config", [
    (ppo, ppo.PPOConfig(total_steps=256, num_envs=4, num_steps=16, num_minibatches=2,
                        hidden_sizes=(8,))),
    (dqn, dqn.DQNConfig(total_steps=200, num_envs=4, learning_starts=40, buffer_size=100,
                        batch_size=8, hidden_sizes=(8,))),
])
def test_reptile_runs_real_learners_on_cartpole_dynamics(module, config):
    env, _ = metajax.make("CartPoleDynamics-v0")
    train = module.make_train(config, env)
    init = jax.jit(train)(jax.random.key(0))[0].params
    meta = make_reptile(train, env, ReptileConfig(tasks_per_iteration=2), 2)
    params, metrics = jax.jit(meta)(jax.random.key(1), init)
    assert metrics["inner_return"].shape == (2,)
    assert jax.tree.structure(params) == jax.tree.structure(init)
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(params),
                                                       jax.tree.leaves(init)))
