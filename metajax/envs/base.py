"""The task-distribution protocol: a gymnax environment whose ``EnvParams`` carry the task."""

from __future__ import annotations

import abc

import jax
from gymnax.environments import environment


class TaskEnvironment(environment.Environment, abc.ABC):
    """A gymnax ``Environment`` (>=1.0.1, six-value ``step``) over a distribution of tasks.

    The task lives in ``EnvParams``, so a batch of tasks is a batch of params: roll out every
    task at once with ``jax.vmap(..., in_axes=(None, 0))`` over the params. Subclasses
    implement ``step_env``/``reset_env`` like any gymnax env, plus ``sample_tasks``.
    """

    @abc.abstractmethod
    def sample_tasks(self, key: jax.Array, num_tasks: int) -> environment.EnvParams:
        """Draws ``num_tasks`` tasks; every leaf of the returned params has a leading task axis."""

    def max_envs_per_call(self) -> int | None:
        """The most envs one jitted call may step at once on the default backend (``None``: no
        limit). Physics whose batched linear algebra can deadlock XLA:CPU above a batch size
        (the locomotion tasks on MJX) say so here; learners refuse larger batches up front."""
        return None

    @property
    def max_steps_in_episode(self) -> int:
        """The episode horizon (a static int, so it can size a ``lax.scan``)."""
        return int(self.default_params.max_steps_in_episode)
