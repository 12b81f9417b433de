"""DQN's whole-run jit: schedule, target updates, vmapped seeds."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from metajax.algorithms.dqn import DQNConfig, epsilon_at, greedy_returns, make_train

TINY = dict(total_steps=400, num_envs=4, learning_starts=100, buffer_size=200, batch_size=16,
            hidden_sizes=(16,), train_every=2, target_period=40)


def test_epsilon_decays_linearly_then_stays():
    config = DQNConfig(total_steps=1000, epsilon_fraction=0.5, epsilon_end=0.1)
    np.testing.assert_allclose([epsilon_at(config, s) for s in (0, 250, 500, 900)],
                               [1.0, 0.55, 0.1, 0.1], rtol=1e-5)


@pytest.mark.parametrize("extra", [dict(), dict(tau=0.05, double=False, huber=False),
                                   dict(ensemble_members=2, learn_ensemble_weights=True)])
def test_dqn_trains_many_seeds_in_one_jit(extra):
    env, _ = gymnax.make("CartPole-v1")
    config = DQNConfig(**TINY, **extra)
    states, metrics = jax.jit(jax.vmap(make_train(config, env)))(
        jax.random.split(jax.random.key(0), 2))
    assert metrics["loss"].shape == (2, 100)
    losses = np.asarray(metrics["loss"])
    assert np.all(losses[:, :24] == 0) and np.all(np.isfinite(losses)) and losses.sum() > 0
    assert int(states.buffer.size[0]) == 200 and int(states.step[0]) == 400
    first = jax.tree.leaves(states.params)[0]
    assert not np.allclose(first[0], first[1])  # seeds differ
    returns = greedy_returns(config, env, jax.tree.map(lambda x: x[0], states.params),
                             jax.random.key(1), num_episodes=3)
    assert returns.shape == (3,) and np.all(returns >= 1)


def test_hard_target_update_copies_on_schedule():
    env, _ = gymnax.make("CartPole-v1")
    config = DQNConfig(**TINY)  # copies every 40 steps = 10 iterations, once learning starts
    state, _ = jax.jit(make_train(config, env))(jax.random.key(0))
    # the last iteration (step 400) is a copy step: target equals online
    for online, target in zip(jax.tree.leaves(state.params), jax.tree.leaves(state.target_params)):
        np.testing.assert_array_equal(online, target)


def test_dqn_config_errors():
    with pytest.raises(ValueError, match="tau must be in"):
        DQNConfig(tau=0.0)
    with pytest.raises(ValueError, match=r"total_steps \(5\) must be >= num_envs"):
        DQNConfig(total_steps=5, num_envs=10)


@pytest.mark.slow
def test_dqn_solves_cartpole():
    """CartPole-v1 counts as solved at a mean return of 475 over 100 episodes; DQN with the
    CleanRL/PureJaxRL CartPole settings gets there within 500k environment steps."""
    env, _ = gymnax.make("CartPole-v1")
    config = DQNConfig()
    state, _ = jax.jit(make_train(config, env))(jax.random.key(0))
    returns = greedy_returns(config, env, state.params, jax.random.key(1), 100)
    assert float(returns.mean()) >= 475.0, float(returns.mean())
