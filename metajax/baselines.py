"""The linear feature baseline of rllab / pytorch-maml-rl, fitted in closed form per task.

Features ``[o, o^2, t/s, (t/s)^2, (t/s)^3, 1]`` with ``s = time_scale`` (100), ridge
regression on the discounted returns of the valid steps; the ridge coefficient starts at
``1e-5`` and is raised x10 up to 5 times when the solve is not finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
    """Ridge weights ``[F]`` from features ``[..., F]``, targets and mask ``[...]``."""
    x = feats.reshape(-1, feats.shape[-1]) * valid.reshape(-1, 1)
    y = (returns * valid).reshape(-1)
    xtx, xty = x.T @ x, x.T @ y
    eye = jnp.eye(xtx.shape[0], dtype=xtx.dtype)
    regs = reg_coeff * 10.0 ** jnp.arange(max_escalations + 1, dtype=xtx.dtype)
    weights = jax.vmap(lambda reg: jnp.linalg.solve(xtx + reg * eye, xty))(regs)
    finite = jnp.all(jnp.isfinite(weights), axis=-1)
    # the smallest ridge whose solve is finite; if none is, zero weights (baseline off)
    chosen = jnp.argmax(finite)
    return jnp.where(finite[chosen], weights[chosen], jnp.zeros_like(weights[0]))


def predict(weights: jax.Array, feats: jax.Array) -> jax.Array:
    return feats @ weights
