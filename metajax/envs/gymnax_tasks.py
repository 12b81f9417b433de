"""Task distributions from gymnax's own meta environments, with the task moved into params.

gymnax's ``MetaMaze-misc``, ``BernoulliBandit-misc`` and ``GaussianBandit-misc`` draw their
task (the goal, the arm probabilities, the arm mean) inside ``reset_env`` and keep it in the
env *state*, so gymnax's auto-reset draws a new task at every episode end. :class:`GymnaxTasks`
lifts those state fields into ``EnvParams``: ``sample_tasks`` draws them with the env's own
reset, and ``reset_env`` writes the given task back into the fresh state. Episodes then
auto-reset the state but never the task, as meta-RL trials and MAML's pre/post-update
rollouts need.
"""

from __future__ import annotations

from typing import Any

import gymnax
import jax
from flax import struct
from gymnax.environments import environment

from metajax.envs.base import TaskEnvironment

# The state fields that define the task in each gymnax meta env (gymnax 1.0.1 sources).
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "MetaMaze-misc": ("goal",),
    "BernoulliBandit-misc": ("reward_probs", "exp_reward_best"),
    "GaussianBandit-misc": ("mu",),
}


@struct.dataclass
class TaskParams(environment.EnvParams):
    task: dict[str, jax.Array] = None  # the task fields of the wrapped env's state
    env_params: Any = struct.field(pytree_node=False, default=None)  # wrapped env's params
    max_steps_in_episode: int = struct.field(pytree_node=False, default=1)


class GymnaxTasks(TaskEnvironment):
    """A gymnax environment whose task-defining state fields live in params instead."""

    def __init__(self, env: environment.Environment, task_fields: tuple[str, ...],
                 env_params: Any = None):
        super().__init__()
        self.env = env
        self.task_fields = tuple(task_fields)
        self.env_params = env.default_params if env_params is None else env_params
        _, state = env.reset_env(jax.random.key(0), self.env_params)
        missing = [f for f in self.task_fields if not hasattr(state, f)]
        if missing or not self.task_fields:
            raise ValueError(f"task_fields must name fields of {env.name}'s state "
                             f"{tuple(vars(state))}; got {self.task_fields}")

    def _params(self, task: dict[str, jax.Array]) -> TaskParams:
        return TaskParams(task=task, env_params=self.env_params,
                          max_steps_in_episode=int(self.env_params.max_steps_in_episode))

    @property
    def default_params(self) -> TaskParams:
        return jax.tree.map(lambda x: x[0], self.sample_tasks(jax.random.key(0), 1))

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> TaskParams:
        def one(k):
            _, state = self.env.reset_env(k, self.env_params)
            return {f: jax.numpy.asarray(getattr(state, f)) for f in self.task_fields}

        return self._params(jax.vmap(one)(jax.random.split(key, num_tasks)))

    def reset_env(self, key: jax.Array, params: TaskParams):
        _, state = self.env.reset_env(key, params.env_params)
        state = state.replace(**params.task)
        return self.env.get_obs(state, params.env_params), state

    def step_env(self, key: jax.Array, state, action, params: TaskParams):
        return self.env.step_env(key, state, action, params.env_params)

    def is_truncated(self, state, params: TaskParams) -> jax.Array:
        return self.env.is_truncated(state, params.env_params)

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def action_space(self, params: TaskParams | None = None):
        return self.env.action_space(self.env_params)

    def observation_space(self, params: TaskParams | None = None):
        return self.env.observation_space(self.env_params)

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return tuple(self.observation_space().shape)


def gymnax_tasks(env_id: str, **kwargs: Any) -> GymnaxTasks:
    """``gymnax.make(env_id)`` with its task lifted into params (ids in :data:`TASK_FIELDS`)."""
    env, env_params = gymnax.make(env_id, **kwargs)
    return GymnaxTasks(env, TASK_FIELDS[env_id], env_params)
