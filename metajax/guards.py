"""Run safety: skip non-finite updates inside the jitted step, and turn SIGINT / SIGTERM into
a clean stop at the next iteration boundary (the loop then writes a final checkpoint)."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

NONFINITE = "_nonfinite"  # metrics key: one flag per quantity, in ``quantity_names`` order


def quantity_names(metrics: dict[str, Any]) -> list[str]:
    """The quantities a guarded step checks: its metrics (sorted), then the new state."""
    return sorted(k for k in metrics if k != NONFINITE) + ["params/state"]


def guard_nonfinite(step: Callable) -> Callable:
    """``step(state, key, *args) -> (state, metrics)`` that keeps the old state when any metric or
    any floating-point leaf of the new state is not finite; ``metrics[NONFINITE]`` flags
    which quantities were (all false for an applied update), named by ``guarded.names``
    once traced."""

    def guarded(state, key, *args):
        new_state, metrics = step(state, key, *args)
        names = guarded.names = quantity_names(metrics)
        floats = [x for x in jax.tree.leaves(new_state)
                  if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
        state_ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in floats])) if floats \
            else jnp.array(True)
        flags = jnp.stack([~jnp.all(jnp.isfinite(metrics[k])) for k in names[:-1]]
                          + [~state_ok])
        new_state = jax.lax.cond(jnp.any(flags), lambda: state, lambda: new_state)
        return new_state, {**metrics, NONFINITE: flags}

    return guarded


def host_value(leaf) -> np.ndarray:
    """``leaf`` on the host. An array spread over several processes cannot be fetched whole:
    its first local shard stands for it (the full value when replicated)."""
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
        return np.asarray(leaf.addressable_data(0))
    return np.asarray(leaf)


def nonfinite_leaves(tree) -> list[str]:
    """The paths of ``tree``'s floating-point leaves that hold a NaN or an infinity
    (checked on the host: for states about to be saved or started from)."""
    bad = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        try:
            array = host_value(leaf)
        except TypeError:  # PRNG keys and other opaque leaves
            continue
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            bad.append(jax.tree_util.keystr(path))
    return bad


class Interrupted(Exception):
    """Raised by the loop after a signal, once the final checkpoint is written."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM append their number to the yielded list instead
    of killing the process; the previous handlers come back afterwards."""
    received: list[int] = []
    handler = lambda signum, frame: received.append(signum)  # noqa: E731
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
