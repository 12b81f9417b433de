"""Optimisation as pure functions: conjugate gradient, Gauss-Newton Fisher-vector products,
the TRPO step (CG on Fisher-vector products, max-KL scaling, backtracking line search) and
PPO's shuffled minibatch epochs, all traceable so a whole iteration compiles into one XLA
program."""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

PyTree = Any


class CGResult(NamedTuple):
    x: jax.Array
    iterations: jax.Array
    residual: jax.Array  # b - A x, as CG's recurrence tracks it (no extra product)


def conjugate_gradient(
    matvec: Callable[[jax.Array], jax.Array],
    b: jax.Array,
    max_iters: int,
    residual_tol: float = 1e-10,
    unroll: bool = False,
) -> CGResult:
    """Approximately solves ``A x = b`` for symmetric positive-definite ``A`` given as
    ``matvec``; stops after ``max_iters`` or when ``|r|^2 < residual_tol``. Returns ``x``,
    the number of iterations run and the residual ``b - A x``.

    ``unroll=True`` writes the ``max_iters`` iterations as straight-line code instead of a
    ``while_loop``; iterations after convergence still run ``matvec`` but leave the result
    unchanged, so both forms return the same values. XLA:CPU runs a large ``matvec`` (a MAML
    Fisher-vector product) 10-20% slower inside a loop body than at the top level of a
    program; unrolling costs compile time in proportion to ``max_iters``."""

    def iteration(carry):
        i, x, r, p, rr = carry
        ap = matvec(p)
        alpha = rr / jnp.vdot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = jnp.vdot(r, r)
        p = r + (rr_new / rr) * p
        return i + 1, x, r, p, rr_new

    def running(carry):
        i, _, _, _, rr = carry
        return (i < max_iters) & (rr > residual_tol)

    carry = (jnp.zeros((), jnp.int32), jnp.zeros_like(b), b, b, jnp.vdot(b, b))
    if unroll:
        for _ in range(max_iters):
            carry = jax.tree.map(functools.partial(jnp.where, running(carry)),
                                 iteration(carry), carry)
    else:
        carry = jax.lax.while_loop(running, iteration, carry)
    iterations, x, r, _, _ = carry
    return CGResult(x, iterations, r)


def gauss_newton_fvp(
    outputs_fn: Callable[[PyTree], PyTree],
    divergence: Callable[[PyTree, PyTree], jax.Array],
    params: PyTree,
) -> Callable[[PyTree], PyTree]:
    """Hessian-vector product of ``theta -> divergence(outputs(theta0), outputs(theta))`` at
    ``theta0 = params``, as the Gauss-Newton product ``J^T H J``.

    It is exact there because the divergence's gradient in the outputs vanishes at
    ``theta0``. ``outputs_fn`` is linearised once, so each product costs one jvp and one
    transposed jvp through it (the MAML adaptation included), never a third-order term.
    """
    outputs, jvp_fn = jax.linearize(outputs_fn, params)
    vjp_fn = jax.linear_transpose(jvp_fn, params)
    return gauss_newton_product(jax.lax.stop_gradient(outputs), jvp_fn,
                                lambda w: vjp_fn(w)[0], divergence)


def gauss_newton_product(
    outputs: PyTree,
    jvp_fn: Callable[[PyTree], PyTree],
    vjp_fn: Callable[[PyTree], PyTree],
    divergence: Callable[[PyTree, PyTree], jax.Array],
) -> Callable[[PyTree], PyTree]:
    """``v -> J^T H J v`` with ``J`` given as its product ``jvp_fn`` and transpose ``vjp_fn``,
    and ``H`` the Hessian of ``o -> divergence(outputs, o)`` at ``outputs``."""
    div_grad = jax.grad(lambda o: divergence(outputs, o))

    def fvp(v: PyTree) -> PyTree:
        return vjp_fn(jax.jvp(div_grad, (outputs,), (jvp_fn(v),))[1])

    return fvp


def hessian_vector_product(f: Callable[[PyTree], jax.Array], params: PyTree, v: PyTree) -> PyTree:
    """Exact ``(d^2 f / d params^2) v`` by forward-over-reverse differentiation."""
    return jax.jvp(jax.grad(f), (params,), (v,))[1]


class TRPOInfo(NamedTuple):
    loss_before: jax.Array
    loss_after: jax.Array
    kl: jax.Array
    step_fraction: jax.Array
    accepted: jax.Array
    line_search_steps: jax.Array
    cg_iterations: jax.Array
    grad_norm: jax.Array


