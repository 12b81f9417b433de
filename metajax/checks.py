"""Validation helpers that raise one-line ``ValueError``s naming the field and what is allowed."""

from __future__ import annotations

from typing import Any, Iterable


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
