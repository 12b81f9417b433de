"""Navigation2D-v0: the 2D point-navigation task distribution of the MAML paper.

Spec (Finn et al. 2017, Sec. 5.3; pytorch-maml-rl ``2DNavigation-v0``, ``maml_rl/envs/
navigation.py``): the goal is drawn from U[-0.5, 0.5]^2; the agent starts at (0, 0) and observes
its position; the action is clipped to [-0.1, 0.1]^2 and added to the position; the reward is
the negative Euclidean distance to the goal after the move; the episode terminates when the
agent is within 0.01 of the goal in both coordinates, and is truncated after 100 steps.

The goal is the task; ``max_action``, ``goal_tolerance`` and ``action_scale`` are ``EnvParams``
too (gymnax style: the constructor's values are the defaults of ``default_params`` and of every
sampled task, and a user may vary them per task). ``action_scale`` multiplies the action before
the clip. The default 1.0 is pytorch-maml-rl's
environment; ``action_scale=0.1`` is the MAML paper's (rllab's ``normalize`` wrapper maps the
policy's [-1, 1] onto [-0.1, 0.1], so a unit-std policy moves 0.1 per step, not 1.0).
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
    position: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    goal: jax.Array = struct.field(default_factory=lambda: jnp.zeros(2))
    max_action: float = 0.1  # each action coordinate is clipped to [-max_action, max_action]
    goal_tolerance: float = 0.01  # the episode ends within this of the goal in both coordinates
    action_scale: float = 1.0  # multiplies the action before the clip (0.1: rllab's normalize)
    max_steps_in_episode: int = struct.field(pytree_node=False, default=100)


class Navigation2D(TaskEnvironment):
    """Point navigation to a goal that is the task (see the module docstring for the spec)."""

    _supports_transition_gradients = True

    def __init__(
        self,
        goal_low: float = -0.5,
        goal_high: float = 0.5,
        max_action: float = 0.1,
        goal_tolerance: float = 0.01,
        horizon: int = 100,
        action_scale: float = 1.0,
    ):
        super().__init__()
        if not goal_low < goal_high:
            raise ValueError(f"goal_low must be < goal_high, got {goal_low} and {goal_high}")
        for name, value in (("max_action", max_action), ("goal_tolerance", goal_tolerance),
                            ("horizon", horizon), ("action_scale", action_scale)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.goal_low, self.goal_high = goal_low, goal_high
        self.max_action = max_action
        self.action_scale = action_scale
        self.goal_tolerance = goal_tolerance
        self.horizon = int(horizon)
        self.obs_shape = (2,)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(goal=jnp.zeros(2), max_action=self.max_action,
                         goal_tolerance=self.goal_tolerance, action_scale=self.action_scale,
                         max_steps_in_episode=self.horizon)

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> EnvParams:
        """Goals from U[goal_low, goal_high]^2; the other params are the constructor's."""
        goals = jax.random.uniform(
            key, (num_tasks, 2), minval=self.goal_low, maxval=self.goal_high
        )
        return self.tasks_with_goals(goals)

    def tasks_with_goals(self, goals: jax.Array) -> EnvParams:
        """A batch of tasks with these ``[num_tasks, 2]`` goals and the constructor's other
        params (what a subclass's ``sample_tasks`` returns for goals it draws its own way)."""
        constant = lambda value: jnp.full(goals.shape[:1], value, jnp.float32)
        return EnvParams(goal=goals, max_action=constant(self.max_action),
                         goal_tolerance=constant(self.goal_tolerance),
                         action_scale=constant(self.action_scale),
                         max_steps_in_episode=self.horizon)

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        del key
        action = jnp.clip(params.action_scale * action, -params.max_action, params.max_action)
        position = state.position + action
        offset = position - params.goal
        reward = -jnp.sqrt(jnp.sum(offset**2))
        terminated = jnp.all(jnp.abs(offset) < params.goal_tolerance)
        state = EnvState(position=position, time=state.time + 1)
        obs, state = self._apply_transition_gradient_policy(position, state)
        return obs, state, reward, terminated, {}

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        del key
        position = jnp.zeros(2, dtype=params.goal.dtype)
        return position, EnvState(position=position, time=0)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        return jnp.all(jnp.abs(state.position - params.goal) < params.goal_tolerance)

    @property
    def name(self) -> str:
        return "Navigation2D-v0"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-self.max_action, self.max_action, (2,), jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (2,), jnp.float32)
