"""Shared tiny configurations so the suite compiles few programs and runs in minutes."""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest

import metajax
from metajax.envs.navigation import Navigation2D


# the longest files first (seconds per file measured with --durations, each over 200 for the
# first nine, 60 to 100 for the rest): `make test` runs two workers that each take whole files
# (--dist loadfile, in this order: --no-loadscope-reorder), so the run ends on short files
LONGEST_FIRST = ("test_locomotion.py", "test_examples.py", "test_adaptation_jacobian.py",
                 "test_learning.py", "test_meta_learner.py", "test_run_safety.py",
                 "test_task_layout.py", "test_distributed.py", "test_maml_gradients.py",
                 "test_config_cli.py", "test_family.py", "test_sweep.py", "test_rl2.py",
                 "test_dqn.py", "test_long_run.py", "test_classic.py", "test_ppo.py",
                 "test_seeds.py", "test_torch_baselines.py", "test_outer_rules.py",
                 "test_regression.py", "test_agent_runs.py", "test_multiprocess.py",
                 "test_trpo.py")


CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
_OWN_CACHE = pytest.StashKey[str]()  # the directory this process made, removed at the end


def pytest_configure(config):
    """One JAX compilation cache for the whole run, fresh each time: many tests (and the CLI
    and example subprocesses) compile the same tiny programs, and the xdist workers and
    subprocesses inherit the directory through the environment. A directory the user set is
    used as it is."""
    if CACHE_VARIABLE not in os.environ:
        os.environ[CACHE_VARIABLE] = tempfile.mkdtemp(prefix="metajax-test-jax-cache-")
        config.stash[_OWN_CACHE] = os.environ[CACHE_VARIABLE]
    jax.config.update("jax_compilation_cache_dir", os.environ[CACHE_VARIABLE])


def pytest_unconfigure(config):
    if (own := config.stash.get(_OWN_CACHE, None)) is not None:
        shutil.rmtree(own, ignore_errors=True)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """``examples/<name>.py`` as a module, to call its ``main`` at tiny sizes."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_algo(env_kwargs=None, **overrides):
    """MAML on a 10-step Navigation2D with a small policy: compiles in seconds.
    ``env_kwargs={"goal_tolerance": 0.15}`` makes many episodes end early (ragged batches)."""
    env = Navigation2D(**{"horizon": 10, **(env_kwargs or {})})
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(), (8, 8), "tanh")
    config = dict(num_tasks=3, num_episodes=4, inner_lr=0.1, cg_iters=5)
    config.update(overrides)
    return metajax.maml(env, policy, **config)


@pytest.fixture(scope="session")
def algo():
    return tiny_algo()
