"""HalfCheetahVel for the PyTorch MAML-TRPO baseline: Gymnasium's C MuJoCo ``HalfCheetah-v5``
with pytorch-maml-rl's task reward wrapper (``maml_rl/envs/mujoco/half_cheetah.py``), the same
spec as metajax's ``HalfCheetahVel-v0``:

- goal velocity ~ U[0, 2]; reward ``-|v_x - v_goal| - 0.05 |a|^2``, never terminates;
- the policy's action clipped to [-10, 10] and mapped onto the control range
  (``normalization_scale: 10``), ``a`` that mapped action;
- observation ``q[1:]``, ``qd`` and the torso's position (20), as the reference builds it;
- reset noise ``q += U[-0.1, 0.1]``, ``qd = 0.1 N(0, 1)`` (Gymnasium's own, which is the
  reference's).

One Gymnasium env per (task, episode), stepped in a Python loop (a ``SyncVectorEnv`` without
its wrappers): the way a PyTorch user runs C MuJoCo on a CPU. Gymnasium's solver settings are
left as its XML has them.
"""

from __future__ import annotations

import numpy as np
import torch

NORMALIZATION_SCALE = 10.0


class HalfCheetahVel:
    """The maml_trpo env interface: ``sample_tasks``, ``reset(tasks, episodes)`` and
    ``step(tasks, state, action)`` on ``[tasks, episodes, ...]`` tensors."""

    obs_dim, action_dim, discrete, horizon = 20, 6, False, 100

    def __init__(self):
        import gymnasium  # the bench extra; only this env needs it

        self._make = lambda: gymnasium.make("HalfCheetah-v5").unwrapped
        self._envs: list = []
        self._rng = np.random.default_rng(0)

    def sample_tasks(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return 2.0 * torch.rand(n, generator=generator)

    def reset(self, goals: torch.Tensor, episodes: int):
        count = goals.shape[0] * episodes
        while len(self._envs) < count:
            self._envs.append(self._make())
        for env in self._envs[:count]:
            env.reset(seed=int(self._rng.integers(2**31)))
        return None, self._observe(goals.shape[0], episodes)

    def step(self, goals, state, action):
        tasks, episodes = action.shape[:2]
        low, high = -1.0, 1.0  # HalfCheetah's control range, every actuator
        scaled = action.clamp(-NORMALIZATION_SCALE, NORMALIZATION_SCALE)
        physics = (low + (scaled + NORMALIZATION_SCALE) * (high - low)
                   / (2 * NORMALIZATION_SCALE)).clamp(low, high)
        flat = physics.reshape(tasks * episodes, -1).cpu().numpy().astype(np.float64)
        velocity = np.empty(tasks * episodes)
        for i, (env, a) in enumerate(zip(self._envs, flat)):
            velocity[i] = env.step(a)[4]["x_velocity"]
        velocity = torch.as_tensor(velocity, dtype=torch.float32,
                                   device=action.device).view(tasks, episodes)
        reward = -(velocity - goals[:, None]).abs() - 0.05 * (physics ** 2).sum(-1)
        done = torch.zeros_like(reward, dtype=torch.bool)
        return None, self._observe(tasks, episodes).to(action.device), reward, done

    def _observe(self, tasks: int, episodes: int) -> torch.Tensor:
        rows = [np.concatenate([env.data.qpos[1:], env.data.qvel, env.data.body("torso").xpos])
                for env in self._envs[:tasks * episodes]]
        return torch.as_tensor(np.stack(rows), dtype=torch.float32).view(tasks, episodes, -1)
