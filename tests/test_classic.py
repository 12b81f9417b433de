"""Classic reference agents (metajax.classic) against hand computations and brute force."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from metajax.classic import (default_bandit_agents, evaluate_bandit_agents, evaluate_mdp_agents,
                             gittins_table, play_bandit, play_mdp, random_agent,
                             thompson_sampling, ucb1)
from metajax.envs.tabular_mdp import EnvParams as MDPParams
from metajax.envs.tabular_mdp import value_iteration


def test_ucb1_hand_computed():
    # arm 0: 6 of 8 pulls paid, arm 1: 0 of 1, arm 2: 1 of 4; t = 13 pulls so far
    s, f, t = jnp.array([6.0, 0.0, 1.0]), jnp.array([2.0, 1.0, 3.0]), 13
    log_t = math.log(13)
    # c = 1: 0.75 + sqrt(2 ln 13 / 8) = 1.55, 0 + sqrt(2 ln 13) = 2.26, 0.25 + 1.13 = 1.38
    bounds = [0.75 + math.sqrt(2 * log_t / 8), math.sqrt(2 * log_t), 0.25 + math.sqrt(log_t / 2)]
    assert int(np.argmax(bounds)) == 1
    assert int(ucb1(1.0)(jax.random.key(0), s, f, t, 7)) == 1
    # c = 0.2: 0.75 + 0.16 = 0.91 beats 0.45 and 0.48
    assert int(ucb1(0.2)(jax.random.key(0), s, f, t, 7)) == 0


def test_ucb1_pulls_every_arm_once_first():
    select = jax.jit(ucb1(1.0))
    for seed in range(3):
        key, s, f, arms = jax.random.key(seed), jnp.zeros(4), jnp.zeros(4), []
        for t in range(4):
            key, act_key, reward_key = jax.random.split(key, 3)
            arm = int(select(act_key, s, f, t, 10 - t))
            reward = float(jax.random.bernoulli(reward_key, 0.9))
            s, f = s.at[arm].add(reward), f.at[arm].add(1.0 - reward)
            arms.append(arm)
        assert sorted(arms) == [0, 1, 2, 3]


def test_thompson_sampling_is_beta_sample_argmax():
    s, f = jnp.array([3.0, 0.0, 5.0, 1.0]), jnp.array([1.0, 2.0, 4.0, 0.0])
    for seed in range(5):
        key = jax.random.key(seed)
        sample_key, _ = jax.random.split(key)
        theta = np.asarray(jax.random.beta(sample_key, 1.0 + s, 1.0 + f))
        assert int(thompson_sampling(key, s, f, 13, 5)) == int(np.argmax(theta))


def _pull_value(m: int, a: int, b: int, lam: float) -> float:
    """Value of pulling once more, then acting optimally, with retirement pay lam a step."""
    p = a / (a + b)
    return p * (1 + _best_value(m - 1, a + 1, b, lam)) + (1 - p) * _best_value(m - 1, a, b + 1, lam)


def _best_value(m: int, a: int, b: int, lam: float) -> float:
    return 0.0 if m == 0 else max(m * lam, _pull_value(m, a, b, lam))


def _brute_force_index(m: int, a: int, b: int) -> float:
    """Bisection on lam for indifference between retiring now and pulling now."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        lam = (lo + hi) / 2
        lo, hi = (lam, hi) if _pull_value(m, a, b, lam) > m * lam else (lo, lam)
    return lo


def test_gittins_table_hand_and_brute_force():
    table = gittins_table(10)
    assert table.shape == (11, 12, 12)
    for a in range(1, 11):
        for b in range(1, 12 - a):  # one pull left: the myopic mean
            np.testing.assert_allclose(table[1, a, b], a / (a + b), atol=1e-6)
    # two pulls left from Beta(1, 1): 0.5 (1 + max(lam, 2/3)) + 0.5 max(lam, 1/3) = 2 lam
    np.testing.assert_allclose(table[2, 1, 1], 5 / 9, atol=1e-5)
    for m, a, b in [(2, 1, 1), (2, 2, 1), (2, 1, 3), (2, 4, 2), (3, 1, 1), (3, 2, 3), (4, 1, 2)]:
        np.testing.assert_allclose(table[m, a, b], _brute_force_index(m, a, b), atol=1e-4)
    # more pulls left: more value of information, above the mean and increasing in m
    for a, b in [(1, 1), (2, 1), (1, 2), (2, 2)]:
        indices = table[2:11 - (a + b - 2), a, b]
        assert np.all(indices > a / (a + b) + 1e-3) and np.all(np.diff(indices) > 0)
    # the index depends on the pulls left, not on the horizon the table was built for
    filled = ~np.isnan(table)
    np.testing.assert_allclose(gittins_table(20)[:11, :12, :12][filled], table[filled], atol=1e-5)


