"""Policy-gradient losses for one task's batch (vmap over tasks), and PPO's losses."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from metajax import baselines
from metajax.batch import Batch
from metajax.distributions import Distribution
from metajax.estimators import normalize, weighted_mean
from metajax.networks import Policy


def vpg_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """REINFORCE with baseline: ``-mean log pi(a_t|s_t) A_t`` over the valid steps, weighted
    per episode or per step as ``batch.weight`` says; the MAML inner objective."""
    log_prob = policy.log_prob(params, batch.obs, batch.action)
    return -weighted_mean(log_prob * batch.advantage, batch.weight)


def magic_box(x: jax.Array) -> jax.Array:
    """DiCE's operator (Foerster et al. 2018): evaluates to 1, and its derivative is
    ``magic_box(x) * dx``, so derivatives of any order see the sampling distribution."""
    return jnp.exp(x - jax.lax.stop_gradient(x))


def lvc_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """ProMP's low-variance curvature objective (Rothfuss et al. 2019):
    ``-mean pi/stop_grad(pi) A_t`` (weighted by ``batch.weight``). Its gradient is the VPG
    gradient; its Hessian adds the ``grad log pi grad log pi^T A`` term that plain VPG misses,
    without DiCE's variance."""
    log_prob = policy.log_prob(params, batch.obs, batch.action)
    return -weighted_mean(magic_box(log_prob) * batch.advantage, batch.weight)


def dice_loss(policy: Policy, params, batch: Batch) -> jax.Array:
    """DiCE with a baseline (Foerster et al. 2018; Mao et al. 2019), the raw form
    (``dice_form="raw"``): per episode
    ``sum_t gamma^t [box(sum_{k<=t} log pi_k) r_t + (1 - box(log pi_t)) b_t]``, negated and
    averaged over episodes. Unbiased derivatives of every order of the expected discounted
    return; raw rewards summed over the horizon, so its inner gradient is far larger than
    VPG's (over 600x on Navigation2D at initialisation) and needs its own ``inner_lr``. A sum
    over each episode's steps (the return), so every episode counts once under either loss
    weighting."""
    log_prob = policy.log_prob(params, batch.obs, batch.action) * batch.valid
    discount = batch.gamma ** jnp.arange(log_prob.shape[-1], dtype=log_prob.dtype)
    dependencies = jnp.cumsum(log_prob, axis=-1)
    per_step = discount * (magic_box(dependencies) * batch.reward
                           + (1.0 - magic_box(log_prob)) * batch.value) * batch.valid
    return -jnp.mean(jnp.sum(per_step, axis=-1))


def dice_adjusted_rewards(batch: Batch, normalize_advantages: bool = True) -> jax.Array:
    """ProMP's ``DiceSampleProcessor`` for one task's ``[episodes, T]`` batch: the discounted
    rewards ``gamma^t r_t`` less a cubic in ``t`` fitted to them over the valid steps (ProMP's
    ``LinearTimeBaseline``), standardised under ``batch.weight`` if ``normalize_advantages``;
    zero outside the episodes. Data, not differentiated."""
    valid = batch.valid
    discount = batch.gamma ** jnp.arange(valid.shape[-1], dtype=valid.dtype)
    discounted = discount * batch.reward * valid
    feats = baselines.time_features(valid)
    time_baseline = baselines.predict(baselines.fit(feats, discounted, valid), feats)
    adjusted = (discounted - time_baseline) * valid
    if normalize_advantages:
        adjusted = normalize(adjusted, batch.weight)
    return jax.lax.stop_gradient(adjusted)


def normalized_dice_loss(policy: Policy, params, batch: Batch,
                         normalize_advantages: bool = True) -> jax.Array:
    """DiCE as ProMP's ``dice_maml`` computes it (Rothfuss et al. 2019), the default
    (``dice_form="normalized"``): ``-sum_t w_t box(sum_{k<=t} log pi_k) A_t``, the mean over
    steps under ``batch.weight`` ``w`` of :func:`dice_adjusted_rewards` ``A``.

    It is :func:`dice_loss` on rewards ``E w_t A_t / gamma^t`` (``E`` episodes) with a zero
    baseline, so it keeps DiCE's derivatives of every order; with full-length episodes and
    ``A_t = (gamma^t r_t - c_t - mu) / sigma`` that is raw DiCE with the time baseline
    ``(c_t + mu) / gamma^t`` folded into the rewards, divided by ``T sigma``. A baseline of
    ``t`` alone adds nothing in expectation to any derivative, so this estimates the
    derivatives of the expected discounted return scaled by ``1 / (T sigma)``. Each
    ``log pi_k`` still carries the sum of the ``A_t`` after it, so the inner gradient is about
    30x VPG's on Navigation2D at initialisation (the raw form's over 600x)."""
    log_prob = policy.log_prob(params, batch.obs, batch.action) * batch.valid
    dependencies = jnp.cumsum(log_prob, axis=-1)
    adjusted = dice_adjusted_rewards(batch, normalize_advantages)
    return -weighted_mean(magic_box(dependencies) * adjusted, batch.weight)


