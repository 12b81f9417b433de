"""The brax locomotion task distributions against their written spec (pytorch-maml-rl's
half_cheetah.py and ant.py, transcribed in NumPy below): rewards and termination on hand-made
physics states, the task distributions, determinism, tasks batched in one vmap, env batches
per call that could deadlock XLA:CPU refused, and a chunked MAML run under a timeout."""

import ast
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from conftest import EXAMPLES, load_example
from metajax.envs.locomotion import LOCOMOTION, NORMALIZATION_SCALE
from metajax.rollouts import rollout


@pytest.fixture(scope="module")
def envs():
    return {env_id: metajax.make(env_id)[0] for env_id in LOCOMOTION}


@pytest.fixture(scope="module")
def pipeline_init(envs):
    """One compiled ``pipeline_init`` per robot (the task distributions share its physics)."""
    inits = {}
    for env in envs.values():
        inits.setdefault(env.robot, jax.jit(env.brax.pipeline_init))
    return inits


def spec_reward(env_id, task, q0, q1, action, dt):
    """pytorch-maml-rl's reward, from the joint positions before and after one step (the
    root's x is q[0]; Ant's torso is its free joint, q[0:3]), in NumPy."""
    velocity = (q1[0] - q0[0]) / dt
    if env_id.startswith("HalfCheetah"):
        ctrl = 0.5 * 1e-1 * np.sum(np.square(action))
        forward = (-abs(velocity - task) if env_id == "HalfCheetahVel-v0" else task * velocity)
        return forward - ctrl
    ctrl = 0.5 * 1e-2 * np.sum(np.square(action / 1.0))  # Ant's control range is [-1, 1]
    if env_id == "AntVel-v0":
        forward = -abs(velocity - task) + 1.0
    elif env_id == "AntDir-v0":
        forward = task * velocity
    else:
        forward = -np.sum(np.abs(q1[:2] - task)) + 4.0
    return forward - ctrl + 0.05


def spec_done(env_id, q1, qd1):
    if env_id.startswith("HalfCheetah"):
        return False
    state = np.concatenate([q1, qd1])
    return not (np.isfinite(state).all() and 0.2 <= state[2] <= 1.0)


TASKS = {"HalfCheetahVel-v0": [0.3, 1.7], "HalfCheetahDir-v0": [-1.0, 1.0],
         "AntVel-v0": [0.5, 2.5], "AntDir-v0": [-1.0, 1.0],
         "AntGoal-v0": [np.array([1.0, -2.0]), np.array([-2.5, 0.5])]}
FIELD = {"Vel": "velocity", "Dir": "direction", "Goal": "goal"}


@pytest.mark.parametrize("env_id", sorted(LOCOMOTION))
def test_reward_and_termination_match_the_spec_on_hand_made_states(envs, pipeline_init, env_id):
    env = envs[env_id]
    init = pipeline_init[env.robot]
    rng = np.random.default_rng(0)
    q0 = np.asarray(env.brax.sys.init_q, np.float32)
    action = np.linspace(-0.9, 0.9, env.action_dim).astype(np.float32)
    heights = [0.5, 1.2, 0.1] if env_id.startswith("Ant") else [None]
    field = FIELD[env_id.split("-")[0].removeprefix("HalfCheetah").removeprefix("Ant")]
    for task in TASKS[env_id]:
        for height in heights:
            q1 = q0 + rng.uniform(-0.2, 0.2, q0.shape).astype(np.float32)
            q1[0] = q0[0] + rng.uniform(0.05, 0.3)
            if height is not None:
                q1[2] = height
            qd1 = rng.normal(size=env.qd_size).astype(np.float32)
            before, after = init(q0, np.zeros(env.qd_size, np.float32)), init(q1, qd1)
            params = env.tasks(**{field: jnp.asarray(task, jnp.float32)})
            reward, done = env.reward_and_termination(params, before, after, jnp.asarray(action))
            expected = spec_reward(env_id, task, np.asarray(before.q), np.asarray(after.q),
                                   action, env.dt)
            np.testing.assert_allclose(float(reward), expected, rtol=1e-5, atol=1e-5)
            assert bool(done) == spec_done(env_id, np.asarray(after.q), qd1)
    if env_id.startswith("Ant"):  # a non-finite state ends the episode
        after = init(q0, np.full(env.qd_size, np.nan, np.float32))
        assert bool(env.reward_and_termination(params, before, after, jnp.asarray(action))[1])


def test_policy_actions_are_normalised_as_pytorch_maml_rl_does(envs):
    env = envs["HalfCheetahVel-v0"]
    s = NORMALIZATION_SCALE
    policy_action = jnp.array([s, -s, 2.5 * s, 0.5 * s, -0.3 * s, 0.0])
    np.testing.assert_allclose(env.physics_action(policy_action),
                               [1.0, -1.0, 1.0, 0.5, -0.3, 0.0], atol=1e-6)
    assert env.action_space().high == s  # the policy's space is [-10, 10]


