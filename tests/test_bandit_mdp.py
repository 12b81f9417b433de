"""BernoulliBandit-K and TabularMDP against their written specs; value iteration by hand."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.envs.bandit import EnvParams as BanditParams
from metajax.envs.tabular_mdp import EnvParams as MDPParams
from metajax.envs.tabular_mdp import value_iteration


@pytest.mark.parametrize("k", [5, 10, 50])
def test_bandit_registry_and_task_distribution(k):
    env, _ = metajax.make(f"BernoulliBandit-{k}")
    tasks = env.sample_tasks(jax.random.key(0), 2000)
    assert tasks.probs.shape == (2000, k) and env.action_space().n == k
    assert float(tasks.probs.min()) >= 0 and float(tasks.probs.max()) <= 1
    np.testing.assert_allclose(tasks.probs.mean(), 0.5, atol=0.01)
    np.testing.assert_allclose(env.optimal_return(tasks), tasks.probs.max(-1))


def test_bandit_pays_bernoulli_of_the_pulled_arm():
    env, _ = metajax.make("BernoulliBandit-5")
    params = BanditParams(probs=jnp.array([0.1, 0.9, 0.5, 0.0, 1.0]))
    obs, state = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, [0.0])

    def pull(key, arm):
        return env.step(key, state, arm, params)[2]

    keys = jax.random.split(jax.random.key(1), 20000)
    for arm, p in enumerate([0.1, 0.9, 0.5, 0.0, 1.0]):
        rewards = jax.vmap(pull, in_axes=(0, None))(keys, arm)
        np.testing.assert_allclose(rewards.mean(), p, atol=0.01)
    *_, terminated, truncated, _ = env.step(jax.random.key(2), state, 1, params)
    assert not bool(terminated) and bool(truncated)  # one pull per episode


def test_tabular_mdp_task_distribution():
    env, _ = metajax.make("TabularMDP-v0")
    tasks = env.sample_tasks(jax.random.key(0), 500)
    assert tasks.transitions.shape == (500, 10, 5, 10)
    np.testing.assert_allclose(tasks.transitions.sum(-1), 1.0, rtol=1e-5)
    # Dirichlet(1) over 10 states: each entry has mean 1/10 and variance 9/1100
    np.testing.assert_allclose(tasks.transitions.mean(), 0.1, atol=1e-3)
    np.testing.assert_allclose(tasks.transitions.var(), 9 / 1100, rtol=0.05)
    np.testing.assert_allclose(tasks.reward_means.mean(), 1.0, atol=0.02)
    np.testing.assert_allclose(tasks.reward_means.std(), 1.0, atol=0.02)


def test_tabular_mdp_dynamics_rewards_and_horizon():
    env, _ = metajax.make("TabularMDP-v0")
    task = jax.tree.map(lambda x: x[0], env.sample_tasks(jax.random.key(3), 1))
    obs, state = env.reset(jax.random.key(0), task)
    np.testing.assert_array_equal(obs, np.eye(10)[0])
    keys = jax.random.split(jax.random.key(1), 40000)
    obs, _, reward, *_ = jax.vmap(lambda k: env.step(k, state, 2, task))(keys)
    np.testing.assert_allclose(obs.mean(0), task.transitions[0, 2], atol=0.01)
    np.testing.assert_allclose(reward.mean(), task.reward_means[0, 2], atol=0.02)
    np.testing.assert_allclose(reward.std(), 1.0, atol=0.02)
    traj = metajax.rollout(env, metajax.make_policy("categorical", (10,), env.action_space(), (4,)),
                           metajax.make_policy("categorical", (10,), env.action_space(), (4,))
                           .init(jax.random.key(0)), task, jax.random.key(2), 3, 10)
    assert bool(traj.truncated[0, -1]) and float(traj.valid.sum()) == 30


def test_value_iteration_matches_brute_force():
    rng = np.random.default_rng(0)
    s, a, horizon = 3, 2, 3
    p = rng.dirichlet(np.ones(s), size=(s, a))
    r = rng.normal(1, 1, size=(s, a))
    values, policy = value_iteration(jnp.asarray(p), jnp.asarray(r), horizon)

    def expected_return(plan):  # plan[t][state] -> action, exact expectation
        dist, total = np.eye(s)[0], 0.0
        for t in range(horizon):
            acts = plan[t]
            total += sum(dist[x] * r[x, acts[x]] for x in range(s))
            dist = sum(dist[x] * p[x, acts[x]] for x in range(s))
        return total

    plans = itertools.product(itertools.product(range(a), repeat=s), repeat=horizon)
    best = max(expected_return(plan) for plan in plans)
    np.testing.assert_allclose(values[0, 0], best, rtol=1e-5)
    np.testing.assert_allclose(expected_return(np.asarray(policy)), best, rtol=1e-5)
    assert np.all(np.asarray(values[-1]) == 0)
    env = metajax.TabularMDP(num_states=s, num_actions=a, horizon=horizon)
    task = MDPParams(transitions=jnp.asarray(p), reward_means=jnp.asarray(r),
                     max_steps_in_episode=horizon)
    np.testing.assert_allclose(env.optimal_return(task), best, rtol=1e-5)
