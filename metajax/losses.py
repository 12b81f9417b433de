"""Policy-gradient losses for one task's batch (vmap over tasks)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from metajax.batch import Batch
from metajax.estimators import masked_mean
from metajax.networks import Policy


def vpg_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """REINFORCE with baseline: ``-mean_t log pi(a_t|s_t) A_t`` over the valid steps; the MAML
    inner objective."""
    log_prob = policy.log_prob(params, batch.obs, batch.action)
    return -masked_mean(log_prob * batch.advantage, batch.valid)


def surrogate_loss_and_kl(
    policy: Policy, params, batch: Batch, old_dist
) -> tuple[jax.Array, jax.Array]:
    """TRPO's importance-weighted surrogate ``-mean ratio * A`` and ``mean KL(pi || pi_old)``
    (the direction pytorch-maml-rl uses) over the valid steps."""
    dist = policy.apply(params, batch.obs)
    log_ratio = policy.distribution.log_prob(dist, batch.action) - policy.distribution.log_prob(
        old_dist, batch.action
    )
    loss = -masked_mean(jnp.exp(log_ratio) * batch.advantage, batch.valid)
    kl = masked_mean(policy.distribution.kl(dist, old_dist), batch.valid)
    return loss, kl
