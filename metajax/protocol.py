"""The meta-test protocol (:class:`MetaTestConfig`): its step size and episodes per step may be
left unset, to follow the training's own inner loop (``TrainConfig.meta_test_protocol``);
``plan()`` gives the part a learner's jitted ``meta_test`` receives
(:class:`metajax.meta_learner.MetaTestPlan`)."""

from __future__ import annotations

import dataclasses

from metajax import checks
from metajax.meta_learner import MetaTestPlan

# the step size and episodes per step of learners without an inner loop to follow
DEFAULT_LR, DEFAULT_EPISODES = 0.1, 20


@dataclasses.dataclass(frozen=True)
class MetaTestConfig:
    """Meta-test protocol: adapt 0..``num_steps`` VPG steps on fresh tasks from ``seed`` with
    step size ``lr``, or one step size per step from ``step_sizes`` when given. ``lr`` and
    ``num_episodes`` left None follow the training (MAML family: ``maml.inner_lr``,
    ``maml.num_episodes``; otherwise 0.1 and 20)."""

    num_tasks: int = 40
    num_steps: int = 3
    num_episodes: int | None = None
    lr: float | None = None
    step_sizes: tuple[float, ...] = ()
    seed: int = 1_000_003

    @property
    def schedule(self) -> list[float]:
        """The step size of each adaptation step."""
        if self.step_sizes:
            return list(self.step_sizes)
        if self.lr is None:
            raise ValueError("meta_test.lr is unset; use TrainConfig.meta_test_protocol()")
        return [self.lr] * self.num_steps

    def plan(self) -> MetaTestPlan:
        """The resolved protocol as a learner's ``meta_test`` takes it."""
        if self.num_episodes is None:
            raise ValueError("meta_test.num_episodes is unset; use TrainConfig.meta_test_protocol()")
        return MetaTestPlan.of(self.schedule, self.num_episodes)

    def resolve(self, lr: float, num_episodes: int) -> MetaTestConfig:
        """This protocol with an unset ``lr`` or ``num_episodes`` set to the given values."""
        return dataclasses.replace(
            self, lr=lr if self.lr is None else self.lr,
            num_episodes=num_episodes if self.num_episodes is None else self.num_episodes)

    def __post_init__(self):
        checks.positive("num_tasks", self.num_tasks, integer=True)
        checks.non_negative_int("num_steps", self.num_steps)
        if self.num_episodes is not None:
            checks.positive("num_episodes", self.num_episodes, integer=True)
        if self.lr is not None:
            checks.positive("lr", self.lr)
        if self.step_sizes:
            if len(self.step_sizes) != self.num_steps:
                raise ValueError(f"step_sizes must list num_steps={self.num_steps} step sizes, "
                                 f"got {list(self.step_sizes)}")
            for size in self.step_sizes:
                checks.positive("step_sizes", size)
        checks.non_negative_int("seed", self.seed)
