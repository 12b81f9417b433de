"""MAML-RL's hyperparameters (:class:`MAMLConfig`) and their checks, raised when a config is
built, before anything is traced or compiled.

The MAML family is MAML with settings: FOMAML (``first_order``), Meta-SGD
(``inner_rule="meta_sgd"``), ANIL (``adapt="head"``), CAVIA (``adapt="context"``), Reptile
(``outer="reptile"``), the inner meta-gradient estimators VPG, DiCE and LVC (``estimator``;
DiCE in ProMP's normalised or the raw form, ``dice_form``), ProMP (``estimator="lvc"``,
``outer="promp"``) and E-MAML (``exploration=True``)."""

from __future__ import annotations

import dataclasses

import optax

from metajax import checks, inner
from metajax.algorithms import outer as outer_rules
from metajax.estimators import LOSS_WEIGHTINGS
from metajax.losses import DICE_FORMS, ESTIMATORS

OPTAX_OUTER = ("adam", "adamw", "sgd", "rmsprop", "lamb", "lion")
OUTER = ("trpo", "promp", "reptile") + OPTAX_OUTER


@dataclasses.dataclass(frozen=True)
class MAMLConfig:
    """MAML-RL hyperparameters; defaults are the pytorch-maml-rl 2D-navigation reference."""

    num_tasks: int = 20
    num_episodes: int = 20
    inner_steps: int = 1
    inner_lr: float = 0.1
    inner_rule: str = "sgd"
    adapt: str = "all"
    first_order: bool = False
    estimator: str = "vpg"
    # estimator="dice": "normalized" (ProMP's mean over steps of normalised, time-baseline-
    # adjusted discounted rewards: losses.normalized_dice_loss) or "raw" (losses.dice_loss)
    dice_form: str = "normalized"
    exploration: bool = False
    gamma: float = 0.99
    gae_lambda: float = 1.0
    normalize_advantages: bool = True
    baseline_reg: float = 1e-5
    # every loss, KL and advantage normalisation: "episode" (mean within each episode, then
    # over episodes: pytorch-maml-rl) or "step" (mean over all steps: rllab, ProMP)
    loss_weighting: str = "episode"
    outer: str = "trpo"
    outer_lr: float = 1e-3
    max_kl: float = 1e-2
    cg_iters: int = 10
    cg_damping: float = 1e-5
    cg_unroll: bool = True  # CG as straight-line code: faster products, longer compile
    ls_max_steps: int = 15
    ls_backtrack_ratio: float = 0.8
    promp_steps: int = 5
    clip_eps: float = 0.3
    kl_coef: float = 5e-4
    task_chunk: int = 0  # 0: one vmap over all tasks; n: lax.map over chunks of n (memory)
    # n: the post-adaptation objective as n concurrent vmapped groups (CPU speed); with
    # task_chunk too, the chunks bound the rollouts (env batch per call) and the groups lay out
    # the learning
    task_groups: int = 1

    def __post_init__(self):
        for name in ("num_tasks", "num_episodes", "inner_steps", "cg_iters", "ls_max_steps",
                     "promp_steps"):
            checks.positive(name, getattr(self, name), integer=True)
        # these loops are unrolled or traced per step: past the bounds, compile time explodes
        checks.at_most("cg_iters", self.cg_iters, 100, "conjugate gradient converges in 10-20 "
                       "on these problems; each iteration adds to the compiled program")
        checks.at_most("ls_max_steps", self.ls_max_steps, 100, "the backtracking step "
                       "shrinks by ls_backtrack_ratio each time")
        checks.at_most("inner_steps", self.inner_steps, 100, "every inner step is "
                       "differentiated through")
        checks.at_most("promp_steps", self.promp_steps, 1000, "outer steps per iteration")
        checks.non_negative_int("task_chunk", self.task_chunk)
        if self.task_chunk and self.num_tasks % self.task_chunk:
            raise ValueError(f"task_chunk ({self.task_chunk}) must divide num_tasks "
                             f"({self.num_tasks})")
        checks.positive("task_groups", self.task_groups, integer=True)
        if self.num_tasks % self.task_groups:
            raise ValueError(f"task_groups ({self.task_groups}) must divide num_tasks "
                             f"({self.num_tasks})")
        for name in ("inner_lr", "outer_lr", "max_kl"):
            checks.positive(name, getattr(self, name))
        checks.in_interval("gamma", self.gamma, 0.0, 1.0)
        checks.in_interval("gae_lambda", self.gae_lambda, 0.0, 1.0)
        checks.in_interval("ls_backtrack_ratio", self.ls_backtrack_ratio, 1e-6, 1.0 - 1e-6)
        checks.in_interval("cg_damping", self.cg_damping, 0.0, float("inf"))
        checks.in_interval("baseline_reg", self.baseline_reg, 0.0, float("inf"))
        checks.in_interval("clip_eps", self.clip_eps, 0.0, 1.0)
        checks.in_interval("kl_coef", self.kl_coef, 0.0, float("inf"))
        checks.one_of("estimator", self.estimator, tuple(ESTIMATORS))
        checks.one_of("dice_form", self.dice_form, DICE_FORMS)
        checks.one_of("loss_weighting", self.loss_weighting, LOSS_WEIGHTINGS)
        checks.one_of("outer", self.outer, OUTER)
        checks.one_of("inner_rule", self.inner_rule, inner.INNER_RULES)
        checks.one_of("adapt", self.adapt, inner.ADAPT_MODES)

    def make_outer_rule(self) -> outer_rules.OuterRule:
        """The outer rule ``outer`` names, with this config's hyperparameters."""
        if self.outer == "trpo":
            return outer_rules.trpo(self.max_kl, self.cg_iters, self.cg_damping,
                                    self.ls_max_steps, self.ls_backtrack_ratio, self.cg_unroll)
        if self.outer == "promp":
            return outer_rules.promp(optax.adam(self.outer_lr), self.promp_steps)
        if self.outer == "reptile":
            return outer_rules.reptile(self.outer_lr)
        return outer_rules.optax_rule(getattr(optax, self.outer)(self.outer_lr))
