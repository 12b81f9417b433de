"""The hyperparameters of a PPO update that PPO/A2C (:class:`ppo.PPOConfig`) and RL^2
(:class:`rl2.RL2Config`) share, with their checks in one place; each learner's config adds
its own fields and defaults."""

from __future__ import annotations

import dataclasses

from metajax import checks


@dataclasses.dataclass(frozen=True)
class PPOHyperparameters:
    """Parallel environments and steps per update, the optimiser and the clipped objective."""

    num_envs: int = 4
    num_steps: int = 128  # steps per environment per update
    lr: float = 2.5e-4
    anneal_lr: bool = True  # linearly to zero over the run
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5  # global-norm gradient clipping
    update_epochs: int = 4
    num_minibatches: int = 4

    def __post_init__(self):
        for name in ("num_envs", "update_epochs", "num_minibatches"):
            checks.positive(name, getattr(self, name), integer=True)
        checks.non_negative_int("num_steps", self.num_steps)
        checks.positive("lr", self.lr)
        for name in ("gamma", "gae_lambda", "clip_eps"):
            checks.in_interval(name, getattr(self, name), 0.0, 1.0)
        for name in ("vf_coef", "ent_coef", "max_grad_norm"):
            checks.in_interval(name, getattr(self, name), 0.0, float("inf"))
