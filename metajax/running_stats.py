"""Running mean and variance of a stream of batches (Chan et al.'s parallel update), for
standardising value targets whose scale drifts as the policy improves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningStats:
    """Mean, variance and count of every value seen so far (a checkpointable pytree)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls) -> RunningStats:
        """No data yet: mean 0, variance 1, so normalising is the identity."""
        return cls(mean=jnp.zeros(()), var=jnp.ones(()), count=jnp.zeros(()))

    def update(self, x: jax.Array) -> RunningStats:
        """The statistics of everything seen so far and of every element of ``x``."""
        n = jnp.asarray(x.size, self.count.dtype)
        batch_mean, batch_var = jnp.mean(x), jnp.var(x)
        total = self.count + n
        delta = batch_mean - self.mean
        mean = self.mean + delta * n / total
        var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        return RunningStats(mean=mean, var=var, count=total)

    @property
    def std(self) -> jax.Array:
        return jnp.sqrt(self.var + 1e-8)

    def normalize(self, x: jax.Array) -> jax.Array:
        return (x - self.mean) / self.std

    def denormalize(self, x: jax.Array) -> jax.Array:
        return x * self.std + self.mean
