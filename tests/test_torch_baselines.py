"""The PyTorch baselines of ``benchmarks/torch_baselines`` follow the same env spec as gymnax
(so the side-by-side timings compare the same work); needs the ``bench`` extra (torch),
skipped without it."""

import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from gymnax.environments.classic_control.cartpole import CartPole, EnvState  # noqa: E402
from torch_baselines import dqn, ppo  # noqa: E402
from torch_baselines.cartpole import VectorCartPole  # noqa: E402


def test_torch_cartpole_steps_like_gymnax():
    """Same non-terminal states and actions, some stepping past the thresholds and some
    reaching the time limit, give the same next observation, termination and truncation as gymnax's CartPole-v1."""
    rng = np.random.default_rng(0)
    n = 256
    states = rng.uniform([-2.39, -3, -0.2, -3], [2.39, 3, 0.2, 3], size=(n, 4)).astype(np.float32)
    times = rng.choice([0, 100, 499], size=n)
    actions = rng.integers(0, 2, size=n)
    env = VectorCartPole(n, torch.Generator().manual_seed(0))
    env.state, env.time = torch.tensor(states), torch.tensor(times)
    _, reward, terminated, truncated, info = env.step(torch.tensor(actions))

    gym = CartPole()
    params = gym.default_params
    for i in range(n):
        x, x_dot, theta, theta_dot = (jnp.float32(v) for v in states[i])
        state = EnvState(time=int(times[i]), x=x, x_dot=x_dot, theta=theta,
                         theta_dot=theta_dot)
        obs, next_state, r, done, _ = gym.step_env(None, state, int(actions[i]), params)
        np.testing.assert_allclose(info["final_observation"][i].numpy(), obs, rtol=1e-5,
                                   atol=1e-6)
        gym_truncated = int(next_state.time) >= params.max_steps_in_episode
        assert bool(terminated[i]) == bool(done), i
        assert bool(truncated[i]) == (gym_truncated and not bool(done)), i
        assert float(reward[i]) == float(r) == 1.0
    assert terminated.any() and truncated.any() and not (terminated & truncated).any()


@pytest.mark.parametrize("module, config", [
    (dqn, dqn.Config(total_steps=400, learning_starts=100, buffer_size=200, batch_size=16)),
    (ppo, ppo.Config(total_steps=1024, num_steps=32, num_minibatches=2)),
])
def test_torch_baselines_train_and_evaluate(module, config):
    model, returns = module.train(config, seed=0)
    assert returns and all(r >= 1 for r in returns)
    assert 1.0 <= module.greedy_return(model, episodes=3) <= 500.0
