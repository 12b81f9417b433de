"""Return and advantage estimators for one episode (rlax style: vmap over episodes).

All take a ``valid`` mask (1.0 inside the episode); steps after the end contribute nothing.
The horizon end is treated as terminal (value 0 after the last step), the convention of
pytorch-maml-rl and rllab whose linear baseline has time features.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def discounted_returns(rewards: jax.Array, valid: jax.Array, gamma: float) -> jax.Array:
    """``G_t = sum_k gamma^k r_{t+k}`` over the valid steps, shape ``[T]``."""

    def backward(carry, inputs):
        reward, mask = inputs
        carry = reward * mask + gamma * carry * mask
        return carry, carry

    _, returns = jax.lax.scan(
        backward, jnp.zeros((), rewards.dtype), (rewards, valid), reverse=True
    )
    return returns


def gae_advantages(
    rewards: jax.Array, values: jax.Array, valid: jax.Array, gamma: float, gae_lambda: float
) -> jax.Array:
    """Generalised advantage estimation (Schulman et al. 2016), shape ``[T]``."""
    values = values * valid
    next_values = jnp.concatenate([values[1:], jnp.zeros_like(values[:1])])
    deltas = (rewards + gamma * next_values - values) * valid

    def backward(carry, inputs):
        delta, mask = inputs
        carry = delta + gamma * gae_lambda * carry * mask
        return carry, carry

    _, advantages = jax.lax.scan(
        backward, jnp.zeros((), rewards.dtype), (deltas, valid), reverse=True
    )
    return advantages * valid


def gae_with_dones(
    rewards: jax.Array, values: jax.Array, dones: jax.Array, last_value: jax.Array,
    gamma: float, gae_lambda: float
) -> jax.Array:
    """GAE over a ``[T]`` rollout fragment that may cross episode ends (PPO's convention):
    ``dones[t]`` says step ``t`` ended an episode (no bootstrap past it), and ``last_value``
    bootstraps the fragment's own end. Returns the advantages; targets are ``adv + values``."""
    not_done = 1.0 - dones.astype(rewards.dtype)
    next_values = jnp.concatenate([values[1:], jnp.reshape(last_value, (1,))])
    deltas = rewards + gamma * next_values * not_done - values

    def backward(carry, inputs):
        delta, mask = inputs
        carry = delta + gamma * gae_lambda * mask * carry
        return carry, carry

    _, advantages = jax.lax.scan(
        backward, jnp.zeros((), rewards.dtype), (deltas, not_done), reverse=True
    )
    return advantages


def normalize_advantages(advantages: jax.Array, eps: float = 1e-8) -> jax.Array:
    """Zero mean and unit standard deviation over every entry (PPO's minibatch
    normalisation); :func:`normalize` is the weighted form for ragged episode batches."""
    return (advantages - advantages.mean()) / (advantages.std() + eps)


# how a loss over a batch of ragged episodes averages its per-step terms
LOSS_WEIGHTINGS = ("episode", "step")


def loss_weights(valid: jax.Array, weighting: str) -> jax.Array:
    """Per-step weights of a ``[episodes, T]`` batch (any leading axes are episodes too) that
    sum to 1 over the valid steps, so a weighted sum is the batch's mean.

    ``"episode"``: the mean within each episode, then over episodes (pytorch-maml-rl's
    ``weighted_mean(x, lengths).mean()``): every episode counts the same however short.
    ``"step"``: the mean over all valid steps (the textbook estimator; rllab, ProMP).
    The two differ only when episodes end early."""
    if weighting == "step":
        return valid / jnp.maximum(jnp.sum(valid), 1.0)
    if weighting == "episode":
        lengths = jnp.maximum(jnp.sum(valid, axis=-1, keepdims=True), 1.0)
        return valid / lengths / (valid.size // valid.shape[-1])
    raise ValueError(f"loss weighting must be one of {', '.join(LOSS_WEIGHTINGS)}; "
                     f"got {weighting!r}")


def weighted_mean(x: jax.Array, weights: jax.Array) -> jax.Array:
    """``sum(x * weights)``: the mean of ``x`` under :func:`loss_weights`."""
    return jnp.sum(x * weights)


def normalize(x: jax.Array, weights: jax.Array, eps: float = 1e-8) -> jax.Array:
    """Zero mean and unit standard deviation of ``x`` under ``weights`` (non-negative, summing
    to 1, zero outside the valid entries, e.g. :func:`loss_weights`); invalid entries are 0.
    With per-episode weights this is pytorch-maml-rl's ``weighted_normalize``."""
    centered = (x - weighted_mean(x, weights)) * (weights > 0)
    std = jnp.sqrt(weighted_mean(centered**2, weights))
    return centered / (std + eps)