def test_value_iteration_two_state_deterministic():
    # action 0 stays, action 1 switches; staying pays 0.5 in state 0 and 1 in state 1
    transitions = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    reward_means = jnp.array([[0.5, 0.0], [1.0, 0.0]])
    values, policy = value_iteration(transitions, reward_means, 3)
    # from state 0 over 3 steps: switch, stay, stay = 0 + 1 + 1 = 2 beats staying (1.5)
    np.testing.assert_allclose(values[:, 0], [2.0, 1.0, 0.5, 0.0])
    assert policy[0, 0] == 1 and policy[2, 0] == 0
    task = MDPParams(transitions=transitions, reward_means=reward_means, max_steps_in_episode=3)
    rewards = play_mdp("optimal", task, 400, 3, jax.random.key(0))
    assert rewards.shape == (400, 3)
    np.testing.assert_allclose(rewards.sum(1).mean(), 2.0, atol=0.3)  # 3 unit noises / 400


def test_psrl_improves_on_near_deterministic_tasks():
    num_tasks, num_episodes = 32, 15
    keys = jax.random.split(jax.random.key(1), 3)
    next_states = jax.random.randint(keys[0], (num_tasks, 10, 5), 0, 10)
    tasks = MDPParams(transitions=jax.nn.one_hot(next_states, 10) * 0.99 + 0.001,
                      reward_means=1.0 + jax.random.normal(keys[1], (num_tasks, 10, 5)))
    play = jax.jit(jax.vmap(lambda task, k: play_mdp("psrl", task, num_episodes, 10, k)))
    episode_returns = play(tasks, jax.random.split(keys[2], num_tasks)).sum(-1).mean(0)
    assert episode_returns.shape == (num_episodes,)
    assert episode_returns[-3:].mean() > episode_returns[0] + 5.0


def test_random_bandit_agent_earns_mean_probability():
    probs = jnp.array([0.1, 0.5, 0.9, 0.3])
    play = jax.jit(jax.vmap(lambda k: play_bandit(random_agent, probs, 50, k)))
    rewards = play(jax.random.split(jax.random.key(0), 2000))
    assert rewards.shape == (2000, 50)
    assert set(np.unique(np.asarray(rewards))) <= {0.0, 1.0}
    np.testing.assert_allclose(rewards.sum(1).mean(), 0.45 * 50, atol=0.4)  # s.e. ~0.08


@pytest.mark.parametrize("num_pulls", [1, 7])
def test_play_bandit_respects_num_pulls(num_pulls):
    rewards = play_bandit(thompson_sampling, jnp.ones(3), num_pulls, jax.random.key(0))
    assert rewards.shape == (num_pulls,) and float(rewards.sum()) == num_pulls


def test_bandit_agents_jit_vmap_and_rank():
    results = evaluate_bandit_agents(5, 10, 400, jax.random.key(0))
    assert set(results) == set(default_bandit_agents(10))
    for name, totals in results.items():
        assert totals.shape == (400,) and np.all((totals >= 0) & (totals <= 10)), name
    # RL^2 Table 1 (n = 10, k = 5): random 5.0, Gittins 6.6; standard errors here ~0.1
    np.testing.assert_allclose(results["random"].mean(), 5.0, atol=0.35)
    assert results["gittins"].mean() > results["random"].mean() + 1.0


def test_evaluate_mdp_agents_shapes_and_order():
    results = evaluate_mdp_agents(2, 16, jax.random.key(0))
    assert set(results) == {"random", "psrl", "optimal", "expected_optimum"}
    assert all(v.shape == (16,) for v in results.values())
    assert results["optimal"].mean() > results["random"].mean() + 10.0
    np.testing.assert_allclose(results["optimal"].mean(), results["expected_optimum"].mean(),
                               atol=3.0)  # noise over 16 tasks x 20 steps
