"""MAML for RL (Finn et al. 2017) with exact second-order meta-gradients, and its family on the
same code: FOMAML (``first_order``), Meta-SGD (``inner_rule="meta_sgd"``), ANIL
(``adapt="head"``), CAVIA (``adapt="context"``), Reptile (``outer="reptile"``), the inner
meta-gradient estimators VPG, DiCE and LVC (``estimator``; DiCE in ProMP's normalised or the
raw form, ``dice_form``), ProMP (``estimator="lvc"``, ``outer="promp"``) and E-MAML
(``exploration=True``).

Inner loop: ``inner_steps`` steps of the VPG loss with step size ``inner_lr``, each on fresh
trajectories sampled with the current adapted params (as pytorch-maml-rl does). Outer loop:
TRPO on the post-adaptation surrogate, or any optax optimiser on the post-adaptation VPG
loss. The sampled trajectories are data: the meta-gradient is the score-function gradient
of the post-adaptation objective, differentiated through the inner updates with ``jax.grad``
(``first_order=True`` stops the inner gradient: FOMAML). Environment transitions are not
differentiated (gymnax's default ``stop_gradient``).

One meta-iteration, :meth:`MAML.step`, is one pure function over all tasks of the meta-batch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.sharding import Mesh

from metajax import inner, task_layout
from metajax.algorithms.maml_config import MAMLConfig
from metajax.algorithms.outer import MetaObjective, OuterRule, TrustRegion
from metajax.algorithms.maml_curvature import PostAdaptationCurvature
from metajax.batch import Batch, make_batch
from metajax.distributed import shard_tasks
from metajax.envs.base import TaskEnvironment
from metajax.estimators import normalize, weighted_mean
from metajax.losses import (ESTIMATORS, magic_box, normalized_dice_loss,
                            surrogate_loss_and_kl, vpg_loss)
from metajax.meta_learner import ADAPTATION_CURVES, MetaTestPlan, describe_adaptation_test
from metajax.networks import Policy
from metajax.rollouts import rollout

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig


@struct.dataclass
class MetaState:
    """What meta-training carries between iterations (a plain pytree, checkpointable)."""

    params: Any
    inner: Any  # the inner rule's meta-learned hyperparameters (Meta-SGD's step sizes)
    opt_state: Any
    iteration: jax.Array

    @property
    def meta_params(self) -> dict[str, Any]:
        """Everything the outer loop learns."""
        return {"params": self.params, "inner": self.inner}


@dataclasses.dataclass(frozen=True)
class MAML(PostAdaptationCurvature):
    """MAML-RL as pure functions of ``(params, tasks, keys)``; see the module docstring."""

    env: TaskEnvironment
    policy: Policy
    config: MAMLConfig
    mesh: Mesh | None = None  # shard the task axis over these devices (metajax.distributed)
    outer_rule: OuterRule | None = None  # any outer rule (e.g. outer.optax_rule(optax.chain(...)))

    score_names = ("pre_return", "post_return")
    curves = ADAPTATION_CURVES

    def __post_init__(self):
        if self.mesh is not None and self.config.num_tasks % self.mesh.size:
            raise ValueError(f"num_tasks ({self.config.num_tasks}) must be divisible by the "
                             f"number of devices ({self.mesh.size})")
        if self.mesh is not None and self.config.task_groups > 1:
            raise ValueError("task_groups > 1 splits the task axis on one device; with "
                             "several devices the mesh already splits it (use task_groups=1)")

    @property
    def horizon(self) -> int:
        return self.env.max_steps_in_episode

    @property
    def outer(self) -> OuterRule:
        """The outer rule: ``outer_rule`` if given, else the one ``config.outer`` names."""
        return self.outer_rule or self.config.make_outer_rule()

    @property
    def rule(self) -> inner.InnerRule:
        return inner.make_inner_rule(self.config.inner_rule, self.config.inner_lr)

    def init(self, key: jax.Array) -> MetaState:
        params = self.policy.init(key)
        meta = {"params": params, "inner": self.rule.init(params)}
        return MetaState(params, meta["inner"], self.outer.init(meta), jnp.zeros((), jnp.int32))

    # ----- per-task pieces (vmapped over tasks) -----

    def _batch(self, trajectory) -> Batch:
        c = self.config
        return make_batch(trajectory, c.gamma, c.gae_lambda, c.normalize_advantages,
                          c.baseline_reg, c.loss_weighting)

    def _inner_loss(self, params, batch: Batch) -> jax.Array:
        c = self.config
        if c.estimator == "dice" and c.dice_form == "normalized":
            return normalized_dice_loss(self.policy, params, batch, c.normalize_advantages)
        return ESTIMATORS[c.estimator](self.policy, params, batch)

    def adapt_on_batches(self, meta, batches: Batch):
        """Adapted params after one inner step per batch (leading axis = steps) from the
        meta-params ``{"params", "inner"}``; the function the meta-gradient differentiates."""
        c = self.config
        params = meta["params"]
        return inner.adapt(self._inner_loss, self.rule, meta["inner"], params, batches,
                           inner.adapt_mask(params, c.adapt), c.first_order,
                           reset_context=c.adapt == "context")

    def sample_and_adapt(
        self, meta, task, key: jax.Array, num_steps: int, num_episodes: int,
        scale: float | jax.Array = 1.0,
    ):
        """Sample-then-update ``num_steps`` times on one task from the meta-params; ``scale``
        (a scalar or one per step) multiplies the step size. Returns the adapted params, the
        batches used ``[steps, ...]`` and the mean episode return before each step."""
        c = self.config
        scales = jnp.broadcast_to(scale, (num_steps,))
        mask = inner.adapt_mask(meta["params"], c.adapt)
        params = self._pre_update_params(meta)
        rule = self.rule

        def one_step(carry, inputs):
            params, state = carry
            step_key, step_scale = inputs
            trajectory = rollout(self.env, self.policy, params, task, step_key, num_episodes,
                                 self.horizon)
            batch = self._batch(trajectory)
            carry = inner.inner_step(self._inner_loss, rule, meta["inner"], params, state,
                                     batch, mask, c.first_order, step_scale)
            return carry, (batch, jnp.mean(trajectory.episode_returns))

        (params, _), (batches, returns) = jax.lax.scan(
            one_step, (params, rule.reset(params, meta["inner"])),
            (jax.random.split(key, num_steps), scales),
        )
        return params, batches, returns

    def adapt(self, meta, task, key: jax.Array, num_steps: int | None = None,
              num_episodes: int | None = None):
        """Adapts to one task from its own fresh experience (usable in user code); ``meta`` is
        ``state.meta_params``."""
        c = self.config
        return self.sample_and_adapt(meta, task, key, num_steps or c.inner_steps,
                                     num_episodes or c.num_episodes)[0]

    def _sample_task(self, meta, task, key):
        adapt_key, valid_key = jax.random.split(key)
        c = self.config
        adapted, train, returns = self.sample_and_adapt(
            meta, task, adapt_key, c.inner_steps, c.num_episodes
        )
        trajectory = rollout(self.env, self.policy, adapted, task, valid_key, c.num_episodes,
                             self.horizon)
        return (train, self._batch(trajectory), returns, jnp.mean(trajectory.episode_returns),
                adapted)

    # ----- the meta-objective -----

    def map_tasks(self, fn, *xs, grouped: bool = True):
        """``fn`` over the leading task axis of ``xs`` in the configured layout
        (:mod:`metajax.task_layout`): one ``vmap``, ``task_chunk`` rematerialised chunks, or
        ``task_groups`` concurrent groups (unless ``grouped`` is False)."""
        groups = self.config.task_groups if grouped else 1
        return task_layout.map_tasks(fn, *xs, groups=groups, chunk=self.config.task_chunk)

    def post_adaptation_dist(self, meta, train: Batch, valid: Batch):
        """Distribution parameters of the adapted policy on the validation observations of
        every task: ``[tasks, ...]``."""
        adapt = lambda tr, va: self.policy.apply(self.adapt_on_batches(meta, tr), va.obs)
        return self.map_tasks(adapt, train, valid)

    def meta_loss(self, meta, train: Batch, valid: Batch, post_returns=None) -> jax.Array:
        """Mean over tasks of the post-adaptation VPG loss; its gradient is the MAML
        meta-gradient (trajectories held fixed); plus the E-MAML term if ``exploration``.

        Args:
            meta: ``state.meta_params``, the dict ``{"params": policy params, "inner": the
                inner rule's learned hyperparameters (() for SGD)}``.
            train: the inner-loop batches (a :class:`~metajax.batch.Batch`), ``[tasks,
                inner_steps, episodes, T]`` (the steps axis is there even for one step).
            valid: the post-adaptation batch, ``[tasks, episodes, T]``.
            post_returns: each task's post-adaptation mean return ``[tasks]`` (E-MAML only).

        ``train``, ``valid`` and ``post_returns`` are what :meth:`sample_meta_batch` returns
        (its first, second and fourth outputs)."""
        per_task = lambda tr, va: vpg_loss(self.policy, self.adapt_on_batches(meta, tr), va)
        loss = jnp.mean(self.map_tasks(per_task, train, valid))
        return loss + self.exploration_loss(meta, train, post_returns)

    def surrogate(self, meta, train: Batch, valid: Batch, old_dist, post_returns=None):
        """Mean over tasks of TRPO's post-adaptation surrogate loss (plus the E-MAML term if
        ``exploration``) and KL."""
        def per_task(tr, va, old):
            adapted = self.adapt_on_batches(meta, tr)
            return surrogate_loss_and_kl(self.policy, adapted, va, old)

        loss, kl = self.map_tasks(per_task, train, valid, old_dist)
        return jnp.mean(loss) + self.exploration_loss(meta, train, post_returns), jnp.mean(kl)

    def _pre_update_params(self, meta):
        mask = inner.adapt_mask(meta["params"], self.config.adapt)
        return inner.start(meta["params"], mask, self.config.adapt == "context")

    def exploration_loss(self, meta, train: Batch, post_returns) -> jax.Array:
        """E-MAML's term (Al-Shedivat et al. 2018; Stadie et al. 2018): the score function of
        the first pre-update batch, ``magic_box(log pi)``, weighted by each task's
        post-adaptation return, normalised across tasks (and log-probs averaged over steps, so
        its scale matches the VPG loss). It is the gradient of the expected post-adaptation
        return through the pre-update sampling distribution, which MAML-RL drops. Zero unless
        ``exploration``."""
        if not self.config.exploration or post_returns is None:
            return jnp.zeros(())
        params = self._pre_update_params(meta)
        first = jax.tree.map(lambda x: x[:, 0], train)
        log_prob = jax.vmap(lambda b: weighted_mean(
            self.policy.log_prob(params, b.obs, b.action), b.weight))(first)
        uniform = jnp.full_like(post_returns, 1.0 / post_returns.size)
        weight = jax.lax.stop_gradient(normalize(post_returns, uniform))
        return -jnp.mean(magic_box(log_prob) * weight)

    def promp_loss(self, meta, train: Batch, valid: Batch, old_post, old_pre, post_returns):
        """ProMP's outer objective (Rothfuss et al. 2019): the PPO-clip surrogate of the
        adapted policy, plus ``kl_coef`` times the KL of the pre-update policy to the one that
        sampled, plus the E-MAML term if ``exploration``."""
        c = self.config
        dist = self.policy.distribution

        def per_task(tr, va, old, old0):
            adapted = self.adapt_on_batches(meta, tr)
            new = self.policy.apply(adapted, va.obs)
            ratio = jnp.exp(dist.log_prob(new, va.action) - dist.log_prob(old, va.action))
            clipped = jnp.clip(ratio, 1.0 - c.clip_eps, 1.0 + c.clip_eps)
            surrogate = -weighted_mean(jnp.minimum(ratio * va.advantage,
                                                   clipped * va.advantage), va.weight)
            pre = self.policy.apply(self._pre_update_params(meta), tr.obs[0])
            return surrogate, weighted_mean(dist.kl(old0, pre), tr.weight[0])

        surrogate, kl = self.map_tasks(per_task, train, valid, old_post, old_pre)
        return (jnp.mean(surrogate) + c.kl_coef * jnp.mean(kl)
                + self.exploration_loss(meta, train, post_returns))

    # ----- one meta-iteration -----

    def sample_meta_batch(self, meta, key: jax.Array):
        """Draws ``num_tasks`` tasks and, for each, the inner-loop batches ``[tasks, steps, ...]``,
        the validation batch ``[tasks, ...]`` from the adapted policy, the mean return before
        each inner step ``[tasks, steps]``, after adaptation ``[tasks]``, and the adapted
        params ``[tasks, ...]``."""
        task_key, sample_key = jax.random.split(key)
        tasks = self.env.sample_tasks(task_key, self.config.num_tasks)
        keys = jax.random.split(sample_key, self.config.num_tasks)
        tasks, keys = shard_tasks((tasks, keys), self.mesh)
        return self.map_tasks(lambda task, k: self._sample_task(meta, task, k), tasks, keys,
                              grouped=False)

    def meta_objective(self, train: Batch, valid: Batch, post_returns, adapted) -> MetaObjective:
        """What the outer rule may use at this meta-iteration (see :mod:`outer`): the MAML
        objective, the adapted params, TRPO's trust region and ProMP's clipped objective."""

        def trust_region(meta) -> TrustRegion:
            outputs, jvp, vjp = self.linearize_post_adaptation(meta, train, valid)
            old_dist = jax.lax.stop_gradient(outputs)
            fvp = self.fisher_product(meta, train, valid, old_dist, jvp, vjp)
            return TrustRegion(
                lambda m: self.surrogate(m, train, valid, old_dist, post_returns), fvp,
                self.surrogate_value_and_grad(meta, train, valid, old_dist, vjp, post_returns))

        def clipped_loss(meta):
            old_post = jax.lax.stop_gradient(self.post_adaptation_dist(meta, train, valid))
            old_pre = jax.lax.stop_gradient(jax.vmap(
                lambda tr: self.policy.apply(self._pre_update_params(meta), tr.obs[0]))(train))
            return lambda m: self.promp_loss(m, train, valid, old_post, old_pre, post_returns)

        return MetaObjective(lambda m: self.meta_loss(m, train, valid, post_returns), adapted,
                             trust_region, clipped_loss)

    def step(self, state: MetaState, key: jax.Array) -> tuple[MetaState, dict[str, jax.Array]]:
        """Samples a meta-batch of tasks, adapts to each, and updates the meta-params with the
        outer rule."""
        train, valid, pre_returns, post_returns, adapted = self.sample_meta_batch(
            state.meta_params, key)
        objective = self.meta_objective(train, valid, post_returns, adapted)
        meta, opt_state, info = self.outer.update(objective, state.opt_state, state.meta_params)
        metrics = {"pre_return": jnp.mean(pre_returns[:, 0]),
                   "post_return": jnp.mean(post_returns), **info}
        return MetaState(meta["params"], meta["inner"], opt_state, state.iteration + 1), metrics

    # ----- meta-test (the MetaLearner protocol) -----

    def sample_tasks(self, key: jax.Array, num_tasks: int):
        return self.env.sample_tasks(key, num_tasks)

    def meta_test(self, meta, tasks, key: jax.Array, plan: MetaTestPlan) -> jax.Array:
        """Each task's mean episode return after 0..``plan.num_steps`` adaptation steps of
        ``plan.num_episodes`` fresh episodes each, step ``i`` with step size
        ``plan.step_sizes[i]`` (with Meta-SGD, ``step_size / inner_lr`` scales the learned
        step sizes): ``[tasks, num_steps + 1]``; ``meta`` is ``state.meta_params``."""

        def per_task(task, task_key):
            adapt_key, final_key = jax.random.split(task_key)
            adapted, _, returns = self.sample_and_adapt(
                meta, task, adapt_key, plan.num_steps, plan.num_episodes,
                plan.step_sizes / self.config.inner_lr)
            final = rollout(self.env, self.policy, adapted, task, final_key, plan.num_episodes,
                            self.horizon)
            return jnp.append(returns, jnp.mean(final.episode_returns))

        num_tasks = jax.tree.leaves(tasks)[0].shape[0]
        return jax.vmap(per_task)(tasks, jax.random.split(key, num_tasks))

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return describe_adaptation_test(protocol, inherited)


def maml(env: TaskEnvironment, policy: Policy, **config: Any) -> MAML:
    """``metajax.maml(env, policy, inner_lr=0.1, outer="trpo", ...)``: see :class:`MAMLConfig`."""
    return MAML(env, policy, MAMLConfig(**config))
