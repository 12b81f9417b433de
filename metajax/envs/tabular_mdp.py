"""TabularMDP: random finite MDPs whose transition and reward tables are the task.

Spec (Duan et al. 2016, RL^2, Sec. 3.2; pytorch-maml-rl ``TabularMDP-v0``): 10 states,
5 actions; ``P(.|s, a) ~ Dirichlet(1)``; reward means ``~ N(1, 1)``; reward ``r ~ N(mean, 1)``;
episodes start in state 0 and last 10 steps; the observation is the one-hot state.
Finite-horizon value iteration (:func:`value_iteration`) gives each task's optimal return.
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
    state: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    transitions: jax.Array = None  # [S, A, S]: P(next | s, a); always given
    reward_means: jax.Array = None  # [S, A]
    max_steps_in_episode: int = struct.field(pytree_node=False, default=10)


def value_iteration(transitions: jax.Array, reward_means: jax.Array, horizon: int
                    ) -> tuple[jax.Array, jax.Array]:
    """Finite-horizon optimal values: returns ``V [horizon + 1, S]`` (``V[horizon] = 0``) and
    the greedy policy ``[horizon, S]``; the optimal return from state ``s`` is ``V[0, s]``."""

    def backup(v_next, _):
        q = reward_means + transitions @ v_next
        return jnp.max(q, axis=-1), (jnp.max(q, axis=-1), jnp.argmax(q, axis=-1))

    zero = jnp.zeros(reward_means.shape[0], reward_means.dtype)
    _, (values, policy) = jax.lax.scan(backup, zero, None, length=horizon, reverse=True)
    return jnp.concatenate([values, zero[None]]), policy


class TabularMDP(TaskEnvironment):
    """Random tabular MDP; see the module docstring for the spec."""

    def __init__(self, num_states: int = 10, num_actions: int = 5, horizon: int = 10):
        super().__init__()
        for name, value in (("num_states", num_states), ("num_actions", num_actions),
                            ("horizon", horizon)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.num_states, self._num_actions, self.horizon = num_states, num_actions, horizon
        self.obs_shape = (num_states,)

    @property
    def default_params(self) -> EnvParams:
        s, a = self.num_states, self._num_actions
        return EnvParams(transitions=jnp.full((s, a, s), 1.0 / s), reward_means=jnp.ones((s, a)),
                         max_steps_in_episode=self.horizon)

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> EnvParams:
        s, a = self.num_states, self._num_actions
        p_key, r_key = jax.random.split(key)
        # Dirichlet(1) as normalised Exp(1) draws: the same distribution as
        # ``jax.random.dirichlet`` without its rejection-sampling loops, which cost ~50 ms per
        # vmapped step when a Trials wrapper auto-resets (draws a task) at every step
        draws = jax.random.exponential(p_key, (num_tasks, s, a, s))
        transitions = draws / jnp.sum(draws, axis=-1, keepdims=True)
        reward_means = 1.0 + jax.random.normal(r_key, (num_tasks, s, a))
        return EnvParams(transitions=transitions, reward_means=reward_means,
                         max_steps_in_episode=self.horizon)

    def optimal_return(self, params: EnvParams) -> jax.Array:
        """Expected return of the optimal (non-stationary) policy from state 0, per task."""
        if params.reward_means.ndim == 3:
            return jax.vmap(self.optimal_return)(params)
        return value_iteration(params.transitions, params.reward_means, self.horizon)[0][0, 0]

    def step_env(self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
                 ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        r_key, s_key = jax.random.split(key)
        reward = params.reward_means[state.state, action] + jax.random.normal(r_key)
        next_state = jax.random.categorical(
            s_key, jnp.log(params.transitions[state.state, action]))
        state = EnvState(state=next_state, time=state.time + 1)
        return self._one_hot(next_state), state, reward, jnp.array(False), {}

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        return self._one_hot(jnp.array(0)), EnvState(state=jnp.array(0), time=0)

    def _one_hot(self, s: jax.Array) -> jax.Array:
        return jax.nn.one_hot(s, self.num_states)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return jnp.array(False)

    @property
    def name(self) -> str:
        return "TabularMDP-v0"

    @property
    def num_actions(self) -> int:
        return self._num_actions

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self._num_actions)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.num_states,), jnp.float32)