@pytest.mark.parametrize("env_id", sorted(LOCOMOTION))
def test_tasks_follow_their_distribution(envs, env_id):
    tasks = envs[env_id].sample_tasks(jax.random.key(0), 4000)
    if env_id.endswith("Dir-v0"):
        values = np.asarray(tasks.direction)
        assert set(np.unique(values)) == {-1.0, 1.0}
        assert abs(values.mean()) < 0.05  # P(+1) = 1/2: s.e. of the mean 0.016
        return
    values = np.asarray(tasks.goal if env_id == "AntGoal-v0" else tasks.velocity)
    low, high = {"HalfCheetahVel-v0": (0, 2), "AntVel-v0": (0, 3), "AntGoal-v0": (-3, 3)}[env_id]
    assert values.min() >= low and values.max() <= high
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):  # uniform: each quantile where it should be
        assert abs(np.quantile(values, q) - (low + q * (high - low))) < 0.03 * (high - low)
    if env_id == "AntGoal-v0":  # the two coordinates independent
        assert abs(np.corrcoef(values.T)[0, 1]) < 0.05


def test_rollouts_are_deterministic_and_tasks_batch_in_one_vmap():
    env = metajax.make("HalfCheetahVel-v0", horizon=20)[0]
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(), (8,))
    params = policy.init(jax.random.key(0))
    tasks = env.tasks(velocity=jnp.array([0.0, 1.0, 2.0]))
    run = jax.jit(jax.vmap(lambda task, key: rollout(env, policy, params, task, key, 2, 20)))
    keys = jax.random.split(jax.random.key(1), 3)
    first, again = run(tasks, keys), run(tasks, keys)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)
    # the batch reversed gives each task the same rollout: tasks do not interact
    flipped = run(jax.tree.map(lambda x: x[::-1], tasks), keys[::-1])
    np.testing.assert_allclose(flipped.reward[::-1], first.reward, rtol=1e-6, atol=1e-6)
    rewards = np.asarray(first.reward)
    assert np.isfinite(rewards).all() and rewards.shape == (3, 2, 20)
    # the same motion, three goal velocities: the rewards differ by the task's term alone
    assert not np.allclose(rewards[0], rewards[1])


def test_a_flipped_ant_rests_on_the_floor_as_in_mujoco(envs):
    """Gymnasium's contacts (every body geom collides with the floor): an ant dropped upside
    down lands on its torso, a sphere of radius 0.25, and stays there. brax's own model lets
    only the feet collide, so this ant sank through the floor (and a freshly initialised
    policy ended 16% of its episodes that way, against 0% in C MuJoCo)."""
    env = envs["AntVel-v0"]
    q = env.brax.sys.qpos0.at[2].set(0.6).at[3:7].set(jnp.array([0.0, 1.0, 0.0, 0.0]))
    physics = jax.jit(env.brax.pipeline_init)(q, jnp.zeros(env.qd_size))
    step = jax.jit(env.brax.pipeline_step)
    heights = []
    for _ in range(40):  # 2 s
        physics = step(physics, jnp.zeros(env.action_dim))
        heights.append(float(physics.q[2]))
    assert 0.2 < min(heights[-10:]) and max(heights[-10:]) < 0.35, heights