def ppo_clip_loss(log_prob: jax.Array, old_log_prob: jax.Array, advantage: jax.Array,
                  clip_eps: float | jax.Array, weight: jax.Array | None = None) -> jax.Array:
    """PPO's clipped surrogate (Schulman et al. 2017), negated and averaged:
    ``-mean min(rho A, clip(rho, 1 - eps, 1 + eps) A)`` with ``rho = pi / pi_old`` (a
    weighted mean with ``weight``, as ProMP's objective over padded episodes is)."""
    ratio = jnp.exp(log_prob - old_log_prob)
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    objective = jnp.minimum(ratio * advantage, clipped * advantage)
    return -(jnp.mean(objective) if weight is None else weighted_mean(objective, weight))


def emaml_exploration_loss(policy: Policy, params, first_batches: Batch,
                           post_returns: jax.Array) -> jax.Array:
    """E-MAML's term (Al-Shedivat et al. 2018; Stadie et al. 2018): the score function of each
    task's first pre-update batch (``first_batches``, ``[tasks, ...]``, sampled by ``params``),
    ``magic_box(log pi)``, weighted by the task's post-adaptation return ``[tasks]``,
    normalised across tasks (log-probs averaged over steps, so its scale matches the VPG
    loss). Its gradient is that of the expected post-adaptation return through the pre-update
    sampling distribution, which MAML-RL drops."""
    log_prob = jax.vmap(lambda b: weighted_mean(
        policy.log_prob(params, b.obs, b.action), b.weight))(first_batches)
    uniform = jnp.full_like(post_returns, 1.0 / post_returns.size)
    weight = jax.lax.stop_gradient(normalize(post_returns, uniform))
    return -jnp.mean(magic_box(log_prob) * weight)


def clipped_value_loss(value: jax.Array, old_value: jax.Array, target: jax.Array,
                       clip_eps: float) -> jax.Array:
    """PPO's value loss with the update clipped around the old prediction (as in openai
    baselines and PureJaxRL): ``0.5 mean max((v - G)^2, (v_old + clip(v - v_old) - G)^2)``."""
    clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
    return 0.5 * jnp.mean(jnp.maximum((value - target) ** 2, (clipped - target) ** 2))


def huber_value_loss(value: jax.Array, target: jax.Array, delta: float = 1.0) -> jax.Array:
    """Unclipped Huber value loss, ``mean huber_delta(v - G)``: squared error within
    ``delta``, linear beyond it, so large return errors do not swamp the gradient."""
    error = jnp.abs(value - target)
    quadratic = jnp.minimum(error, delta)
    return jnp.mean(0.5 * quadratic**2 + delta * (error - quadratic))


def actor_critic_objective(policy_loss: jax.Array, value_loss: jax.Array, entropy: jax.Array,
                           vf_coef: float, ent_coef: float) -> tuple[jax.Array, dict]:
    """The loss PPO, A2C and RL^2 minimise, ``policy + vf_coef * value - ent_coef * entropy``,
    with its three parts as metrics."""
    total = policy_loss + vf_coef * value_loss - ent_coef * entropy
    return total, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}


ESTIMATORS = {"vpg": vpg_loss, "lvc": lvc_loss, "dice": dice_loss}
# DiCE's two forms: ProMP's per-step mean of normalised adjusted rewards, or the raw return
DICE_FORMS = ("normalized", "raw")


def surrogate_loss_and_kl(
    policy: Policy, params, batch: Batch, old_dist
) -> tuple[jax.Array, jax.Array]:
    """TRPO's importance-weighted surrogate ``-mean ratio * A`` and ``mean KL(pi || pi_old)``
    (the direction pytorch-maml-rl uses) over the valid steps, both weighted by
    ``batch.weight`` (per episode or per step)."""
    return surrogate_and_kl_of_dist(policy.distribution, policy.apply(params, batch.obs),
                                    batch, old_dist)


def surrogate_and_kl_of_dist(
    distribution: Distribution, dist, batch: Batch, old_dist
) -> tuple[jax.Array, jax.Array]:
    """:func:`surrogate_loss_and_kl` from the policy's distribution parameters ``dist`` on
    ``batch.obs`` (so a linearised policy can supply them)."""
    log_ratio = distribution.log_prob(dist, batch.action) - distribution.log_prob(
        old_dist, batch.action
    )
    loss = -weighted_mean(jnp.exp(log_ratio) * batch.advantage, batch.weight)
    kl = weighted_mean(distribution.kl(dist, old_dist), batch.weight)
    return loss, kl
