"""Navigation2D-v0 against its written spec (DESIGN.md section 5), and vmapped rollouts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.envs.navigation import EnvParams, EnvState, Navigation2D
from metajax.rollouts import rollout


@pytest.fixture(scope="module")
def env():
    return metajax.make("Navigation2D-v0")[0]


def test_make_and_unknown_id():
    env, params = metajax.make("Navigation2D-v0")
    assert env.max_steps_in_episode == 100 and params.max_steps_in_episode == 100
    with pytest.raises(ValueError, match="unknown environment id .Nope-v0.; registered: AntDir-v0, AntGoal-v0, AntVel-v0, BernoulliBandit-10, "):
        metajax.make("Nope-v0")


def test_sample_tasks_uniform_in_square(env):
    tasks = env.sample_tasks(jax.random.key(0), 4000)
    goals = np.asarray(tasks.goal)
    assert goals.shape == (4000, 2)
    assert goals.min() >= -0.5 and goals.max() <= 0.5
    np.testing.assert_allclose(goals.mean(0), 0.0, atol=0.02)
    np.testing.assert_allclose(goals.std(0), 1 / np.sqrt(12), atol=0.02)


def test_reset_starts_at_origin(env):
    obs, state = env.reset(jax.random.key(0), EnvParams(goal=jnp.array([0.3, -0.2])))
    np.testing.assert_array_equal(obs, [0.0, 0.0])
    assert int(state.time) == 0


def test_step_clips_moves_and_rewards(env):
    params = EnvParams(goal=jnp.array([0.3, -0.2]))
    _, state = env.reset(jax.random.key(0), params)
    obs, state, reward, terminated, truncated, _ = env.step(
        jax.random.key(1), state, jnp.array([0.5, -0.05]), params)
    np.testing.assert_allclose(obs, [0.1, -0.05], rtol=1e-6)  # x clipped to 0.1
    np.testing.assert_allclose(reward, -np.hypot(0.1 - 0.3, -0.05 + 0.2), rtol=1e-6)
    assert not terminated and not truncated and int(state.time) == 1


def test_terminates_within_tolerance_in_both_coordinates(env):
    params = EnvParams(goal=jnp.array([0.1, 0.1]))
    near = EnvState(position=jnp.array([0.0, 0.0]), time=0)
    *_, terminated, truncated, info = env.step(jax.random.key(0), near,
                                               jnp.array([0.095, 0.105]), params)
    assert bool(terminated) and not bool(truncated)
    np.testing.assert_allclose(info["final_observation"], [0.095, 0.1], rtol=1e-6)
    *_, terminated, _, _ = env.step(jax.random.key(0), near, jnp.array([0.095, 0.08]), params)
    assert not bool(terminated)  # y is 0.02 away


def test_truncates_at_horizon(env):
    params = EnvParams(goal=jnp.array([0.4, 0.4]))
    state = EnvState(position=jnp.array([-0.4, -0.4]), time=99)
    *_, terminated, truncated, _ = env.step(jax.random.key(0), state, jnp.zeros(2), params)
    assert bool(truncated) and not bool(terminated)


def test_rollout_masks_after_termination():
    env = Navigation2D(horizon=20)
    policy = metajax.make_policy("gaussian", (2,), env.action_space(), (4,), init_std=1e-3)
    params = jax.tree.map(jnp.zeros_like, policy.init(jax.random.key(0)))
    params["Dense_0"]["bias"] = jnp.array([1.0, 1.0])  # mean action (1, 1): clipped to 0.1 steps
    params["log_std"] = jnp.full(2, -7.0)
    task = EnvParams(goal=jnp.array([0.3, 0.3]), max_steps_in_episode=20)
    traj = rollout(env, policy, params, task, jax.random.key(1), 2, 20)
    # reaches the goal on step 3 (positions 0.1, 0.2, 0.3): three valid steps, then masked
    np.testing.assert_array_equal(traj.valid[:, :4], [[1, 1, 1, 0]] * 2)
    assert bool(traj.terminated[0, 2])
    np.testing.assert_allclose(traj.episode_returns, -(np.hypot(0.2, 0.2) + np.hypot(0.1, 0.1)),
                               rtol=1e-3)


def test_vmapped_rollouts_equal_per_task_loop(algo):
    params = algo.init(jax.random.key(0)).params
    tasks = algo.env.sample_tasks(jax.random.key(1), 3)
    keys = jax.random.split(jax.random.key(2), 3)
    run = lambda task, key: rollout(algo.env, algo.policy, params, task, key, 4, algo.env.max_steps_in_episode)
    batched = jax.jit(jax.vmap(run))(tasks, keys)
    for i in range(3):
        task = jax.tree.map(lambda x: x[i], tasks)
        single = run(task, keys[i])
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(batched)):
            np.testing.assert_allclose(a, b[i], rtol=1e-5, atol=1e-6)


def test_action_scale_reproduces_rllab_normalize():
    env = Navigation2D(action_scale=0.1)
    params = env.default_params.replace(goal=jnp.array([0.3, -0.2]))
    assert params.action_scale == 0.1  # the constructor's values are the params' defaults
    _, state = env.reset(jax.random.key(0), params)
    obs, *_ = env.step(jax.random.key(1), state, jnp.array([0.5, -3.0]), params)
    np.testing.assert_allclose(obs, [0.05, -0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="action_scale must be > 0, got 0"):
        Navigation2D(action_scale=0)


def test_every_constant_is_a_param_that_can_vary_per_task(env):
    """gymnax style: max_action, goal_tolerance and action_scale live in EnvParams, so one
    vmapped step runs tasks that differ in them."""
    tasks = env.sample_tasks(jax.random.key(0), 3)
    assert tasks.max_action.shape == tasks.goal_tolerance.shape == (3,)
    tasks = tasks.replace(goal=jnp.full((3, 2), 0.3), max_action=jnp.array([0.1, 0.2, 0.1]),
                          goal_tolerance=jnp.array([0.01, 0.01, 0.25]),
                          action_scale=jnp.array([1.0, 1.0, 0.5]))
    state = EnvState(position=jnp.zeros((3, 2)), time=jnp.zeros(3, jnp.int32))
    _, _, _, terminated, _, info = jax.vmap(env.step, (None, 0, None, 0))(
        jax.random.key(1), state, jnp.array([1.0, 1.0]), tasks)
    np.testing.assert_allclose(info["final_observation"], [[0.1, 0.1], [0.2, 0.2], [0.1, 0.1]],
                               rtol=1e-6)
    np.testing.assert_array_equal(terminated, [False, False, True])  # 0.2 from the goal


@pytest.mark.parametrize("kind", ["gaussian", "categorical"])
def test_rollout_draws_the_same_randomness_as_a_step_by_step_loop(kind):
    """The rollout draws every step's keys and action noise before its time loop; the
    actions must be those of splitting each step's key inside the loop and sampling there."""
    env, _ = metajax.make("Navigation2D-v0" if kind == "gaussian" else "BernoulliBandit-5")
    policy = metajax.make_policy(kind, env.obs_shape, env.action_space(), (8,), "tanh")
    params = policy.init(jax.random.key(0))
    task = jax.tree.map(lambda x: x[0], env.sample_tasks(jax.random.key(1), 1))
    key, horizon = jax.random.key(2), 7
    trajectory = rollout(env, policy, params, task, key, 1, horizon)

    reset_key, episode_key = jax.random.split(jax.random.split(key, 1)[0])
    obs, state = env.reset(reset_key, task)
    for t, step_key in enumerate(jax.random.split(episode_key, horizon)):
        action_key, env_key = jax.random.split(step_key)
        action = policy.sample(action_key, params, obs)
        np.testing.assert_allclose(trajectory.action[0, t], action, rtol=1e-6, atol=1e-6)
        obs, state, *_ = env.step(env_key, state, action, task)
