"""Validation helpers that raise one-line ``ValueError``s naming the field and what is allowed."""

from __future__ import annotations

import os
from typing import Any, Iterable

# set to 1 to step env batches beyond an env's ``max_envs_per_call()`` anyway (a compile-only
# memory plan, or a CPU whose jaxlib is known to be fixed)
ALLOW_LARGE_ENV_BATCHES = "METAJAX_ALLOW_LARGE_ENV_BATCHES"


def positive(name: str, value: Any, integer: bool = False) -> None:
    kind = "a positive integer" if integer else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    if integer and not isinstance(value, int):
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def at_most(name: str, value: int, limit: int, why: str) -> None:
    """An upper bound on an iteration count, with the reason for it."""
    if value > limit:
        raise ValueError(f"{name} must be at most {limit} ({why}), got {value}")


def non_negative_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def in_interval(name: str, value: Any, low: float, high: float) -> None:
    """``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def env_batch(what: str, envs: int, env: Any, remedy: str) -> None:
    """``envs`` envs stepped in one call must not exceed ``env.max_envs_per_call()`` (see
    :meth:`metajax.envs.base.TaskEnvironment.max_envs_per_call`); ``remedy`` says how to
    split them. :data:`ALLOW_LARGE_ENV_BATCHES` in the environment lifts the limit."""
    limit = env.max_envs_per_call() if hasattr(env, "max_envs_per_call") else None
    if limit is not None and envs > limit and os.environ.get(ALLOW_LARGE_ENV_BATCHES) != "1":
        raise ValueError(
            f"{what} steps {envs} {env.name} envs in one call, and on this CPU at most {limit} "
            f"are safe (above that, this jaxlib runs the physics' batched matrix "
            f"factorisations on XLA's thread pool, where they can deadlock); {remedy} (or set "
            f"{ALLOW_LARGE_ENV_BATCHES}=1 to risk it)")
