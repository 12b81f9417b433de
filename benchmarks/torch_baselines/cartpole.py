"""CartPole-v1 as a batch of environments in torch tensors, to gymnax's spec (Euler step of
gym's equations, reward 1 per step, terminated past |x| > 2.4 or |theta| > 12 degrees,
truncated at 500 steps, auto-reset to U(-0.05, 0.05)^4). ``step`` returns gymnax's six
values, with the final observation of every finished episode in ``info``."""

from __future__ import annotations

import math

import torch

GRAVITY, MASSCART, MASSPOLE, LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASSCART + MASSPOLE
POLEMASS_LENGTH = MASSPOLE * LENGTH
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4
MAX_STEPS = 500


class VectorCartPole:
    num_actions = 2
    obs_dim = 4

    def __init__(self, num_envs: int, generator: torch.Generator):
        self.num_envs = num_envs
        self.generator = generator
        self.state = torch.zeros(num_envs, 4)
        self.time = torch.zeros(num_envs, dtype=torch.long)

    def _draw(self, n: int) -> torch.Tensor:
        return torch.rand(n, 4, generator=self.generator) * 0.1 - 0.05

    def reset(self) -> torch.Tensor:
        self.state = self._draw(self.num_envs)
        self.time.zero_()
        return self.state.clone()

    def step(self, action: torch.Tensor):
        x, x_dot, theta, theta_dot = self.state.unbind(1)
        force = FORCE * (2.0 * action.float() - 1.0)
        cos, sin = torch.cos(theta), torch.sin(theta)
        temp = (force + POLEMASS_LENGTH * theta_dot ** 2 * sin) / TOTAL_MASS
        theta_acc = (GRAVITY * sin - cos * temp) / (
            LENGTH * (4.0 / 3.0 - MASSPOLE * cos ** 2 / TOTAL_MASS))
        x_acc = temp - POLEMASS_LENGTH * theta_acc * cos / TOTAL_MASS
        state = torch.stack([x + TAU * x_dot, x_dot + TAU * x_acc,
                             theta + TAU * theta_dot, theta_dot + TAU * theta_acc], 1)
        self.time += 1
        terminated = (state[:, 0].abs() > X_LIMIT) | (state[:, 2].abs() > THETA_LIMIT)
        truncated = (self.time >= MAX_STEPS) & ~terminated
        done = terminated | truncated
        reward = torch.ones(self.num_envs)
        final_obs = state
        self.state = torch.where(done[:, None], self._draw(self.num_envs), state)
        self.time = torch.where(done, torch.zeros_like(self.time), self.time)
        return (self.state.clone(), reward, terminated, truncated,
                {"final_observation": final_obs})


def evaluate(act, episodes: int, seed: int) -> float:
    """Mean undiscounted return of ``act(obs batch) -> actions`` over ``episodes`` episodes
    run side by side (each counted once, until it ends)."""
    env = VectorCartPole(episodes, torch.Generator().manual_seed(seed))
    obs = env.reset()
    returns = torch.zeros(episodes)
    alive = torch.ones(episodes, dtype=torch.bool)
    with torch.no_grad():
        while alive.any():
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            returns += reward * alive
            alive &= ~(terminated | truncated)
    return float(returns.mean())