@pytest.mark.slow
def test_maml_learns_halfcheetah_dir_in_20_iterations_under_a_timeout():
    """``examples/locomotion.py`` (MAML-TRPO, 20 tasks x 10 episodes, ``task_chunk``) in a
    subprocess for 20 iterations: post-adaptation must pull well away from pre-adaptation (in
    training and on held-out tasks), and a hang (MJX parked every XLA thread at large
    per-call batches on this CPU) fails the test instead of stalling the suite."""
    script = EXAMPLES / "locomotion.py"
    done = subprocess.run([sys.executable, str(script), "--iterations", "20"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    pre, post = np.mean(result["before"][-5:]), np.mean(result["after"][-5:])
    assert post > pre + 10.0, (pre, post)  # 100 iterations: about 0 before, 150 after 1 step
    before, after = result["meta_test"]  # 10 held-out tasks
    assert after > before + 5.0, result["meta_test"]


@pytest.mark.slow  # a minute or two each, compiling the learner around MJX's physics
@pytest.mark.parametrize("algo", ["promp", "rl2"])
def test_the_locomotion_example_runs_promp_and_rl2_at_tiny_sizes(algo):
    """The example's other learners (MAML runs above) on 10-step episodes: one iteration each,
    then a meta-test on held-out tasks."""
    result = load_example("locomotion").main(iterations=1, algo=algo, tiny=True)
    assert len(result["before"]) == len(result["after"]) == 1
    assert np.isfinite(result["before"] + result["after"] + result["meta_test"]).all()


def test_without_brax_a_locomotion_env_is_a_one_line_error():
    code = ("import sys; sys.modules['brax'] = None\n"  # as if the extra were not installed
            "from metajax.cli import main\n"
            "sys.exit(main(['train', '--env', 'AntGoal-v0', 'num_iterations=1']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "metajax: error: env AntGoal-v0: the locomotion task distributions need brax: "
        "pip install 'metajax[brax]'")


def serial_limit(flops_per_matrix):
    """The largest batch jaxlib's LAPACK kernels factorise on the calling thread:
    ``GetLapackBatchChunkSize`` keeps a batch whole while ``batch * cost < 200000``."""
    return max(b for b in range(1, 10_000) if b * flops_per_matrix < 200_000)


def test_env_batches_that_can_deadlock_xla_cpu_are_refused_before_running(envs, monkeypatch):
    """On a CPU with jaxlib >= 0.10, MJX's batched Cholesky factorisations (``nv^3 / 3`` FLOPs
    each) beyond the serial limit run on XLA's thread pool and can deadlock (seen at 1024
    HalfCheetahs per call): learners refuse such batches (MAML's meta-batch and meta-test
    while tracing, and every builder: MAML with seeds, RL^2, Reptile), with the setting to
    change; chunks within the limit pass."""
    from metajax import xla_cpu
    from metajax.config import ConfigError, load_config
    from metajax.learners import LEARNERS
    from metajax.meta_learner import MetaTestPlan
    from metajax.networks import make_policy

    monkeypatch.setattr(xla_cpu.jax, "default_backend", lambda: "cpu")
    monkeypatch.setattr(xla_cpu.jaxlib, "__version__", "0.10.2")
    cheetah, ant = envs["HalfCheetahVel-v0"], envs["AntVel-v0"]
    assert (cheetah.qd_size, ant.qd_size) == (9, 14)
    assert cheetah.max_envs_per_call() == serial_limit(9 ** 3 // 3) == 823
    assert ant.max_envs_per_call() == serial_limit(14 ** 3 // 3) == 218

    policy = make_policy("gaussian", ant.obs_shape, ant.action_space(), (8,), "tanh")
    unchunked = metajax.maml(ant, policy, num_tasks=40, num_episodes=20)
    refused = r"meta-batch \(40 tasks x 20 episodes\) steps 800 AntVel-v0 envs in one call"
    with pytest.raises(ValueError, match=refused + r".* at most 218 .*task_chunk"):
        unchunked.check_env_batch(40, 20, "the meta-batch")
    state = unchunked.init(jax.random.key(0))
    with pytest.raises(ValueError, match=refused):  # while tracing, before any physics
        jax.eval_shape(unchunked.sample_meta_batch, state.meta_params, jax.random.key(1))
    tasks, plan = ant.sample_tasks(jax.random.key(2), 40), MetaTestPlan.constant(1, 0.1, 20)
    with pytest.raises(ValueError, match=r"meta-test \(40 tasks x 20 episodes\) steps 800"):
        jax.eval_shape(lambda: unchunked.meta_test(state.meta_params, tasks, jax.random.key(3),
                                                   plan))
    chunked = metajax.maml(ant, policy, num_tasks=40, num_episodes=20, task_chunk=10)
    chunked.check_env_batch(40, 20, "the meta-batch")  # 200 envs per call
    with pytest.raises(ValueError, match="450 AntVel-v0 envs"):  # 10 does not divide 45
        chunked.check_env_batch(45, 10, "the meta-test")

    config = Path(__file__).resolve().parent.parent / "benchmarks" / "configs"
    with pytest.raises(ConfigError, match=r"^maml \(50 tasks x 20 episodes\) steps 1000 "
                                          r".*set maml.task_chunk to a divisor"):
        LEARNERS["maml"].build(load_config(config / "halfcheetah_vel.yaml",
                                           ["maml.num_tasks=50", "maml.task_chunk=0"]))
    with pytest.raises(ConfigError, match=r"^maml \(40 tasks x 20 episodes\) steps 1000 "):
        LEARNERS["maml"].build(load_config(config / "halfcheetah_vel.yaml", ["seeds=5"]))
    with pytest.raises(ConfigError, match=r"rl2 on HalfCheetahDir-v0: num_envs \(840 trials\)"):
        LEARNERS["rl2"].build(load_config(config / "halfcheetah_dir_rl2.yaml",
                                          ["rl2.num_envs=840"]))
    with pytest.raises(ConfigError, match=r"^ppo on AntVel-v0: meta_init \(8 tasks x 64 envs\) "
                                          r"steps 512 .*lower meta_init.tasks_per_iteration"):
        LEARNERS["ppo"].build(load_config(None, ["algo=ppo", "env=AntVel-v0",
                                                 "ppo.num_envs=64"]))

    monkeypatch.setenv("METAJAX_ALLOW_LARGE_ENV_BATCHES", "1")  # the user takes the risk
    unchunked.check_env_batch(40, 20, "the meta-batch")
    monkeypatch.delenv("METAJAX_ALLOW_LARGE_ENV_BATCHES")
    monkeypatch.setattr(xla_cpu.jaxlib, "__version__", "0.9.2")  # batches stay on one thread
    assert cheetah.max_envs_per_call() is None
    unchunked.check_env_batch(40, 20, "the meta-batch")
