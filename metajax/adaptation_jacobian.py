"""The Jacobian of k-step inner adaptation with respect to the meta-parameters, as a forward
product and its transpose that both use the symmetry of the inner loss's Hessian.

Adaptation runs ``theta_k = U(g_k(theta_{k-1}), theta_{k-1}, s_{k-1}, meta)`` from
``(theta_0, s_0) = start(meta)``, where ``g_k`` is the inner loss's gradient on batch ``k``
and ``U`` the (masked) inner rule. Its tangent needs ``H_k dtheta``, a Hessian-vector product
of the inner loss. ``jax.linear_transpose`` of a linearised adaptation would transpose that
forward-over-reverse product mechanically, a different and (on XLA:CPU) slower program full
of layout transposes of per-sample arrays. ``H_k`` is symmetric, so here both directions use
the same linearised gradient per step, and only the parameter-sized rule ``U`` and ``start``
are transposed. Every piece is a pytree (``jax.linearize``'s and ``jax.vjp``'s functions),
so linearisations of many tasks come out of one ``vmap``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from metajax import inner

PyTree = Any


class StepLinearization(NamedTuple):
    hvp: Any  # dtheta -> H_k dtheta (a jax.linearize function); None when first-order
    update_jvp: Any  # (dg, dtheta, dstate, dmeta) -> (dtheta', dstate')
    update_vjp: Any  # its transpose


class AdaptationLinearization(NamedTuple):
    start_jvp: Any  # dmeta -> (dtheta_0, dstate_0)
    start_vjp: Any
    steps: tuple[StepLinearization, ...]
    final_state: PyTree  # the rule's state after the last step (for its zero cotangent)


def linearize_adapt(
    loss_fn: Callable[[PyTree, Any], jax.Array],
    rule: inner.InnerRule,
    meta: dict[str, PyTree],
    batches: Any,
    mask: PyTree,
    first_order: bool = False,
    reset_context: bool = False,
) -> tuple[PyTree, AdaptationLinearization]:
    """The adapted params of :func:`metajax.inner.adapt` from ``meta = {"params", "inner"}``
    (one step per batch along the leading axis of ``batches``), and the adaptation's
    linearisation at ``meta`` for :func:`adapt_jvp` and :func:`adapt_vjp`."""

    def start(meta):
        params = inner.start(meta["params"], mask, reset_context)
        return params, rule.reset(params, meta["inner"])

    (params, state), start_jvp = jax.linearize(start, meta)
    start_vjp = jax.vjp(start, meta)[1]

    def update(grads, params, state, meta):
        return inner.apply_update(rule, meta["inner"], grads, params, state, mask)

    steps = []
    for k in range(jax.tree.leaves(batches)[0].shape[0]):
        batch = jax.tree.map(lambda x: x[k], batches)
        grad_fn = lambda p: jax.grad(loss_fn)(p, batch)  # noqa: B023 (used at once)
        if first_order:
            grads, hvp = grad_fn(params), None
        else:
            grads, hvp = jax.linearize(grad_fn, params)
        args = (grads, params, state, meta)
        (params, state), update_jvp = jax.linearize(update, *args)
        steps.append(StepLinearization(hvp, update_jvp, jax.vjp(update, *args)[1]))
    return params, AdaptationLinearization(start_jvp, start_vjp, tuple(steps), state)


def adapt_jvp(lin: AdaptationLinearization, dmeta: PyTree) -> PyTree:
    """``J dmeta``: the adapted params' change for a change ``dmeta`` of the meta-params."""
    dparams, dstate = lin.start_jvp(dmeta)
    for step in lin.steps:
        dgrads = _zeros(dparams) if step.hvp is None else step.hvp(dparams)
        dparams, dstate = step.update_jvp(dgrads, dparams, dstate, dmeta)
    return dparams


def adapt_vjp(lin: AdaptationLinearization, cotangent: PyTree) -> PyTree:
    """``J^T cotangent``: the meta-params' cotangent for a cotangent of the adapted params;
    each step's Hessian is applied forwards (it is symmetric), never transposed."""
    dparams, dstate = cotangent, _zeros(lin.final_state)
    dmeta = None
    for step in reversed(lin.steps):
        dgrads, dparams, dstate, step_dmeta = step.update_vjp((dparams, dstate))
        if step.hvp is not None:
            dparams = jax.tree.map(jnp.add, dparams, step.hvp(dgrads))
        dmeta = step_dmeta if dmeta is None else _add(dmeta, step_dmeta)
    (start_dmeta,) = lin.start_vjp((dparams, dstate))
    return start_dmeta if dmeta is None else _add(dmeta, start_dmeta)


def _zeros(tree: PyTree) -> PyTree:
    """Zero tangents/cotangents for ``tree`` (``float0`` for integer leaves, as JAX wants)."""
    def zero(x):
        if jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.zeros_like(x)
        return np.zeros(x.shape, jax.dtypes.float0)
    return jax.tree.map(zero, tree)


def _add(a: PyTree, b: PyTree) -> PyTree:
    """Sum of two cotangent trees (``float0`` leaves stay zero)."""
    return jax.tree.map(lambda x, y: x if x.dtype == jax.dtypes.float0 else x + y, a, b)
