"""Shared tiny configurations so the suite compiles few programs and runs in minutes."""

import pytest

import metajax
from metajax.envs.navigation import Navigation2D


# the longest files first: `make test` runs two workers that each take whole files
# (--dist loadfile) in this order, so they should not end on two long files one after another
LONGEST_FIRST = ("test_examples.py", "test_learning.py", "test_locomotion.py",
                 "test_meta_learner.py", "test_multiprocess.py", "test_distributed.py",
                 "test_run_safety.py", "test_task_layout.py", "test_adaptation_jacobian.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


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
