"""The functional replay buffer and the CartPoleDynamics-v0 task distribution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax import replay


def transition(i):
    return {"obs": jnp.full(3, i, jnp.float32), "action": jnp.asarray(i, jnp.int32)}


def test_buffer_wraps_around_and_keeps_the_newest():
    buffer = replay.init(transition(0), capacity=5)
    buffer = replay.add_batch(buffer, jax.vmap(transition)(jnp.arange(1, 4)))  # 1, 2, 3
    buffer = replay.add(buffer, transition(4))
    buffer = jax.jit(replay.add_batch)(buffer, jax.vmap(transition)(jnp.arange(5, 8)))  # wraps
    np.testing.assert_array_equal(buffer.storage["action"], [6, 7, 3, 4, 5])
    np.testing.assert_array_equal(buffer.storage["obs"][:, 0], [6, 7, 3, 4, 5])
    assert int(buffer.position) == 2 and int(buffer.size) == 5


def test_sampling_draws_only_filled_slots_uniformly():
    buffer = replay.add_batch(replay.init(transition(0), 100),
                              jax.vmap(transition)(jnp.arange(1, 4)))
    batch = jax.jit(replay.sample, static_argnums=2)(buffer, jax.random.key(0), 3000)
    counts = np.bincount(np.asarray(batch["action"]), minlength=4)
    assert counts[0] == 0 and np.all(np.abs(counts[1:] - 1000) < 150)
    np.testing.assert_array_equal(batch["obs"][:, 0], batch["action"])


def test_vmapped_buffers_are_independent():
    buffers = jax.vmap(lambda _: replay.init(transition(0), 4))(jnp.arange(3))
    batches = jax.vmap(jax.vmap(transition))(jnp.arange(6).reshape(3, 2))  # 2 per buffer
    buffers = jax.vmap(replay.add_batch)(buffers, batches)
    np.testing.assert_array_equal(buffers.storage["action"][:, :2], [[0, 1], [2, 3], [4, 5]])
    samples = jax.vmap(replay.sample, (0, 0, None))(
        buffers, jax.random.split(jax.random.key(1), 3), 50)
    for b in range(3):
        assert set(np.asarray(samples["action"][b]).tolist()) <= {2 * b, 2 * b + 1}


def test_buffer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        replay.init(transition(0), 0)
    with pytest.raises(ValueError, match="does not fit"):
        replay.add_batch(replay.init(transition(0), 2), jax.vmap(transition)(jnp.arange(3)))


def test_cartpole_dynamics_tasks():
    env, _ = metajax.make("CartPoleDynamics-v0")
    tasks = env.sample_tasks(jax.random.key(0), 500)
    for name, (low, high) in env.ranges.items():
        values = np.asarray(getattr(tasks, name))
        assert values.min() >= low and values.max() <= high and values.std() > 0, name
    np.testing.assert_allclose(tasks.total_mass, tasks.masscart + tasks.masspole, rtol=1e-6)
    np.testing.assert_allclose(tasks.polemass_length, tasks.masspole * tasks.length, rtol=1e-6)

    def steps_until_fall(task):  # always push right: the pole falls at a task-dependent time
        obs, state = env.reset(jax.random.key(1), task)

        def body(carry, key):
            state, alive = carry
            _, state, _, terminated, _, _ = env.step(key, state, 1, task)
            alive = alive * (1 - terminated)
            return (state, alive), alive

        return jax.lax.scan(body, (state, 1), jax.random.split(jax.random.key(2), 100))[1].sum()

    falls = jax.vmap(steps_until_fall)(jax.tree.map(lambda x: x[:20], tasks))
    assert len(set(np.asarray(falls).tolist())) > 3
    with pytest.raises(ValueError, match="gravity must be a range"):
        metajax.make("CartPoleDynamics-v0", gravity=(5.0, 1.0))
