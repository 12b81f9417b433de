"""Sinusoid regression, the supervised few-shot task family of the MAML paper (Finn et al.
2017, Sec. 5.1): ``y = A sin(x - phase)`` with amplitude ``A ~ U[0.1, 5]``, phase
``~ U[0, pi]`` and inputs ``x ~ U[-5, 5]``; a task gives ``shots`` labelled points to adapt on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class SinusoidTask:
    amplitude: jax.Array
    phase: jax.Array


class Sinusoid:
    """The task distribution (``sample_tasks``) and the data of a task (``sample_points``)."""

    def __init__(self, shots: int = 10, amplitude=(0.1, 5.0), phase=(0.0, jnp.pi),
                 x_range=(-5.0, 5.0)):
        if not isinstance(shots, int) or shots < 1:
            raise ValueError(f"shots must be a positive integer, got {shots!r}")
        self.shots = shots
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range
        self.obs_shape = (1,)

    @property
    def name(self) -> str:
        return f"Sinusoid-{self.shots}shot"

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> SinusoidTask:
        a_key, p_key = jax.random.split(key)
        return SinusoidTask(
            amplitude=jax.random.uniform(a_key, (num_tasks,), minval=self.amplitude[0],
                                         maxval=self.amplitude[1]),
            phase=jax.random.uniform(p_key, (num_tasks,), minval=self.phase[0],
                                     maxval=self.phase[1]),
        )

    def targets(self, task: SinusoidTask, x: jax.Array) -> jax.Array:
        return task.amplitude * jnp.sin(x - task.phase)

    def sample_points(self, key: jax.Array, task: SinusoidTask, num_points: int
                      ) -> tuple[jax.Array, jax.Array]:
        """``num_points`` inputs ``[n, 1]`` drawn uniformly and their targets ``[n, 1]``."""
        x = jax.random.uniform(key, (num_points, 1), minval=self.x_range[0],
                               maxval=self.x_range[1])
        return x, self.targets(task, x)
