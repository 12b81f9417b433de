"""BernoulliBandit-K: a K-armed Bernoulli bandit whose arm probabilities are the task.

Spec (pytorch-maml-rl ``Bandit-K{k}-v0``, ``maml_rl/envs/bandit.py``; Duan et al. 2016, RL^2):
the task is ``p ~ U[0, 1]^K``; pulling arm ``a`` pays ``r ~ Bernoulli(p_a)``; the observation
is a constant zero vector of size 1; an episode is ``horizon`` pulls (1 by default, as in
pytorch-maml-rl, where each episode is a single pull).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from metajax.envs.base import TaskEnvironment


@struct.dataclass
class EnvState(environment.EnvState):
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    probs: jax.Array = None  # [K]; always given (sample_tasks, default_params)
    max_steps_in_episode: int = struct.field(pytree_node=False, default=1)


class BernoulliBandit(TaskEnvironment):
    """K-armed Bernoulli bandit; see the module docstring for the spec."""

    def __init__(self, num_arms: int = 5, horizon: int = 1):
        super().__init__()
        if not isinstance(num_arms, int) or num_arms < 2:
            raise ValueError(f"num_arms must be an integer >= 2, got {num_arms!r}")
        if not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        self.num_arms, self.horizon = num_arms, horizon
        self.obs_shape = (1,)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(probs=jnp.full(self.num_arms, 0.5), max_steps_in_episode=self.horizon)

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> EnvParams:
        probs = jax.random.uniform(key, (num_tasks, self.num_arms))
        return EnvParams(probs=probs, max_steps_in_episode=self.horizon)

    def optimal_return(self, params: EnvParams) -> jax.Array:
        """Expected return of always pulling the best arm, per task."""
        return self.horizon * jnp.max(params.probs, axis=-1)

    def step_env(self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
                 ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        reward = jax.random.bernoulli(key, params.probs[action]).astype(jnp.float32)
        state = EnvState(time=state.time + 1)
        return jnp.zeros(1), state, reward, jnp.array(False), {}

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        return jnp.zeros(1), EnvState(time=0)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return jnp.array(False)

    @property
    def name(self) -> str:
        return f"BernoulliBandit-{self.num_arms}"

    @property
    def num_actions(self) -> int:
        return self.num_arms

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_arms)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 0.0, (1,), jnp.float32)
