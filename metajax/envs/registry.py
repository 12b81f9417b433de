"""``metajax.make``: build a registered task distribution by id, gymnax style."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from gymnax.environments import environment

from metajax.envs.bandit import BernoulliBandit
from metajax.envs.base import TaskEnvironment
from metajax.envs.cartpole import CartPoleDynamics
from metajax.envs.gymnax_tasks import TASK_FIELDS, gymnax_tasks
from metajax.envs.locomotion import LOCOMOTION
from metajax.envs.navigation import Navigation2D
from metajax.envs.tabular_mdp import TabularMDP

_REGISTRY: dict[str, Callable[..., TaskEnvironment]] = {
    "Navigation2D-v0": Navigation2D,
    "BernoulliBandit-5": partial(BernoulliBandit, 5),
    "BernoulliBandit-10": partial(BernoulliBandit, 10),
    "BernoulliBandit-50": partial(BernoulliBandit, 50),
    "TabularMDP-v0": TabularMDP,
    "CartPoleDynamics-v0": CartPoleDynamics,
    # gymnax's meta envs with their task lifted into params (fixed across episode resets)
    **{env_id: partial(gymnax_tasks, env_id) for env_id in TASK_FIELDS},
    # the MAML paper's MuJoCo locomotion on brax (needs the metajax[brax] extra)
    **LOCOMOTION,
}


def register(env_id: str, factory: Callable[..., TaskEnvironment]) -> None:
    """Registers ``factory(**kwargs) -> TaskEnvironment`` under ``env_id``."""
    if env_id in _REGISTRY:
        raise ValueError(f"environment id {env_id!r} is already registered")
    _REGISTRY[env_id] = factory


def registered_envs() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def constructor(env_id: str) -> Callable[..., TaskEnvironment]:
    """The factory registered under ``env_id`` (to inspect its keyword arguments)."""
    if env_id not in _REGISTRY:
        raise ValueError(
            f"unknown environment id {env_id!r}; registered: {', '.join(registered_envs())}"
        )
    return _REGISTRY[env_id]


def make(env_id: str, **kwargs: Any) -> tuple[TaskEnvironment, environment.EnvParams]:
    """Returns ``(env, default_params)`` like ``gymnax.make``; draw tasks with
    ``env.sample_tasks(key, num_tasks)``."""
    if env_id not in _REGISTRY:
        raise ValueError(
            f"unknown environment id {env_id!r}; registered: {', '.join(registered_envs())}"
        )
    env = _REGISTRY[env_id](**kwargs)
    return env, env.default_params
