"""The one shape every learner has (:class:`MetaLearner`), so that the CLI, the training loop,
evaluation, checkpointing, seeds and logging need nothing else from it: MAML and its family on
RL and on regression, RL^2, and DQN/PPO/A2C on one environment or meta-initialised by Reptile.

A learner is built from a config (``metajax.learners.LEARNERS`` maps each ``algo`` to its
builder) and then used only through these pure functions and two descriptions::

    state = learner.init(key)                          # a pytree: checkpointed, vmapped over seeds
    state, metrics = learner.step(state, key)          # one iteration; metrics: name -> scalar
    tasks = learner.sample_tasks(key, n)               # n held-out tasks, stacked on axis 0
    values = learner.meta_test(state.meta_params, tasks, key, plan)   # [n, k]

``meta_test`` gives each task's ``k`` test values (returns, or MSEs for regression) along the
learner's test axis: after 0..num_steps adaptation steps (MAML family), per episode of one
trial (RL^2), before and after fine-tuning (meta-init), or the greedy return (one environment,
whose "tasks" are its test episodes). ``metrics`` always hold ``score_names``, the two curves
that progress lines, tables and plots show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Sequence, runtime_checkable

import jax
import jax.numpy as jnp
from flax import struct

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig


@struct.dataclass
class MetaTestPlan:
    """What one meta-test does on each task: ``num_steps = len(step_sizes)`` adaptation steps,
    step ``i`` with step size ``step_sizes[i]`` (float32 ``[num_steps]``, traced), each from
    ``num_episodes`` fresh episodes (static). Learners without an inner loop read only what
    applies to them (RL^2: nothing; a deep-RL learner: ``num_episodes`` greedy episodes)."""

    step_sizes: jax.Array
    num_episodes: int = struct.field(pytree_node=False)

    @property
    def num_steps(self) -> int:
        return self.step_sizes.shape[0]

    @classmethod
    def of(cls, step_sizes: Sequence[float] | jax.Array, num_episodes: int) -> MetaTestPlan:
        """A plan from step sizes (one per step) and episodes per step."""
        return cls(jnp.asarray(step_sizes, jnp.float32).reshape(-1), int(num_episodes))

    @classmethod
    def constant(cls, num_steps: int, lr: float, num_episodes: int) -> MetaTestPlan:
        """``num_steps`` steps of step size ``lr``."""
        return cls.of([lr] * num_steps, num_episodes)


class Curves(NamedTuple):
    """How tables and plots name a learner's two training curves and its meta-test axis."""

    labels: tuple[str, str]  # the two curves (``score_names``) in plots
    index: str  # the meta-test table's row axis
    first: int  # the number of its first row
    ylabel: str = "mean return"


# the gradient-adapting learners' curves (MAML family on RL; regression says MSE)
ADAPTATION_CURVES = Curves(("pre-adaptation", "post-adaptation"), "adaptation steps", 0)


@runtime_checkable
class MetaLearner(Protocol):
    """What every learner provides; see the module docstring for how they fit together."""

    score_names: tuple[str, str]  # the two metrics of ``step`` that are its training curves
    curves: Curves

    def init(self, key: jax.Array) -> Any:
        """The state before the first iteration; ``state.meta_params`` is what is tested."""

    def step(self, state: Any, key: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
        """One iteration of meta-training (pure, jittable)."""

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> Any:
        """``num_tasks`` tasks of the learner's distribution, stacked on a leading axis."""

    def meta_test(self, meta_params: Any, tasks: Any, key: jax.Array,
                  plan: MetaTestPlan) -> jax.Array:
        """Each task's test values along the learner's test axis, ``[tasks, k]`` (jittable)."""

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        """One line saying what the meta-test measures; ``inherited`` names the protocol
        fields that follow the training's inner loop."""


def describe_adaptation_test(protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
    """The MAML family's meta-test line: tasks, episodes and step sizes per step, and whether
    the step size and episodes come from the training (``maml.*``) or from ``meta_test``."""
    where = f"{protocol.num_tasks} held-out tasks (seed {protocol.seed}"
    lr_from = "the training's maml.inner_lr" if "lr" in inherited else (
        "meta_test.step_sizes" if protocol.step_sizes else "meta_test.lr")
    episodes_from = ("the training's maml.num_episodes" if "num_episodes" in inherited
                     else "meta_test.num_episodes")
    return (f"meta-test on {where}, {protocol.num_episodes} episodes per step, step sizes "
            f"{protocol.schedule}; step size from {lr_from}, episodes from {episodes_from}):")
