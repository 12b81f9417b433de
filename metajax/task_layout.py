"""How a function of one task runs over the task axis of a meta-batch: one ``vmap``,
rematerialised chunks one after another (memory and cache), or independent groups (CPU
speed). :func:`sum_tasks` sums a per-task function over chunks (products whose transposes sum
over tasks, such as TRPO's Fisher-vector products).

Chunks (``lax.map`` of ``jax.checkpoint``-ed vmaps) keep one chunk's intermediates at a time
under differentiation: memory is bounded by the chunk, at the price of recomputing its forward
pass; chunks of a few tasks keep those intermediates in the CPU's cache, which on XLA:CPU
more than repays the recomputation from about 100 tasks on. Groups are separate subgraphs of
one program: XLA:CPU runs them concurrently on its threads, and with one task per group the
per-task weight-gradient products are plain matrix products instead of batched ones (which
XLA:CPU runs on one thread after a transposing copy); the program, and its compile time,
grows with the number of groups.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp


def map_tasks(fn: Callable, *xs: Any, groups: int = 1, chunk: int = 0) -> Any:
    """``fn`` over the leading task axis of ``xs``: one ``vmap``; with ``chunk`` a ``lax.map``
    over rematerialised chunks of that many tasks; with ``groups`` that many independent
    vmaps over contiguous groups, joined."""
    n = jax.tree.leaves(xs)[0].shape[0]
    if not chunk or chunk >= n:
        return join(map_groups(fn, *xs, groups=groups))
    out = jax.lax.map(jax.checkpoint(lambda args: jax.vmap(fn)(*args)), _chunks(xs, chunk))
    return jax.tree.map(lambda y: y.reshape((n,) + y.shape[2:]), out)


def sum_tasks(fn: Callable, *xs: Any, chunk: int) -> Any:
    """``fn`` over every task of ``xs``, summed over the task axis: a ``lax.scan`` over chunks of
    ``chunk`` tasks, each vmapped and added to a running sum, so only one chunk's
    intermediates exist at a time (and all of them can stay in cache)."""
    chunks = _chunks(xs, chunk)
    chunk_sum = lambda args: jax.tree.map(lambda y: jnp.sum(y, 0), jax.vmap(fn)(*args))
    add_chunk = lambda total, args: (jax.tree.map(jnp.add, total, chunk_sum(args)), None)
    shape = jax.eval_shape(chunk_sum, jax.tree.map(lambda x: x[0], chunks))
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shape)
    return jax.lax.scan(add_chunk, zeros, chunks)[0]


def _chunks(xs: Any, chunk: int) -> Any:
    """``xs`` with the task axis split into ``[tasks // chunk, chunk]``."""
    n = jax.tree.leaves(xs)[0].shape[0]
    return jax.tree.map(lambda x: x.reshape((n // chunk, chunk) + x.shape[1:]), xs)


def map_groups(fn: Callable, *xs: Any, groups: int = 1) -> list:
    """``fn`` vmapped over each of ``groups`` contiguous groups of tasks: a list of per-group
    outputs, left unjoined because they may hold functions (linearisations), whose traced
    programs differ from group to group."""
    return [jax.vmap(fn)(*group) for group in split(xs, groups)]


def split(xs: Any, groups: int) -> list:
    """``xs`` cut along the task axis into ``groups`` contiguous groups of equal size."""
    size = jax.tree.leaves(xs)[0].shape[0] // groups
    return [jax.tree.map(lambda x: x[i * size:(i + 1) * size], xs) for i in range(groups)]


def join(outputs: list) -> Any:
    """Concatenates per-group outputs along the task axis."""
    if len(outputs) == 1:
        return outputs[0]
    return jax.tree.map(lambda *ys: jnp.concatenate(ys), *outputs)


class TaskLayout(NamedTuple):
    """A task-axis layout as a value (a performance option of the MAML family): ``groups``
    concurrent groups or ``chunk``-task rematerialised chunks (0: one vmap). Its functions
    use the chunks where both are set; MAML then runs its rollouts in the chunks and its
    learning in the groups (:attr:`~metajax.algorithms.maml.MAML.learning_layout`)."""

    groups: int = 1
    chunk: int = 0

    def map(self, fn: Callable, *xs: Any) -> Any:
        return map_tasks(fn, *xs, groups=self.groups, chunk=self.chunk)

    def sum(self, fn: Callable, *xs: Any) -> Any:
        return sum_tasks(fn, *xs, chunk=self.chunk)

    def map_groups(self, fn: Callable, *xs: Any) -> list:
        return map_groups(fn, *xs, groups=self.groups)

