"""Few-shot regression on the same meta-learning core as RL: MAML, FOMAML, Meta-SGD, ANIL,
CAVIA and Reptile differ only in the :mod:`metajax.inner` rule, mask and outer update, exactly
as in :mod:`metajax.algorithms.maml`; here the inner and outer losses are mean squared errors
on a task's support (``shots`` points) and query points.
"""

from __future__ import annotations

import dataclasses

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from metajax import inner
from metajax.algorithms.maml_config import OPTAX_OUTER, MAMLConfig
from metajax.algorithms.outer import MetaObjective, MetaState, OuterRule
from metajax.envs.sinusoid import Sinusoid
from metajax.meta_learner import ADAPTATION_CURVES, MetaTestPlan, describe_adaptation_test
from metajax.networks import Regressor

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig


@dataclasses.dataclass(frozen=True)
class FewShotRegression:
    """Meta-learns a regressor over ``tasks``; ``config`` supplies ``num_tasks``,
    ``inner_steps``, ``inner_lr``, ``inner_rule``, ``adapt``, ``first_order``, ``outer``
    (``reptile`` or an optax name) and ``outer_lr``."""

    tasks: Sinusoid
    network: Regressor
    config: MAMLConfig
    query_points: int = 10

    score_names = ("pre_mse", "post_mse")
    curves = ADAPTATION_CURVES._replace(ylabel="mean squared error")

    def __post_init__(self):
        if self.config.outer not in ("reptile",) + OPTAX_OUTER:
            raise ValueError(f"outer must be reptile or one of {', '.join(OPTAX_OUTER)} for "
                             f"regression, got {self.config.outer!r}")

    @property
    def env(self) -> Sinusoid:
        """The task distribution (named like the RL learners' attribute)."""
        return self.tasks

    @property
    def rule(self) -> inner.InnerRule:
        return inner.make_inner_rule(self.config.inner_rule, self.config.inner_lr)

    @property
    def outer(self) -> OuterRule:
        """Reptile or an optax optimiser on the post-adaptation query MSE (``config.outer``)."""
        return self.config.make_outer_rule()

    def init(self, key: jax.Array) -> MetaState:
        params = self.network.init(key, jnp.zeros((1,) + self.tasks.obs_shape))["params"]
        meta = {"params": params, "inner": self.rule.init(params)}
        return MetaState(params, meta["inner"], self.outer.init(meta), jnp.zeros((), jnp.int32))

    def loss(self, params, data) -> jax.Array:
        x, y = data
        return jnp.mean((self.network.apply({"params": params}, x) - y) ** 2)

    def _mask(self, params):
        return inner.adapt_mask(params, self.config.adapt)

    def adapt_on_batches(self, meta, batches):
        """Adapted params after one inner step per batch (leading axis = steps)."""
        c = self.config
        return inner.adapt(self.loss, self.rule, meta["inner"], meta["params"], batches,
                           self._mask(meta["params"]), c.first_order, c.adapt == "context")

    def _sample(self, key: jax.Array):
        """A meta-batch: support sets repeated per inner step ``[tasks, steps, shots, 1]`` and
        query sets ``[tasks, query, 1]``."""
        c = self.config
        task_key, point_key = jax.random.split(key)
        tasks = self.tasks.sample_tasks(task_key, c.num_tasks)

        def per_task(task, k):
            s_key, q_key = jax.random.split(k)
            support = self.tasks.sample_points(s_key, task, self.tasks.shots)
            query = self.tasks.sample_points(q_key, task, self.query_points)
            repeat = lambda x: jnp.broadcast_to(x, (c.inner_steps,) + x.shape)
            return jax.tree.map(repeat, support), query

        return jax.vmap(per_task)(tasks, jax.random.split(point_key, c.num_tasks))

    def meta_loss(self, meta, support, query) -> jax.Array:
        """Mean over tasks of the query MSE after adaptation on the support set."""
        per_task = lambda s, q: self.loss(self.adapt_on_batches(meta, s), q)
        return jnp.mean(jax.vmap(per_task)(support, query))

    def step(self, state: MetaState, key: jax.Array) -> tuple[MetaState, dict[str, jax.Array]]:
        """Samples a meta-batch of tasks, adapts to each, and applies the outer rule to the
        query MSE after adaptation (``post_mse``)."""
        meta = state.meta_params
        support, query = self._sample(key)
        pre = jnp.mean(jax.vmap(lambda q: self.loss(meta["params"], q))(query))
        adapted = jax.vmap(lambda s: self.adapt_on_batches(meta, s))(support)
        objective = MetaObjective(lambda m: self.meta_loss(m, support, query), adapted)
        meta, opt_state, info = self.outer.update(objective, state.opt_state, meta)
        post = info.get("loss_before", jnp.mean(jax.vmap(self.loss)(adapted, query)))
        new = MetaState(meta["params"], meta["inner"], opt_state, state.iteration + 1)
        return new, {"pre_mse": pre, "post_mse": post}

    def sample_tasks(self, key: jax.Array, num_tasks: int):
        return self.tasks.sample_tasks(key, num_tasks)

    def meta_test(self, meta, tasks, key: jax.Array, plan: MetaTestPlan,
                  num_query: int = 100) -> jax.Array:
        """Each task's query MSE after 0..``plan.num_steps`` steps on ``shots`` support
        points, step ``i`` with step size ``plan.step_sizes[i]``: ``[tasks, num_steps + 1]``
        (``plan.num_episodes`` is unused: supervised tasks have no episodes)."""
        c = self.config
        scales = plan.step_sizes / c.inner_lr
        mask = self._mask(meta["params"])
        rule = self.rule

        def per_task(task, k):
            s_key, q_key = jax.random.split(k)
            support = self.tasks.sample_points(s_key, task, self.tasks.shots)
            query = self.tasks.sample_points(q_key, task, num_query)
            params = inner.start(meta["params"], mask, c.adapt == "context")

            def one(carry, scale):
                params, state = inner.inner_step(self.loss, rule, meta["inner"], *carry,
                                                 support, mask, scale=scale)
                return (params, state), self.loss(params, query)

            (_, _), mses = jax.lax.scan(one, (params, rule.reset(params, meta["inner"])), scales)
            return jnp.concatenate([self.loss(params, query)[None], mses])

        num_tasks = jax.tree.leaves(tasks)[0].shape[0]
        return jax.vmap(per_task)(tasks, jax.random.split(key, num_tasks))

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return describe_adaptation_test(protocol, inherited)

    def train(self, state: MetaState, key: jax.Array, num_iterations: int):
        """``num_iterations`` steps in one ``lax.scan`` (jit it): returns the final state and
        the per-iteration metrics."""
        return jax.lax.scan(self.step, state, jax.random.split(key, num_iterations))
