"""The task-distribution protocol: a gymnax environment whose ``EnvParams`` carry the task;
and the box-bounds helper that wrappers and policies share."""

from __future__ import annotations

import abc

import jax
import numpy as np
from gymnax.environments import environment, spaces


class TaskEnvironment(environment.Environment, abc.ABC):
    """A gymnax ``Environment`` (>=1.0.1, six-value ``step``) over a distribution of tasks.

    The task lives in ``EnvParams``, so a batch of tasks is a batch of params: roll out every
    task at once with ``jax.vmap(..., in_axes=(None, 0))`` over the params. Subclasses
    implement ``step_env``/``reset_env`` like any gymnax env, plus ``sample_tasks``.
    """

    @abc.abstractmethod
    def sample_tasks(self, key: jax.Array, num_tasks: int) -> environment.EnvParams:
        """Draws ``num_tasks`` tasks; every leaf of the returned params has a leading task axis."""

    @property
    def max_steps_in_episode(self) -> int:
        """The episode horizon (a static int, so it can size a ``lax.scan``)."""
        return int(self.default_params.max_steps_in_episode)



def box_center_and_half_width(space) -> tuple[np.ndarray, np.ndarray] | None:
    """A 1-D ``Box`` space's midpoint and half-width per dimension, or None for any other
    space or a Box with an infinite bound: the affine map between the box and [-1, 1]."""
    if not (isinstance(space, spaces.Box) and len(space.shape) == 1):
        return None
    low = np.broadcast_to(np.asarray(space.low, np.float32), space.shape)
    high = np.broadcast_to(np.asarray(space.high, np.float32), space.shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
        return None
    return (high + low) / 2, (high - low) / 2
