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


def magic_box(x: jax.Array) -> jax.Array:
    """DiCE's operator (Foerster et al. 2018): evaluates to 1, and its derivative is
    ``magic_box(x) * dx``, so derivatives of any order see the sampling distribution."""
    return jnp.exp(x - jax.lax.stop_gradient(x))


def lvc_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """ProMP's low-variance curvature objective (Rothfuss et al. 2019):
    ``-mean_t pi/stop_grad(pi) A_t``. Its gradient is the VPG gradient; its Hessian adds the
    ``grad log pi grad log pi^T A`` term that plain VPG misses, without DiCE's variance."""
    log_prob = policy.log_prob(params, batch.obs, batch.action)
    return -masked_mean(magic_box(log_prob) * batch.advantage, batch.valid)


def dice_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """DiCE with a baseline (Foerster et al. 2018; Mao et al. 2019): per episode
    ``sum_t gamma^t [box(sum_{k<=t} log pi_k) r_t + (1 - box(log pi_t)) b_t]``, negated and
    averaged over episodes. Unbiased derivatives of every order of the expected discounted
    return; raw rewards, so its scale (and a good ``inner_lr``) differs from VPG's."""
    log_prob = policy.log_prob(params, batch.obs, batch.action) * batch.valid
    discount = batch.gamma ** jnp.arange(log_prob.shape[-1], dtype=log_prob.dtype)
    dependencies = jnp.cumsum(log_prob, axis=-1)
    per_step = discount * (magic_box(dependencies) * batch.reward
                           + (1.0 - magic_box(log_prob)) * batch.value) * batch.valid
    return -jnp.mean(jnp.sum(per_step, axis=-1))


ESTIMATORS = {"vpg": vpg_loss, "lvc": lvc_loss, "dice": dice_loss}


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
