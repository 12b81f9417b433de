"""PPO and A2C as whole-run jitted scans; PPO solves CartPole-v1 (slow)."""

import gymnax
import jax
import numpy as np
import pytest

from metajax.algorithms.ppo import PPOConfig, evaluate_returns, make_train

TINY = dict(total_steps=256, num_envs=4, num_steps=16, num_minibatches=2, update_epochs=2,
            hidden_sizes=(16,))


@pytest.mark.parametrize("env_id, extra", [
    ("CartPole-v1", dict()),
    ("CartPole-v1", dict(algo="a2c", shared_torso=True)),
    ("Pendulum-v1", dict()),  # Gaussian policy
])
def test_train_many_seeds_in_one_jit(env_id, extra):
    env, _ = gymnax.make(env_id)
    config = PPOConfig(**TINY, **extra)
    states, metrics = jax.jit(jax.vmap(make_train(config, env)))(
        jax.random.split(jax.random.key(0), 2))
    assert metrics["value_loss"].shape == (2, config.num_updates)
    assert np.all(np.isfinite(metrics["policy_loss"]))
    leaf = jax.tree.leaves(states.params)[0]
    assert not np.allclose(leaf[0], leaf[1])
    returns = evaluate_returns(config, env, jax.tree.map(lambda x: x[0], states.params),
                               jax.random.key(1), num_episodes=2)
    assert returns.shape == (2,) and np.all(np.isfinite(returns))


def test_config_errors():
    with pytest.raises(ValueError, match="algo must be one of ppo, a2c"):
        PPOConfig(algo="trpo")
    with pytest.raises(ValueError, match="must be divisible by num_minibatches"):
        PPOConfig(num_envs=3, num_steps=3, num_minibatches=4)


@pytest.mark.slow
def test_ppo_solves_cartpole():
    """CartPole-v1 counts as solved at a mean return of 475 over 100 episodes; PPO with the
    CleanRL/PureJaxRL CartPole settings gets there within 500k environment steps."""
    env, _ = gymnax.make("CartPole-v1")
    config = PPOConfig(total_steps=500_000)
    state, _ = jax.jit(make_train(config, env))(jax.random.key(0))
    returns = evaluate_returns(config, env, state.params, jax.random.key(1), 100)
    assert float(returns.mean()) >= 475.0, float(returns.mean())
