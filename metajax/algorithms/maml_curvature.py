"""TRPO's curvature for MAML-RL: the adapted policy linearised in the meta-parameters.

:class:`PostAdaptationCurvature` is a mixin of :class:`metajax.algorithms.maml.MAML` (it uses
its ``config``, ``policy``, ``rule``, ``_inner_loss``, ``map_tasks``, ``post_adaptation_dist``
and ``exploration_loss``). From one linearisation ``J`` of every task's adapted policy outputs
it builds TRPO's surrogate gradient ``J^T dL/doutputs`` and Fisher-vector products
``J^T H_KL J v``, with the inner Hessian applied symmetrically
(:mod:`metajax.adaptation_jacobian`). With ``task_chunk`` nothing is kept between products:
each re-linearises the tasks chunk by chunk, so memory is bounded by a chunk.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from metajax import inner, optim, task_layout
from metajax.adaptation_jacobian import adapt_jvp, adapt_vjp, linearize_adapt
from metajax.batch import Batch
from metajax.estimators import weighted_mean
from metajax.losses import surrogate_and_kl_of_dist


class PostAdaptationCurvature:
    """The post-adaptation linearisation, Fisher-vector products and surrogate gradient."""

    def linearize_post_adaptation(self, meta, train: Batch, valid: Batch):
        """The adapted policy's distribution parameters on every task's validation
        observations ``[tasks, ...]`` as functions of ``meta``, linearised at ``meta``:
        ``(outputs, jvp, vjp)`` with ``jvp(dmeta) = J dmeta`` and ``vjp(w) = J^T w``. TRPO
        builds its gradient and its Fisher-vector products (``J^T H_KL J``) from them.

        Each task's adaptation is linearised with :mod:`metajax.adaptation_jacobian`, which
        applies the inner Hessian in both directions instead of transposing it (the same
        products, a faster program; float64 tests check both against plain autodiff).
        With ``task_chunk`` nothing is kept between products, to keep memory bound by a
        chunk: each product re-linearises the tasks chunk by chunk."""
        c = self.config
        linearize = lambda tr, va: self._linearize_task(meta, tr, va)[1]
        if c.task_chunk:
            return (self.post_adaptation_dist(meta, train, valid),
                    lambda v: self.map_tasks(lambda tr, va: _task_jvp(linearize(tr, va), v),
                                             train, valid),
                    lambda w: task_layout.sum_tasks(
                        lambda tr, va, w: _task_vjp(linearize(tr, va), w), train, valid, w,
                        chunk=c.task_chunk))

        groups = task_layout.map_groups(lambda tr, va: self._linearize_task(meta, tr, va),
                                        train, valid, groups=c.task_groups)

        def jvp(v):
            return task_layout.join([jax.vmap(lambda lins: _task_jvp(lins, v))(lins)
                                     for _, lins in groups])

        def vjp(w):
            parts = [jax.vmap(_task_vjp)(lins, w_group) for (_, lins), w_group
                     in zip(groups, task_layout.split(w, c.task_groups))]
            return jax.tree.map(lambda *xs: sum(jnp.sum(x, 0) for x in xs), *parts)

        return task_layout.join([out for out, _ in groups]), jvp, vjp

    def _linearize_task(self, meta, train: Batch, valid: Batch):
        """One task's adapted policy outputs on ``valid`` and their linearisation in ``meta``:
        ``(outputs, (adaptation linearisation, policy jvp, policy vjp))``."""
        c = self.config
        mask = inner.adapt_mask(meta["params"], c.adapt)
        adapted, lin = linearize_adapt(self._inner_loss, self.rule, meta, train, mask,
                                       c.first_order, c.adapt == "context")
        apply = lambda p: self.policy.apply(p, valid.obs)
        out, policy_jvp = jax.linearize(apply, adapted)
        return out, (lin, policy_jvp, jax.vjp(apply, adapted)[1])

    def fisher_product(self, meta, train: Batch, valid: Batch, outputs, jvp, vjp):
        """``v -> F v``, the Hessian of the mean KL at ``meta`` (TRPO's curvature) as the
        Gauss-Newton product ``J^T H_KL J`` of :meth:`linearize_post_adaptation`'s ``outputs``
        (held fixed), ``jvp`` and ``vjp``. With ``task_chunk`` the product is fused per task
        instead (``H_KL`` is block-diagonal over tasks): each chunk is linearised once per
        product, its ``J_t^T H_t J_t v`` summed, and its intermediates stay in cache."""
        c = self.config
        if not c.task_chunk:
            return optim.gauss_newton_product(outputs, jvp, vjp, self.kl_divergence(valid))

        def task_fvp(tr, va, old, v):  # this task's term of the mean KL's J^T H J v
            lins = self._linearize_task(meta, tr, va)[1]
            divergence = lambda old, new: self._task_kl(old, new, va) / c.num_tasks
            return optim.gauss_newton_product(old, functools.partial(_task_jvp, lins),
                                              functools.partial(_task_vjp, lins), divergence)(v)

        return lambda v: task_layout.sum_tasks(lambda *args: task_fvp(*args, v), train, valid,
                                               outputs, chunk=c.task_chunk)

    def fisher_vector_product(self, meta, train: Batch, valid: Batch):
        """The adapted policy's distribution parameters ``[tasks, ...]`` (see
        :meth:`linearize_post_adaptation`) and ``v -> F v`` (:meth:`fisher_product`). ``v``
        has the structure of ``meta`` (``{"params": ..., "inner": ...}``, with ``"inner": ()``
        under plain SGD), as does ``F v``."""
        outputs, jvp, vjp = self.linearize_post_adaptation(meta, train, valid)
        outputs = jax.lax.stop_gradient(outputs)
        return outputs, self.fisher_product(meta, train, valid, outputs, jvp, vjp)

    def surrogate_value_and_grad(self, meta, train: Batch, valid: Batch, old_dist, vjp,
                                 post_returns=None):
        """The surrogate loss of :meth:`surrogate` and its gradient at ``meta``, where the
        adapted policy's outputs are ``old_dist``: ``J^T dL/doutputs`` through the
        linearisation's ``vjp`` (plus the E-MAML term's own gradient), reusing the
        linearisation the Fisher-vector products use instead of differentiating the
        adaptation once more."""
        distribution = self.policy.distribution

        def of_outputs(outputs):
            loss = jax.vmap(lambda d, va, old: surrogate_and_kl_of_dist(
                distribution, d, va, old)[0])(outputs, valid, old_dist)
            return jnp.mean(loss)

        loss, output_grads = jax.value_and_grad(of_outputs)(old_dist)
        exploration, exploration_grads = jax.value_and_grad(self.exploration_loss)(
            meta, train, post_returns)
        grads = jax.tree.map(jnp.add, vjp(output_grads), exploration_grads)
        return loss + exploration, grads

    def kl_divergence(self, valid: Batch):
        """``(old, new) -> mean over tasks of the weighted mean KL(new || old)`` on ``valid``."""
        return lambda old, new: jnp.mean(jax.vmap(self._task_kl)(old, new, valid))

    def _task_kl(self, old, new, valid: Batch) -> jax.Array:
        """One task's mean ``KL(new || old)`` over its validation samples, weighted per episode
        or per step as the surrogate is (``valid.weight``)."""
        return weighted_mean(self.policy.distribution.kl(new, old), valid.weight)


def _task_jvp(linearization, dmeta):
    """One task's ``J dmeta`` from :meth:`PostAdaptationCurvature._linearize_task`'s pieces."""
    lin, policy_jvp, _ = linearization
    return policy_jvp(adapt_jvp(lin, dmeta))


def _task_vjp(linearization, cotangent):
    """One task's ``J^T cotangent`` from the same pieces."""
    lin, _, policy_vjp = linearization
    return adapt_vjp(lin, policy_vjp(cotangent)[0])
