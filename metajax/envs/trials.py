"""RL^2 trials: ``num_episodes`` episodes on one fixed task, seen as one long episode.

Duan et al. 2016 (RL^2, Sec. 2.2): a *trial* draws one task and runs ``n`` episodes on it;
the state resets between the episodes but the task does not; the agent observes
``(obs, previous action, previous reward, episode-done flag)`` so a recurrent policy can carry
what it learned about the task from episode to episode. :class:`Trials` wraps any
:class:`~metajax.envs.base.TaskEnvironment` (a task is drawn per trial) or any plain gymnax
environment (its params are the one task). It is itself a gymnax environment:

- ``terminated`` is True on the last step of the trial (after the ``n``-th episode ends):
  nothing comes after a trial, so returns and GAE do not bootstrap across it. Inside a trial
  an episode's end, terminated or truncated, is just a transition; both are reported in
  ``info["episode_terminated"]`` / ``info["episode_truncated"]``.
- gymnax's auto-reset at a trial's end starts a new trial, with a new task when the params
  say ``task=None`` (the default for a task distribution) or the same task when fixed with
  :meth:`Trials.fixed_task` (evaluation on held-out tasks).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from metajax.envs.base import TaskEnvironment


@struct.dataclass
class TrialState(environment.EnvState):
    env_state: Any
    task: Any  # the wrapped env's params: fixed for the whole trial
    episode: jax.Array  # episodes completed so far in this trial
    time: jax.Array  # steps so far in this trial


@struct.dataclass
class TrialParams(environment.EnvParams):
    task: Any = None  # None: draw a task per trial; else the wrapped env's params, kept fixed
    max_steps_in_episode: int = struct.field(pytree_node=False, default=1)


class Trials(environment.Environment):
    """Trials of ``num_episodes`` episodes on one task; see the module docstring."""

    def __init__(self, env: environment.Environment, num_episodes: int):
        super().__init__()
        if not isinstance(num_episodes, int) or num_episodes < 1:
            raise ValueError(f"num_episodes must be a positive integer, got {num_episodes!r}")
        self.env, self.num_episodes = env, num_episodes
        self._discrete = isinstance(env.action_space(env.default_params), spaces.Discrete)
        base_obs = env.observation_space(env.default_params).shape
        if len(base_obs) != 1:
            raise ValueError(f"Trials needs flat (1-D) observations, {env.name} has {base_obs}")
        self.base_obs_dim = int(base_obs[0])
        self.action_dim = (int(env.num_actions) if self._discrete
                           else int(env.action_space(env.default_params).shape[0]))
        self.obs_shape = (self.base_obs_dim + self.action_dim + 2,)

    def max_envs_per_call(self) -> int | None:
        """The wrapped task distribution's limit (see ``TaskEnvironment.max_envs_per_call``)."""
        return self.env.max_envs_per_call() if self.samples_tasks else None

    @property
    def samples_tasks(self) -> bool:
        return isinstance(self.env, TaskEnvironment)

    @property
    def episode_horizon(self) -> int:
        return int(self.env.default_params.max_steps_in_episode)

    @property
    def trial_horizon(self) -> int:
        """The longest a trial can last: ``num_episodes`` full-length episodes."""
        return self.num_episodes * self.episode_horizon

    @property
    def default_params(self) -> TrialParams:
        task = None if self.samples_tasks else self.env.default_params
        return TrialParams(task=task, max_steps_in_episode=self.trial_horizon)

    def fixed_task(self, task) -> TrialParams:
        """Params that run every trial on ``task`` (batched tasks give batched params)."""
        return TrialParams(task=task, max_steps_in_episode=self.trial_horizon)

    def _draw_task(self, key: jax.Array, params: TrialParams):
        if params.task is not None:
            return params.task
        return jax.tree.map(lambda x: x[0], self.env.sample_tasks(key, 1))

    def _encode_action(self, action) -> jax.Array:
        if self._discrete:
            return jax.nn.one_hot(action, self.action_dim)
        return jnp.reshape(action, (self.action_dim,)).astype(jnp.float32)

    def _observe(self, obs, encoded_action, reward, episode_done) -> jax.Array:
        return jnp.concatenate([jnp.reshape(obs, (-1,)).astype(jnp.float32), encoded_action,
                                jnp.reshape(reward, (1,)).astype(jnp.float32),
                                jnp.reshape(episode_done, (1,)).astype(jnp.float32)])

    def reset_env(self, key: jax.Array, params: TrialParams) -> tuple[jax.Array, TrialState]:
        task_key, reset_key = jax.random.split(key)
        task = self._draw_task(task_key, params)
        obs, env_state = self.env.reset(reset_key, task)
        # The first step of a trial shows no previous action (an all-zero encoding).
        observation = self._observe(obs, jnp.zeros(self.action_dim), 0.0, False)
        return observation, TrialState(env_state=env_state, task=task,
                                       episode=jnp.zeros((), jnp.int32),
                                       time=jnp.zeros((), jnp.int32))

    def step_env(self, key: jax.Array, state: TrialState, action, params: TrialParams):
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            key, state.env_state, action, state.task)
        episode_done = jnp.logical_or(terminated, truncated)
        episode = state.episode + episode_done.astype(jnp.int32)
        trial_done = episode >= self.num_episodes
        info = {"episode_terminated": terminated, "episode_truncated": truncated,
                "episode_done": episode_done, "episode": state.episode,
                "episode_final_observation": info["final_observation"]}
        state = TrialState(env_state=env_state, task=state.task, episode=episode,
                           time=state.time + 1)
        observation = self._observe(obs, self._encode_action(action), reward, episode_done)
        return observation, state, reward, trial_done, info

    def is_truncated(self, state: TrialState, params: TrialParams) -> jax.Array:
        return jnp.array(False)  # a trial ends by completing its episodes (``terminated``)

    def is_terminated(self, state: TrialState, params: TrialParams) -> jax.Array:
        return state.episode >= self.num_episodes

    @property
    def name(self) -> str:
        return f"Trials({self.env.name}, n={self.num_episodes})"

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def action_space(self, params: TrialParams | None = None):
        return self.env.action_space(self.env.default_params)

    def observation_space(self, params: TrialParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, self.obs_shape, jnp.float32)
