"""Trials wrapper and gymnax meta envs with the task in params."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.envs.gymnax_tasks import GymnaxTasks, gymnax_tasks
from metajax.envs.trials import Trials


def run(env, params, num_steps, seed=0, action_fn=None):
    """Steps ``env`` with a fixed action sequence; returns per-step outputs and states."""
    obs, state = env.reset(jax.random.key(seed), params)
    actions = (jax.random.randint(jax.random.key(seed + 1), (num_steps,), 0, env.num_actions)
               if action_fn is None else action_fn(num_steps))

    def body(state, inputs):
        key, action = inputs
        obs, next_state, reward, terminated, truncated, info = env.step(key, state, action,
                                                                         params)
        return next_state, (state, obs, reward, terminated, truncated, info)

    keys = jax.random.split(jax.random.key(seed + 2), num_steps)
    _, out = jax.lax.scan(body, state, (keys, actions))
    return obs, actions, out


def test_task_fixed_inside_a_trial_and_redrawn_between_trials():
    env = Trials(metajax.TabularMDP(), num_episodes=3)
    _, _, (states, _, _, terminated, truncated, info) = run(env, env.default_params, 60)
    rewards_table = np.asarray(states.task.reward_means)  # [60, S, A]
    for trial in range(2):
        block = rewards_table[30 * trial:30 * (trial + 1)]
        np.testing.assert_array_equal(block, np.broadcast_to(block[0], block.shape))
    assert not np.allclose(rewards_table[0], rewards_table[30])
    # TabularMDP episodes end by their time limit: truncated inside the trial, and the trial
    # itself terminates (nothing follows it) after the third episode; it is never truncated
    np.testing.assert_array_equal(np.nonzero(np.asarray(info["episode_truncated"]))[0],
                                  [9, 19, 29, 39, 49, 59])
    assert not np.any(info["episode_terminated"])
    np.testing.assert_array_equal(np.nonzero(np.asarray(terminated))[0], [29, 59])
    assert not np.any(truncated)
    np.testing.assert_array_equal(np.asarray(info["episode"])[:30], np.repeat([0, 1, 2], 10))


def test_observation_carries_previous_action_reward_and_done():
    env = Trials(metajax.BernoulliBandit(4, horizon=2), num_episodes=2)
    first, actions, (_, obs, rewards, *_ , info) = run(env, env.default_params, 4)
    np.testing.assert_array_equal(first, np.zeros(1 + 4 + 2))  # no previous action yet
    obs, actions, rewards = np.asarray(obs), np.asarray(actions), np.asarray(rewards)
    for t in range(3):
        np.testing.assert_array_equal(obs[t, 1:5], np.eye(4)[actions[t]])
        assert obs[t, 5] == rewards[t]
        assert obs[t, 6] == float(t == 1)  # the first episode ends after the second pull
    np.testing.assert_array_equal(obs[3], np.zeros(7))  # the trial ended: a new one begins


def test_terminated_episodes_inside_trials_of_a_plain_gymnax_env():
    cartpole, params = gymnax.make("CartPole-v1")
    env = Trials(cartpole, num_episodes=3)
    assert env.default_params.task == params  # a plain env's params are its one task
    _, _, (_, _, _, terminated, _, info) = run(env, env.default_params, 200,
                                               action_fn=lambda n: jnp.zeros(n, jnp.int32))
    ends = np.nonzero(np.asarray(info["episode_terminated"]))[0]
    assert len(ends) >= 3  # always pushing left: the pole falls within ~10 steps
    assert np.nonzero(np.asarray(terminated))[0][0] == ends[2]  # trial ends with episode 3


def test_fixed_task_params_keep_one_task_for_every_trial():
    base = metajax.BernoulliBandit(3)
    env = Trials(base, num_episodes=2)
    task = jax.tree.map(lambda x: x[0], base.sample_tasks(jax.random.key(5), 1))
    _, _, (states, *_) = run(env, env.fixed_task(task), 6)
    np.testing.assert_array_equal(np.asarray(states.task.probs),
                                  np.broadcast_to(task.probs, (6, 3)))


@pytest.mark.parametrize("env_id", ["MetaMaze-misc", "BernoulliBandit-misc",
                                    "GaussianBandit-misc"])
def test_gymnax_meta_envs_keep_their_task_across_episode_resets(env_id):
    env = gymnax_tasks(env_id)
    field = env.task_fields[0]
    horizon = env.max_steps_in_episode
    tasks = env.sample_tasks(jax.random.key(0), 2)
    task = jax.tree.map(lambda x: x[1], tasks)
    _, _, (states, _, _, terminated, truncated, _) = run(env, task, 2 * horizon + 3)
    assert np.sum(np.asarray(terminated | truncated)) >= 2
    values = np.asarray(getattr(states, field))
    np.testing.assert_array_equal(values, np.broadcast_to(task.task[field], values.shape))
    # plain gymnax draws a new task at every auto-reset: the bug the lift fixes
    raw, raw_params = gymnax.make(env_id)
    _, _, (raw_states, *_) = run(raw, raw_params, 2 * horizon + 3, seed=1)
    raw_values = np.asarray(getattr(raw_states, field))
    assert len({v.tobytes() for v in raw_values}) > 1


def test_gymnax_tasks_rejects_unknown_task_fields():
    raw, _ = gymnax.make("MetaMaze-misc")
    with pytest.raises(ValueError, match="task_fields must name fields"):
        GymnaxTasks(raw, ("not_a_field",))


def test_trials_validates_its_arguments():
    with pytest.raises(ValueError, match="num_episodes must be a positive integer"):
        Trials(metajax.BernoulliBandit(3), 0)
