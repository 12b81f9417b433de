"""Action distributions as pure functions over their parameters (no objects cross ``jit``).

A distribution's parameters are a pytree (``{"mean", "log_std"}`` or ``{"logits"}``); each
function here is written for one step and broadcasts over leading axes.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

MIN_LOG_STD = jnp.log(1e-6)  # pytorch-maml-rl clamps sigma at 1e-6


class Distribution(Protocol):
    def sample(self, key: jax.Array, params) -> jax.Array: ...
    def noise(self, key: jax.Array, params): ...
    def sample_with_noise(self, params, noise) -> jax.Array: ...
    def log_prob(self, params, action: jax.Array) -> jax.Array: ...
    def kl(self, p, q) -> jax.Array: ...
    def entropy(self, params) -> jax.Array: ...


class DiagGaussian(NamedTuple):
    """Diagonal Gaussian over ``R^d`` with parameters ``{"mean": (..., d), "log_std": (..., d)}``."""

    def sample(self, key: jax.Array, params) -> jax.Array:
        return self.sample_with_noise(params, self.noise(key, params))

    def noise(self, key: jax.Array, params) -> jax.Array:
        """The standard normal draws a sample needs (``params`` may be shapes only), so a
        rollout can draw all its steps' at once, outside its time loop."""
        return jax.random.normal(key, params["mean"].shape, params["mean"].dtype)

    def sample_with_noise(self, params, noise: jax.Array) -> jax.Array:
        return params["mean"] + jnp.exp(_log_std(params)) * noise

    def log_prob(self, params, action: jax.Array) -> jax.Array:
        log_std = _log_std(params)
        z = (action - params["mean"]) * jnp.exp(-log_std)
        return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)

    def kl(self, p, q) -> jax.Array:
        """KL(p || q), summed over action dimensions."""
        log_sp, log_sq = _log_std(p), _log_std(q)
        var_ratio = jnp.exp(2 * (log_sp - log_sq))
        mean_term = ((p["mean"] - q["mean"]) * jnp.exp(-log_sq)) ** 2
        return jnp.sum(0.5 * (var_ratio + mean_term - 1) - (log_sp - log_sq), axis=-1)

    def entropy(self, params) -> jax.Array:
        return jnp.sum(_log_std(params) + 0.5 * jnp.log(2 * jnp.pi * jnp.e), axis=-1)


class Categorical(NamedTuple):
    """Categorical over ``{0..n-1}`` with parameters ``{"logits": (..., n)}``."""

    def sample(self, key: jax.Array, params) -> jax.Array:
        return jax.random.categorical(key, params["logits"])

    def noise(self, key: jax.Array, params) -> jax.Array:
        """The key itself: the draw depends on the logits (see :meth:`DiagGaussian.noise`)."""
        return key

    def sample_with_noise(self, params, noise: jax.Array) -> jax.Array:
        return self.sample(noise, params)

    def log_prob(self, params, action: jax.Array) -> jax.Array:
        log_p = jax.nn.log_softmax(params["logits"])
        return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), -1)[..., 0]

    def kl(self, p, q) -> jax.Array:
        log_p, log_q = jax.nn.log_softmax(p["logits"]), jax.nn.log_softmax(q["logits"])
        return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)

    def entropy(self, params) -> jax.Array:
        log_p = jax.nn.log_softmax(params["logits"])
        return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


def _log_std(params) -> jax.Array:
    log_std = jnp.broadcast_to(params["log_std"], params["mean"].shape)
    return jnp.maximum(log_std, MIN_LOG_STD)


def for_action_space(action_space) -> tuple[Distribution, int]:
    """The distribution over a gymnax action space and the number of its parameters' action
    dimensions: categorical over a ``Discrete`` space's ``n`` actions, or a diagonal Gaussian
    over a 1-D ``Box``; anything else is a ``ValueError``."""
    if isinstance(action_space, spaces.Discrete):
        return Categorical(), int(action_space.n)
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return DiagGaussian(), int(action_space.shape[0])
    raise ValueError(f"need a Discrete or 1-D Box action space, got {action_space}")
