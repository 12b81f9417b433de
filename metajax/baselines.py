"""The linear feature baseline of rllab / pytorch-maml-rl, fitted in closed form per task.

Features ``[o, o^2, t/s, (t/s)^2, (t/s)^3, 1]`` with ``s = time_scale`` (100), ridge
regression on the discounted returns of the valid steps; the ridge coefficient starts at
``1e-5`` and is raised x10 up to 5 times when the solve is not finite.

The fit is a constant under differentiation (as in rllab and pytorch-maml-rl, which fit it on
detached data), and its solves run one matrix at a time (:func:`solve`): batched LAPACK calls
deadlock XLA:CPU when two of them run at once (:mod:`metajax.xla_cpu`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap


@custom_vmap
def solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a^-1 b`` for one square ``a [F, F]`` and ``b [F]`` (LAPACK's LU, as
    ``jnp.linalg.solve``), vmapped as a loop of single solves.

    Why: on XLA:CPU a batched LAPACK call splits its batch over the intra-op thread pool and
    waits for the parts from a thread of that pool. When as many batched calls run at once
    as the pool has threads (two independent baseline fits on a 2-core machine), every thread
    waits and the program hangs for good (jaxlib 0.10.2; reproduced: two batched
    ``jnp.linalg.solve`` in one jitted function hang within 10 calls on 2 cores, and so do
    two batched Cholesky solves). Single solves run inline. Forward-mode autodiff works;
    :func:`fit` stops gradients before it, since reverse mode does not go through a
    ``custom_vmap``."""
    return jnp.linalg.solve(a, b[:, None])[:, 0]


@solve.def_vmap
def _solve_one_at_a_time(axis_size: int, in_batched: list[bool], a: jax.Array, b: jax.Array):
    a, b = (x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)
            for x, batched in zip((a, b), in_batched))
    return jax.lax.map(lambda ab: solve(*ab), (a, b)), True


def time_features(valid: jax.Array, time_scale: float = 100.0) -> jax.Array:
    """The time part ``[t/s, (t/s)^2, (t/s)^3, 1]`` of the features, ``[E, T, 4]`` for
    ``valid [E, T]`` (zero outside the episodes); alone, ProMP's ``LinearTimeBaseline``."""
    t = jnp.broadcast_to(jnp.arange(valid.shape[-1], dtype=valid.dtype), valid.shape)
    t = (t * valid / time_scale)[..., None]
    return jnp.concatenate([t, t**2, t**3, valid[..., None]], axis=-1)


def features(obs: jax.Array, valid: jax.Array, time_scale: float = 100.0) -> jax.Array:
    """Features for episodes ``obs [E, T, d]`` and ``valid [E, T]``: ``[E, T, 2d + 4]``."""
    obs = obs.reshape(obs.shape[:2] + (-1,))
    time = time_features(valid.astype(obs.dtype), time_scale)
    return jnp.concatenate([obs, obs**2, time], axis=-1)


def fit(
    feats: jax.Array,
    returns: jax.Array,
    valid: jax.Array,
    reg_coeff: float = 1e-5,
    max_escalations: int = 5,
) -> jax.Array:
    """Ridge weights ``[F]`` from features ``[..., F]``, targets and mask ``[...]`` (constants
    under differentiation)."""
    feats, returns, valid = jax.lax.stop_gradient((feats, returns, valid))
    x = feats.reshape(-1, feats.shape[-1]) * valid.reshape(-1, 1)
    y = (returns * valid).reshape(-1)
    xtx, xty = x.T @ x, x.T @ y
    eye = jnp.eye(xtx.shape[0], dtype=xtx.dtype)
    regs = reg_coeff * 10.0 ** jnp.arange(max_escalations + 1, dtype=xtx.dtype)
    weights = jax.vmap(lambda reg: solve(xtx + reg * eye, xty))(regs)
    finite = jnp.all(jnp.isfinite(weights), axis=-1)
    # the smallest ridge whose solve is finite; if none is, zero weights (baseline off)
    chosen = jnp.argmax(finite)
    return jnp.where(finite[chosen], weights[chosen], jnp.zeros_like(weights[0]))


def predict(weights: jax.Array, feats: jax.Array) -> jax.Array:
    return feats @ weights
