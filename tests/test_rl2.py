"""RL^2: PPO's pieces against reference formulas, hidden-state resets, and learning."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.algorithms.rl2 import RL2, RL2Config, make_train
from metajax.envs.trials import Trials
from metajax.estimators import gae_with_dones
from metajax.losses import clipped_value_loss, ppo_clip_loss
from metajax.recurrent import make_recurrent_policy


def test_gae_with_dones_matches_a_reference_loop():
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=12), rng.normal(size=12)
    dones = np.zeros(12)
    dones[[3, 8]] = 1.0
    last_value, gamma, lam = 0.7, 0.9, 0.8
    expected, gae = np.zeros(12), 0.0
    for t in reversed(range(12)):
        next_value = last_value if t == 11 else values[t + 1]
        delta = rewards[t] + gamma * next_value * (1 - dones[t]) - values[t]
        gae = delta + gamma * lam * (1 - dones[t]) * gae
        expected[t] = gae
    got = jax.jit(gae_with_dones, static_argnums=(4, 5))(
        jnp.asarray(rewards), jnp.asarray(values), jnp.asarray(dones), last_value, gamma, lam)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_ppo_losses_match_their_formulas():
    log_prob = jnp.log(jnp.array([1.5, 0.5, 1.1, 0.7]))  # ratios against old log-prob 0
    advantage = jnp.array([2.0, -1.0, -3.0, 1.0])
    # per element min(r A, clip(r, 0.8, 1.2) A): 1.2*2, 0.8*-1, 1.1*-3, 0.7*1
    expected = -np.mean([2.4, -0.8, -3.3, 0.7])
    np.testing.assert_allclose(ppo_clip_loss(log_prob, jnp.zeros(4), advantage, 0.2), expected,
                               rtol=1e-6)
    value, old, target = jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]), jnp.array([2.0, 0.6])
    # clipped values: 0.5 + 0.2 = 0.7 and 0.5 - 0.2 = 0.3; take the larger squared error
    expected = 0.5 * np.mean([max(1.0, 1.3**2), max(0.36, 0.3**2)])
    np.testing.assert_allclose(clipped_value_loss(value, old, target, 0.2), expected, rtol=1e-6)


def tiny_rl2(num_episodes=2, num_steps=0, **config):
    env = Trials(metajax.TabularMDP(num_states=3, num_actions=2, horizon=3), num_episodes)
    policy = make_recurrent_policy(env.obs_shape, env.action_space(), hidden_size=8,
                                   embed_size=8)
    config = RL2Config(trial_episodes=num_episodes, num_envs=4, num_steps=num_steps,
                       hidden_size=8, num_minibatches=2, update_epochs=2, **config)
    return RL2(env, policy, config, num_updates=3)


def test_hidden_state_resets_exactly_at_trial_boundaries():
    algo = tiny_rl2(num_episodes=2, num_steps=12)  # two trials of 2 x 3 steps per rollout
    state = algo.init(jax.random.key(0))
    _, batch = algo._rollout(state, jax.random.key(1))
    resets = np.asarray(batch.reset)
    expected = np.zeros((4, 12), bool)
    expected[:, [0, 6]] = True
    np.testing.assert_array_equal(resets, expected)
    # at a trial start the value equals a fresh network's; one step into the trial, and at
    # the episode boundary inside it (step 3), the memory of earlier steps changes it
    fresh = jax.vmap(algo.policy.step, (None, None, 0, None))(
        state.params, algo.policy.initial_hidden(), batch.obs[:, 6], True)[2]
    np.testing.assert_allclose(batch.value[:, 6], fresh, rtol=1e-5, atol=1e-6)
    for t in (3, 7):
        fresh = jax.vmap(algo.policy.step, (None, None, 0, None))(
            state.params, algo.policy.initial_hidden(), batch.obs[:, t], True)[2]
        assert not np.allclose(batch.value[:, t], fresh)


def test_reset_flag_zeroes_the_hidden_state():
    algo = tiny_rl2()
    params = algo.policy.init(jax.random.key(0))
    obs = jnp.ones(algo.env.obs_shape)
    hidden = jnp.full(8, 0.5)
    kept, _, _ = algo.policy.step(params, hidden, obs, jnp.array(False))
    reset, _, _ = algo.policy.step(params, hidden, obs, jnp.array(True))
    from_zero, _, _ = algo.policy.step(params, jnp.zeros(8), obs, jnp.array(False))
    np.testing.assert_allclose(reset, from_zero)
    assert not np.allclose(kept, reset)


def test_make_train_vmaps_over_seeds_and_evaluates():
    algo = tiny_rl2()
    train = make_train(algo.env, algo.policy, algo.config, num_updates=3)
    states, metrics = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    assert metrics["trial_return"].shape == (2, 3)
    assert np.all(np.isfinite(metrics["value_loss"]))
    assert not np.allclose(jax.tree.leaves(states.params)[0][0],
                           jax.tree.leaves(states.params)[0][1])
    returns = jax.jit(algo.evaluate)(jax.tree.map(lambda x: x[0], states.params),
                                     algo.env.env.sample_tasks(jax.random.key(1), 5),
                                     jax.random.key(2))
    assert returns.shape == (5, 2)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="num_envs .* divisible by num_minibatches"):
        RL2Config(num_envs=6, num_minibatches=4)
    with pytest.raises(TypeError, match="needs a Trials environment"):
        RL2(metajax.BernoulliBandit(3), None)
    algo = tiny_rl2()
    with pytest.raises(ValueError, match=r"trial_episodes \(5\) must equal .* \(2\)"):
        RL2(algo.env, algo.policy, RL2Config(trial_episodes=5))


@pytest.mark.slow
def test_rl2_beats_random_on_bernoulli_bandit_5():
    """RL^2's published n=10, k=5 figure is 6.7 against random's 5.0; a short run (100
    updates, about a minute here) must reach 6.0 on 1000 held-out tasks."""
    env = Trials(metajax.BernoulliBandit(5), 10)
    config = RL2Config(trial_episodes=10, num_envs=128)
    policy = make_recurrent_policy(env.obs_shape, env.action_space(), config.hidden_size)
    train = jax.jit(make_train(env, policy, config, num_updates=100))
    state, _ = train(jax.random.key(0))
    algo = RL2(env, policy, config)
    tasks = env.env.sample_tasks(jax.random.key(1), 1000)
    totals = jax.jit(algo.evaluate)(state.params, tasks, jax.random.key(2)).sum(1)
    random_policy = 10 * float(tasks.probs.mean())
    assert float(totals.mean()) > random_policy + 1.0, (float(totals.mean()), random_policy)


def test_cli_trains_rl2_then_evaluates_the_checkpoint(tmp_path, capsys):
    from metajax.cli import main

    args = ["train", "algo=rl2", "env=BernoulliBandit-5", f"runs_dir={tmp_path}",
            "run_name=rl2", "num_iterations=2", "checkpoint_every=1", "rl2.num_envs=4",
            "rl2.num_minibatches=2", "rl2.hidden_size=8", "rl2.trial_episodes=3",
            "meta_test.num_tasks=4"]
    assert main(args) == 0
    run = tmp_path / "rl2"
    for name in ("metrics.jsonl", "learning_curves.png", "config.json", "meta_test.json",
                 "summary.json"):
        assert (run / name).is_file(), name
    trained = json.loads((run / "meta_test.json").read_text())["returns"]
    assert len(trained) == 3  # one mean return per episode of the trial
    out = capsys.readouterr().out
    assert "| episode of the trial | mean return |" in out
    assert main(["evaluate", str(run)]) == 0
    assert "| episode of the trial | mean return | s.e. |" in capsys.readouterr().out
    evaluated = json.loads((run / "evaluations" / "step_2.json").read_text())
    np.testing.assert_allclose(evaluated["returns"], trained, rtol=1e-6)
    assert len(evaluated["standard_errors"]) == 3
