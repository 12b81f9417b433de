"""Differentiable inner-loop update rules in optax's shape, and the k-step adaptation built on
them, shared by every gradient-based meta-learner (RL and supervised).

An :class:`InnerRule` has three pure functions:
``init(params) -> meta`` (the rule's meta-learned hyperparameters, e.g. Meta-SGD's per-parameter
step sizes; ``()`` for plain SGD), ``reset(params, meta) -> state`` (per-adaptation state, e.g. an
optax optimiser state) and ``update(grads, state, params, meta) -> (params, state)``. Everything
is differentiable, so the meta-gradient flows through the inner updates and into ``meta``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

PyTree = Any


class InnerRule(NamedTuple):
    init: Callable[[PyTree], PyTree]
    reset: Callable[[PyTree, PyTree], PyTree]
    update: Callable[[PyTree, PyTree, PyTree, PyTree], tuple[PyTree, PyTree]]


def sgd(lr: float) -> InnerRule:
    """``params - lr * grads`` (MAML's inner step)."""
    return InnerRule(
        init=lambda params: (),
        reset=lambda params, meta: (),
        update=lambda g, state, p, meta: (jax.tree.map(lambda p, g: p - lr * g, p, g), state),
    )


def meta_sgd(init_lr: float) -> InnerRule:
    """Meta-SGD (Li et al. 2017): ``params - lrs * grads`` with a learned step size per
    parameter entry (``meta``, initialised to ``init_lr``), meta-learned with the params."""
    return InnerRule(
        init=lambda params: jax.tree.map(lambda p: jnp.full_like(p, init_lr), params),
        reset=lambda params, meta: (),
        update=lambda g, state, p, lrs: (jax.tree.map(lambda p, g, a: p - a * g, p, g, lrs),
                                         state),
    )


def from_optax(tx: optax.GradientTransformation) -> InnerRule:
    """Any optax rule used differentiably; its state starts fresh at each adaptation."""

    def update(grads, state, params, meta):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return InnerRule(init=lambda params: (), reset=lambda params, meta: tx.init(params),
                     update=update)


INNER_RULES = ("sgd", "meta_sgd", "adam", "momentum")


def make_inner_rule(name: str, lr: float) -> InnerRule:
    """``sgd``, ``meta_sgd`` (learned per-parameter lr, initialised to ``lr``), or the optax
    rules ``adam`` and ``momentum`` (0.9) used differentiably."""
    if name == "sgd":
        return sgd(lr)
    if name == "meta_sgd":
        return meta_sgd(lr)
    if name == "adam":
        return from_optax(optax.adam(lr))
    if name == "momentum":
        return from_optax(optax.sgd(lr, momentum=0.9))
    raise ValueError(f"inner_rule must be one of {', '.join(INNER_RULES)}; got {name!r}")


# ----- which parameters adapt -----

ADAPT_MODES = ("all", "head", "context")


def adapt_mask(params: PyTree, mode: str) -> PyTree:
    """Booleans per leaf: ``all`` (MAML), ``head`` (ANIL: everything outside the torso
    ``MLP_0``, i.e. the output layer and a policy's log-std) or ``context`` (CAVIA: only the
    ``context`` input vector)."""
    if mode not in ADAPT_MODES:
        raise ValueError(f"adapt must be one of {', '.join(ADAPT_MODES)}; got {mode!r}")
    if mode == "context" and "context" not in params:
        raise ValueError("adapt 'context' (CAVIA) needs a network with context_dim > 0")

    def leaf_mask(path, _):
        top = path[0].key
        if mode == "all":
            return top != "context"
        if mode == "head":
            return top not in ("MLP_0", "context")
        return top == "context"

    return jax.tree_util.tree_map_with_path(leaf_mask, params)


def inner_step(
    loss_fn: Callable[[PyTree, Any], jax.Array],
    rule: InnerRule,
    meta: PyTree,
    params: PyTree,
    state: PyTree,
    batch: Any,
    mask: PyTree,
    first_order: bool = False,
    scale: float | jax.Array = 1.0,
) -> tuple[PyTree, PyTree]:
    """One update of ``rule`` on ``loss_fn(params, batch)`` for the leaves where ``mask`` is
    True; ``first_order`` stops the gradient (FOMAML); ``scale`` multiplies the gradient (for
    SGD and Meta-SGD, a step-size multiplier)."""
    grads = jax.grad(loss_fn)(params, batch)
    if first_order:
        grads = jax.lax.stop_gradient(grads)
    return apply_update(rule, meta, grads, params, state, mask, scale)


def apply_update(
    rule: InnerRule,
    meta: PyTree,
    grads: PyTree,
    params: PyTree,
    state: PyTree,
    mask: PyTree,
    scale: float | jax.Array = 1.0,
) -> tuple[PyTree, PyTree]:
    """``rule``'s update from given gradients (times ``scale``) on the leaves where ``mask``
    is True: the part of :func:`inner_step` after the gradient."""
    grads = jax.tree.map(lambda g: scale * g, grads)
    new, state = rule.update(grads, state, params, meta)
    return jax.tree.map(lambda n, p, m: n if m else p, new, params, mask), state


def start(params: PyTree, mask: PyTree, reset_context: bool) -> PyTree:
    """The adaptation's starting point: CAVIA (``reset_context``) zeroes the adapted leaves."""
    if not reset_context:
        return params
    return jax.tree.map(lambda p, m: jnp.zeros_like(p) if m else p, params, mask)


def adapt(
    loss_fn: Callable[[PyTree, Any], jax.Array],
    rule: InnerRule,
    meta: PyTree,
    params: PyTree,
    batches: Any,
    mask: PyTree,
    first_order: bool = False,
    reset_context: bool = False,
) -> PyTree:
    """One :func:`inner_step` per batch along the leading axis of ``batches`` (a ``lax.scan``),
    from :func:`start`; differentiable in ``params`` and ``meta``."""
    params = start(params, mask, reset_context)

    def step(carry, batch):
        return inner_step(loss_fn, rule, meta, *carry, batch, mask, first_order), None

    return jax.lax.scan(step, (params, rule.reset(params, meta)), batches)[0][0]


def reptile_update(params: PyTree, adapted: PyTree, outer_lr: float | jax.Array) -> PyTree:
    """Reptile (Nichol et al. 2018): ``params + outer_lr * mean_tasks(adapted - params)``, with
    ``adapted`` carrying a leading task axis."""
    return jax.tree.map(lambda p, a: p + outer_lr * jnp.mean(a - p, axis=0), params, adapted)
