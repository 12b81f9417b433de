"""``metajax.make``: build a registered task distribution by id, gymnax style."""

from __future__ import annotations

from typing import Any, Callable

from gymnax.environments import environment

from metajax.envs.base import TaskEnvironment
from metajax.envs.navigation import Navigation2D

_REGISTRY: dict[str, Callable[..., TaskEnvironment]] = {
    "Navigation2D-v0": Navigation2D,
}


def register(env_id: str, factory: Callable[..., TaskEnvironment]) -> None:
    """Registers ``factory(**kwargs) -> TaskEnvironment`` under ``env_id``."""
    if env_id in _REGISTRY:
        raise ValueError(f"environment id {env_id!r} is already registered")
    _REGISTRY[env_id] = factory


def registered_envs() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def make(env_id: str, **kwargs: Any) -> tuple[TaskEnvironment, environment.EnvParams]:
    """Returns ``(env, default_params)`` like ``gymnax.make``; draw tasks with
    ``env.sample_tasks(key, num_tasks)``."""
    if env_id not in _REGISTRY:
        raise ValueError(
            f"unknown environment id {env_id!r}; registered: {', '.join(registered_envs())}"
        )
    env = _REGISTRY[env_id](**kwargs)
    return env, env.default_params
