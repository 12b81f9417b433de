"""CartPoleDynamics-v0: gymnax ``CartPole-v1`` whose physics are the task.

Every task is a ``CartPole-v1`` (gymnax, after OpenAI gym's ``cartpole.py``: reward 1 per
step, termination at |x| > 2.4 or |theta| > 12 degrees, 500 steps) with its pole half-length,
pole mass, cart mass and gravity drawn uniformly from configurable ranges; the derived
``total_mass`` and ``polemass_length`` are kept consistent. The defaults bracket gym's
values (0.5, 0.1, 1.0, 9.8).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments.classic_control.cartpole import CartPole, EnvParams

from metajax.envs.base import TaskEnvironment

Range = tuple[float, float]


class CartPoleDynamics(CartPole, TaskEnvironment):
    """CartPole-v1 over a distribution of physical parameters; see the module docstring."""

    def __init__(self, length: Range = (0.25, 1.0), masspole: Range = (0.05, 0.2),
                 masscart: Range = (0.5, 2.0), gravity: Range = (7.0, 12.0)):
        super().__init__()
        self.ranges = {"length": length, "masspole": masspole, "masscart": masscart,
                       "gravity": gravity}
        for name, bounds in self.ranges.items():
            if (not isinstance(bounds, (tuple, list)) or len(bounds) != 2
                    or not 0 < float(bounds[0]) <= float(bounds[1])):
                raise ValueError(f"{name} must be a range (low, high) with 0 < low <= high, "
                                 f"got {bounds!r}")

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> EnvParams:
        keys = jax.random.split(key, len(self.ranges))
        draws = {name: jax.random.uniform(k, (num_tasks,), minval=low, maxval=high)
                 for k, (name, (low, high)) in zip(keys, self.ranges.items())}
        default = self.default_params
        batched = jax.tree.map(lambda x: jnp.full((num_tasks,), x), default)
        return batched.replace(
            **draws, total_mass=draws["masscart"] + draws["masspole"],
            polemass_length=draws["masspole"] * draws["length"])

    @property
    def name(self) -> str:
        return "CartPoleDynamics-v0"
