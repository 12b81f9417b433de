"""A functional, fixed-capacity circular replay buffer (a pytree; jittable and vmappable).

``init`` sizes the storage from one example transition (any pytree of arrays); ``add`` writes
one transition and ``add_batch`` a leading-axis batch, overwriting the oldest entries once the
buffer is full; ``sample`` draws uniformly among the filled slots only. Everything is a pure
function of the buffer state, so ``jax.vmap`` gives independent buffers per task or seed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class ReplayBuffer:
    storage: Any  # the transition pytree with a leading ``capacity`` axis
    position: jax.Array  # the slot the next transition is written to
    size: jax.Array  # filled slots, at most ``capacity``

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.storage)[0].shape[0]


def init(example: Any, capacity: int) -> ReplayBuffer:
    """An empty buffer for transitions shaped like ``example`` (unbatched)."""
    if not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
    storage = jax.tree.map(
        lambda x: jnp.zeros((capacity,) + jnp.shape(x), jnp.asarray(x).dtype), example)
    return ReplayBuffer(storage, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def add_batch(buffer: ReplayBuffer, transitions: Any) -> ReplayBuffer:
    """Writes a batch (leading axis ``n``, at most ``capacity``) at the circular position."""
    n = jax.tree.leaves(transitions)[0].shape[0]
    capacity = buffer.capacity
    if n > capacity:
        raise ValueError(f"a batch of {n} transitions does not fit a buffer of {capacity}")
    slots = (buffer.position + jnp.arange(n)) % capacity
    storage = jax.tree.map(lambda s, x: s.at[slots].set(x), buffer.storage, transitions)
    return ReplayBuffer(storage, (buffer.position + n) % capacity,
                        jnp.minimum(buffer.size + n, capacity))


def add(buffer: ReplayBuffer, transition: Any) -> ReplayBuffer:
    """Writes one (unbatched) transition."""
    return add_batch(buffer, jax.tree.map(lambda x: jnp.asarray(x)[None], transition))


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Any:
    """``batch_size`` transitions drawn uniformly, with replacement, from the filled slots
    (call only once something was added; an empty buffer returns slot 0's zeros)."""
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda s: s[index], buffer.storage)
