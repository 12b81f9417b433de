"""The examples run (tiny sizes)."""

import signal

import numpy as np
import pytest

from conftest import load_example


def test_quickstart_example():
    returns = load_example("quickstart").main(iterations=2, tasks=2, episodes=2)
    assert len(returns) == 3 and np.all(np.isfinite(returns))


def test_custom_task_example(monkeypatch):
    from metajax.envs import registry  # the example registers its env: undone after the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    metrics = load_example("custom_task").main(iterations=2, tasks=2, episodes=2, horizon=10)
    assert np.isfinite(float(metrics["post_return"]))


@pytest.mark.slow
def test_meta_learning_family_example():
    results = load_example("meta_learning_family").main(iterations=20, rl_iterations=2,
                                                        small=True)
    assert len(results) == 4 and all(np.isfinite(v).all() for v in results.values())


def test_rl2_bandit_example():
    results = load_example("rl2_bandit").main(updates=2, num_envs=4, hidden_size=8,
                                              num_eval_tasks=20, pulls=3)
    assert set(results) == {"rl2", "random", "ucb1", "thompson", "gittins"}
    assert all(np.isfinite(v) for v in results.values())


def test_rl2_tabular_mdp_example():
    results = load_example("rl2_tabular_mdp").main(updates=2, num_envs=4, hidden_size=8,
                                                   num_eval_tasks=20, episodes=2)
    assert {"rl2", "random", "psrl"} <= set(results)
    assert all(np.isfinite(v) for v in results.values())


def test_cartpole_agents_example():
    results = load_example("cartpole_agents").main(seeds=2, steps=256, tiny=True)
    assert set(results) == {"dqn", "ppo"} and all(r.shape == (2,) for r in results.values())


def test_task_groups_example():
    seconds = load_example("task_groups").main(iterations=1, groups=2, tiny=True)
    assert set(seconds) == {1, 2} and all(np.isfinite(list(seconds.values())))


def test_sharded_meta_batch_example():
    post_return = load_example("sharded_meta_batch").main(iterations=1, num_tasks=2, tiny=True)
    assert np.isfinite(post_return)


@pytest.mark.slow
def test_stop_and_resume_example():
    """SIGTERM mid-run writes a checkpoint and says how to continue; ``--resume`` ends on
    exactly the params of an uninterrupted run, with every iteration logged once."""
    n = 300
    result = load_example("stop_and_resume").main(iterations=n, tiny=True)
    assert result["status"] == 128 + signal.SIGTERM and result["told_how_to_continue"]
    assert 1 <= result["stopped_at"] < n
    assert result["same"]
    assert result["logged_iterations"] == list(range(1, n + 1))


def test_many_seeds_example():
    per_seed = load_example("many_seeds").main(seeds=2, iterations=1, tiny=True)
    assert per_seed.shape == (2, 2) and np.all(np.isfinite(per_seed))


def test_natural_gradient_example():
    result = load_example("natural_gradient").main(tasks=2, episodes=2, tiny=True)
    assert result["gradient_norm"] > 0 and result["relative_cg_residual"] < 1
    assert 0 < result["cosine_to_gradient"] <= 1


def test_large_meta_batch_example():
    results = load_example("large_meta_batch").main(tasks=4, chunk=2, iterations=1, tiny=True)
    assert set(results) == {"one vmap", "chunks of 2"}
    # same first meta-step from the same key in both layouts
    returns = [r["post_return"] for r in results.values()]
    assert np.isfinite(returns).all()
    np.testing.assert_allclose(returns[0], returns[1], rtol=1e-4)


def test_sweep_example():
    results = load_example("sweep").main(iterations=2, small=True)
    assert len(results["last_post_return"]) == 3
    assert all(np.isfinite(results["last_post_return"]))