def trpo_step(
    params: PyTree,
    loss_and_kl: Callable[[PyTree], tuple[jax.Array, jax.Array]],
    fvp: Callable[[PyTree], PyTree],
    max_kl: float,
    cg_iters: int,
    cg_damping: float,
    ls_max_steps: int,
    ls_backtrack_ratio: float,
    loss_and_grads: tuple[jax.Array, PyTree] | None = None,
    cg_unroll: bool = False,
) -> tuple[PyTree, TRPOInfo]:
    """One TRPO update minimising ``loss`` subject to ``kl <= max_kl`` (Schulman et al. 2015).

    ``loss_and_kl(params)`` returns the surrogate loss and the mean KL to the current policy;
    ``fvp`` is the KL Hessian-vector product at ``params``. The natural-gradient direction
    from CG is scaled so its quadratic KL equals ``max_kl``, then shrunk by
    ``ls_backtrack_ratio`` until the loss improves and the KL bound holds (a ``while_loop``
    that stops at the first accepted step). If none is accepted, ``params`` are returned.
    ``loss_and_grads``, the loss and its gradient at ``params`` when the caller has a cheaper
    way to them, replaces differentiating ``loss_and_kl``. ``cg_unroll``: see
    :func:`conjugate_gradient`.
    """
    flat, unravel = ravel_pytree(params)
    if loss_and_grads is None:
        loss_and_grads = jax.value_and_grad(lambda p: loss_and_kl(p)[0])(params)
    loss_before, grads = loss_and_grads
    g = ravel_pytree(grads)[0]

    def flat_fvp(v):
        return ravel_pytree(fvp(unravel(v)))[0] + cg_damping * v

    direction, cg_iterations, residual = conjugate_gradient(flat_fvp, g, cg_iters,
                                                            unroll=cg_unroll)
    # the quadratic KL of the direction, d^T A d = d^T (g - r): no further Fisher product
    shs = 0.5 * jnp.vdot(direction, g - residual)
    step = direction * jnp.sqrt(max_kl / jnp.maximum(shs, 1e-20))

    def evaluate(fraction):
        loss, kl = loss_and_kl(unravel(flat - fraction * step))
        ok = (loss < loss_before) & (kl < max_kl) & jnp.isfinite(loss) & jnp.isfinite(kl)
        return loss, kl, ok

    def cond(carry):
        i, _, _, _, accepted = carry
        return (i < ls_max_steps) & ~accepted

    def body(carry):
        i, fraction, _, _, _ = carry
        loss, kl, ok = evaluate(fraction)
        fraction = jnp.where(ok, fraction, fraction * ls_backtrack_ratio)
        return i + 1, fraction, loss, kl, ok

    zero = jnp.zeros((), flat.dtype)
    steps, fraction, loss, kl, accepted = jax.lax.while_loop(
        cond, body, (0, jnp.ones((), flat.dtype), loss_before, zero, jnp.array(False))
    )
    new_flat = jnp.where(accepted, flat - fraction * step, flat)
    info = TRPOInfo(
        loss_before=loss_before,
        loss_after=jnp.where(accepted, loss, loss_before),
        kl=jnp.where(accepted, kl, zero),
        step_fraction=jnp.where(accepted, fraction, zero),
        accepted=accepted,
        line_search_steps=steps,
        cg_iterations=cg_iterations,
        grad_norm=jnp.linalg.norm(g),
    )
    return unravel(new_flat), info


def ppo_optimizer(lr: float, max_grad_norm: float, anneal_steps: int | None = None
                  ) -> optax.GradientTransformation:
    """Adam (eps 1e-5) after global-norm clipping, as PPO implementations use
    (``max_grad_norm=0``: no clipping); the step size decays linearly to zero over
    ``anneal_steps`` optimiser steps when given."""
    schedule = lr if anneal_steps is None else optax.linear_schedule(lr, 0.0, anneal_steps)
    adam = optax.adam(schedule, eps=1e-5)
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), adam) if max_grad_norm else adam


def minibatch_epochs(loss_and_grad: Callable, optimizer: optax.GradientTransformation,
                     params: PyTree, opt_state: PyTree, data: PyTree, key: jax.Array,
                     epochs: int, minibatches: int) -> tuple[PyTree, PyTree, PyTree]:
    """``epochs`` passes over ``data`` (a tuple of arrays sharing a leading axis), each
    shuffled and split into ``minibatches`` optimiser steps of
    ``loss_and_grad(params, *minibatch) -> ((loss, info), grads)`` (PPO's update). Returns
    the params, the optimiser state and the ``info`` of every step ``[epochs, minibatches]``."""
    size = jax.tree.leaves(data)[0].shape[0]

    def minibatch_step(carry, minibatch):
        params, opt_state = carry
        (_, info), grads = loss_and_grad(params, *minibatch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), info

    def epoch(carry, epoch_key):
        perm = jax.random.permutation(epoch_key, size)
        shuffled = jax.tree.map(lambda x: x[perm].reshape((minibatches, -1) + x.shape[1:]), data)
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), info = jax.lax.scan(epoch, (params, opt_state),
                                             jax.random.split(key, epochs))
    return params, opt_state, info
