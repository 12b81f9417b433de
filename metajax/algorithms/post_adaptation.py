"""Every task's adapted policy as a function of the meta-parameters, and TRPO's trust region
built on it.

:class:`PostAdaptationPolicy` holds one meta-iteration's data (the inner-loop batches and the
validation batch of every task) and how each task adapts. From one linearisation ``J`` of every
task's adapted policy outputs on its validation observations it builds TRPO's surrogate
gradient ``J^T dL/doutputs`` and Fisher-vector products ``J^T H_KL J v``
(:meth:`PostAdaptationPolicy.trust_region`, what :func:`metajax.algorithms.outer.trpo`
consumes). How a task's adaptation is linearised is a :class:`Linearization` option: by default
the inner Hessian applied symmetrically (:mod:`metajax.adaptation_jacobian`), or plain autodiff.
With ``layout.chunk`` nothing is kept between products: each re-linearises the tasks chunk by
chunk, so memory is bounded by a chunk.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from metajax import adaptation_jacobian, inner, optim, task_layout
from metajax.algorithms.outer import TrustRegion
from metajax.batch import Batch
from metajax.estimators import weighted_mean
from metajax.losses import surrogate_and_kl_of_dist
from metajax.networks import Policy

PyTree = Any


class Linearization(NamedTuple):
    """How one task's adaptation is linearised in the meta-params: ``linearize(loss_fn, rule,
    meta, batches, mask, first_order, reset_context) -> (adapted, lin)`` (``lin`` a pytree, so
    many tasks' come out of one vmap), ``jvp(lin, dmeta)`` and ``vjp(lin, cotangent)``."""

    linearize: Callable
    jvp: Callable[[Any, PyTree], PyTree]
    vjp: Callable[[Any, PyTree], PyTree]


def _autodiff_linearize(loss_fn, rule, meta, batches, mask, first_order=False,
                        reset_context=False):
    adapt = lambda m: inner.adapt(loss_fn, rule, m["inner"], m["params"], batches, mask,
                                  first_order, reset_context)
    adapted, jvp = jax.linearize(adapt, meta)
    return adapted, (jvp, jax.vjp(adapt, meta)[1])


# the inner Hessian applied in both directions (a faster program on XLA:CPU; the default)
SYMMETRIC = Linearization(adaptation_jacobian.linearize_adapt, adaptation_jacobian.adapt_jvp,
                          adaptation_jacobian.adapt_vjp)
# jax.linearize and jax.vjp of the whole adaptation (the transpose done by JAX)
AUTODIFF = Linearization(_autodiff_linearize, lambda lin, d: lin[0](d),
                         lambda lin, c: lin[1](c)[0])


@dataclasses.dataclass(frozen=True)
class TaskAdaptation:
    """How one task adapts from the meta-params ``{"params", "inner"}``: the inner loss, rule
    and mask, one step per batch along the leading axis of its batches."""

    loss_fn: Callable[[PyTree, Batch], jax.Array]
    rule: inner.InnerRule
    mask_mode: str  # what adapts: "all", "head" or "context" (see inner.adapt_mask)
    first_order: bool = False

    def __call__(self, meta, batches: Batch) -> PyTree:
        params = meta["params"]
        return inner.adapt(self.loss_fn, self.rule, meta["inner"], params, batches,
                           inner.adapt_mask(params, self.mask_mode), self.first_order,
                           reset_context=self.mask_mode == "context")

    def linearize(self, meta, batches: Batch, how: Linearization):
        return how.linearize(self.loss_fn, self.rule, meta, batches,
                             inner.adapt_mask(meta["params"], self.mask_mode), self.first_order,
                             self.mask_mode == "context")


@dataclasses.dataclass(frozen=True)
class PostAdaptationPolicy:
    """Every task's adapted policy on its validation observations, ``train`` ``[tasks, steps,
    ...]`` and ``valid`` ``[tasks, ...]`` held fixed, as a function of the meta-params."""

    policy: Policy
    adaptation: TaskAdaptation
    train: Batch
    valid: Batch
    layout: task_layout.TaskLayout = task_layout.TaskLayout()
    linearization: Linearization = SYMMETRIC

    @property
    def num_tasks(self) -> int:
        return jax.tree.leaves(self.valid)[0].shape[0]

    def dist(self, meta) -> PyTree:
        """The adapted policies' distribution parameters ``[tasks, ...]``."""
        apply = lambda tr, va: self.policy.apply(self.adaptation(meta, tr), va.obs)
        return self.layout.map(apply, self.train, self.valid)

    def surrogate(self, meta, old_dist) -> tuple[jax.Array, jax.Array]:
        """Mean over tasks of TRPO's surrogate loss and of ``KL(pi || old_dist)``."""
        def per_task(tr, va, old):
            dist = self.policy.apply(self.adaptation(meta, tr), va.obs)
            return surrogate_and_kl_of_dist(self.policy.distribution, dist, va, old)

        loss, kl = self.layout.map(per_task, self.train, self.valid, old_dist)
        return jnp.mean(loss), jnp.mean(kl)

    def _linearize_task(self, meta, train: Batch, valid: Batch):
        """One task's adapted policy outputs on ``valid`` and their linearisation in ``meta``:
        ``(outputs, (adaptation linearisation, policy jvp, policy vjp))``."""
        adapted, lin = self.adaptation.linearize(meta, train, self.linearization)
        apply = lambda p: self.policy.apply(p, valid.obs)
        out, policy_jvp = jax.linearize(apply, adapted)
        return out, (lin, policy_jvp, jax.vjp(apply, adapted)[1])

    def _task_jvp(self, linearization, dmeta):
        lin, policy_jvp, _ = linearization
        return policy_jvp(self.linearization.jvp(lin, dmeta))

    def _task_vjp(self, linearization, cotangent):
        lin, _, policy_vjp = linearization
        return self.linearization.vjp(lin, policy_vjp(cotangent)[0])

    def linearize(self, meta):
        """The adapted policies' outputs ``[tasks, ...]`` linearised at ``meta``: ``(outputs,
        jvp, vjp)`` with ``jvp(dmeta) = J dmeta`` and ``vjp(w) = J^T w``."""
        chunk, groups = self.layout.chunk, self.layout.groups
        linearize = lambda tr, va: self._linearize_task(meta, tr, va)[1]
        if chunk:
            return (self.dist(meta),
                    lambda v: self.layout.map(lambda tr, va: self._task_jvp(linearize(tr, va), v),
                                              self.train, self.valid),
                    lambda w: self.layout.sum(
                        lambda tr, va, w: self._task_vjp(linearize(tr, va), w),
                        self.train, self.valid, w))

        parts = self.layout.map_groups(lambda tr, va: self._linearize_task(meta, tr, va),
                                       self.train, self.valid)

        def jvp(v):
            return task_layout.join([jax.vmap(lambda lins: self._task_jvp(lins, v))(lins)
                                     for _, lins in parts])

        def vjp(w):
            grads = [jax.vmap(self._task_vjp)(lins, w_group) for (_, lins), w_group
                     in zip(parts, task_layout.split(w, groups))]
            return jax.tree.map(lambda *xs: sum(jnp.sum(x, 0) for x in xs), *grads)

        return task_layout.join([out for out, _ in parts]), jvp, vjp

    def fisher_product(self, meta, outputs, jvp, vjp):
        """``v -> F v``, the Hessian of the mean KL at ``meta``, as the Gauss-Newton product
        ``J^T H_KL J`` of :meth:`linearize`'s ``outputs`` (held fixed), ``jvp`` and ``vjp``.
        With ``layout.chunk`` the product is fused per task instead (``H_KL`` is block-diagonal
        over tasks): each chunk is linearised once per product and its ``J_t^T H_t J_t v``
        summed, its intermediates kept in cache."""
        if not self.layout.chunk:
            return optim.gauss_newton_product(outputs, jvp, vjp, self.kl_divergence())
        num_tasks = self.num_tasks

        def task_fvp(tr, va, old, v):  # this task's term of the mean KL's J^T H J v
            lins = self._linearize_task(meta, tr, va)[1]
            divergence = lambda old, new: self._task_kl(old, new, va) / num_tasks
            return optim.gauss_newton_product(old, functools.partial(self._task_jvp, lins),
                                              functools.partial(self._task_vjp, lins),
                                              divergence)(v)

        return lambda v: self.layout.sum(lambda *args: task_fvp(*args, v), self.train,
                                         self.valid, outputs)

    def fisher_vector_product(self, meta):
        """The adapted policies' outputs (held fixed) and ``v -> F v``; ``v`` and ``F v`` have
        the structure of ``meta`` (``{"params": ..., "inner": ...}``, ``"inner": ()`` under
        plain SGD)."""
        outputs, jvp, vjp = self.linearize(meta)
        outputs = jax.lax.stop_gradient(outputs)
        return outputs, self.fisher_product(meta, outputs, jvp, vjp)

    def surrogate_value_and_grad(self, meta, old_dist, vjp):
        """:meth:`surrogate`'s loss and its gradient at ``meta``, where the outputs are
        ``old_dist``: ``J^T dL/doutputs`` through the linearisation's ``vjp``, reusing the
        linearisation the Fisher-vector products use."""
        distribution = self.policy.distribution

        def of_outputs(outputs):
            loss = jax.vmap(lambda d, va, old: surrogate_and_kl_of_dist(
                distribution, d, va, old)[0])(outputs, self.valid, old_dist)
            return jnp.mean(loss)

        loss, output_grads = jax.value_and_grad(of_outputs)(old_dist)
        return loss, vjp(output_grads)

    def trust_region(self, meta, extra_loss: Callable[[PyTree], jax.Array]) -> TrustRegion:
        """TRPO's problem at ``meta`` (old policies: the adapted ones at ``meta``), the
        objective being the surrogate plus ``extra_loss(meta)`` (E-MAML's term)."""
        outputs, jvp, vjp = self.linearize(meta)
        old_dist = jax.lax.stop_gradient(outputs)
        fvp = self.fisher_product(meta, old_dist, jvp, vjp)

        def loss_and_kl(m):
            loss, kl = self.surrogate(m, old_dist)
            return loss + extra_loss(m), kl

        loss, grads = self.surrogate_value_and_grad(meta, old_dist, vjp)
        extra, extra_grads = jax.value_and_grad(extra_loss)(meta)
        return TrustRegion(loss_and_kl, fvp,
                           (loss + extra, jax.tree.map(jnp.add, grads, extra_grads)))

    def kl_divergence(self):
        """``(old, new) -> mean over tasks of the weighted mean KL(new || old)`` on ``valid``."""
        return lambda old, new: jnp.mean(jax.vmap(self._task_kl)(old, new, self.valid))

    def _task_kl(self, old, new, valid: Batch) -> jax.Array:
        """One task's mean ``KL(new || old)``, weighted per episode or per step as the
        surrogate is (``valid.weight``)."""
        return weighted_mean(self.policy.distribution.kl(new, old), valid.weight)
