"""Turn one task's trajectories into a training batch: returns, linear baseline, GAE, and
advantage normalisation, the pipeline of pytorch-maml-rl's ``BatchEpisodes``."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from metajax import baselines, estimators
from metajax.rollouts import Trajectory


class Batch(NamedTuple):
    """What a policy-gradient loss needs; leading axes ``[..., episodes, T]``."""

    obs: jax.Array
    action: jax.Array
    advantage: jax.Array
    valid: jax.Array
    weight: jax.Array  # per-step loss weights summing to 1 (estimators.loss_weights)
    reward: jax.Array  # raw rewards (DiCE works on rewards, not advantages)
    value: jax.Array  # the baseline's prediction
    gamma: jax.Array  # the discount, a scalar carried with the data


def make_batch(
    trajectory: Trajectory,
    gamma: float,
    gae_lambda: float,
    normalize_advantages: bool = True,
    baseline_reg: float = 1e-5,
    loss_weighting: str = "episode",
) -> Batch:
    """Advantages for ONE task's ``[episodes, T]`` trajectories (vmap it over tasks), with the
    linear feature baseline fitted to this task's discounted returns (over all valid steps, as
    the reference does), and the per-step loss weights of ``loss_weighting`` (``"episode"`` or
    ``"step"``, :func:`metajax.estimators.loss_weights`) that every loss, KL and the advantage
    normalisation use.

    Args:
        trajectory: a :class:`~metajax.rollouts.Trajectory` of one task, every field
            ``[episodes, T, ...]`` (``obs [E, T, obs_dim]``, ``action [E, T, ...]``,
            ``reward``/``valid [E, T]``). Only ``obs``, ``action``, ``reward`` and ``valid``
            are read: episode ends are already in ``valid`` (1.0 up to and including an
            episode's last step), so ``terminated``/``truncated`` are not needed here.
        gamma: discount; gae_lambda: GAE's lambda (1.0: Monte-Carlo advantages).
        normalize_advantages: True by default (as pytorch-maml-rl): the advantages have zero
            mean and unit standard deviation under ``loss_weighting``.
        baseline_reg: ridge regularisation of the linear baseline.

    Returns:
        A :class:`Batch` with the same ``[episodes, T]`` leading axes (``gamma`` a scalar).
    """
    # in the rewards' precision (valid masks may be float32 under x64)
    weight = estimators.loss_weights(trajectory.valid.astype(trajectory.reward.dtype),
                                     loss_weighting)
    returns = jax.vmap(estimators.discounted_returns, in_axes=(0, 0, None))(
        trajectory.reward, trajectory.valid, gamma
    )
    feats = baselines.features(trajectory.obs, trajectory.valid)
    weights = baselines.fit(feats, returns, trajectory.valid, baseline_reg)
    values = baselines.predict(weights, feats)
    advantages = jax.vmap(estimators.gae_advantages, in_axes=(0, 0, 0, None, None))(
        trajectory.reward, values, trajectory.valid, gamma, gae_lambda
    )
    if normalize_advantages:
        advantages = estimators.normalize(advantages, weight)
    return Batch(trajectory.obs, trajectory.action, jax.lax.stop_gradient(advantages),
                 trajectory.valid, weight, trajectory.reward, jax.lax.stop_gradient(values),
                 jnp.asarray(gamma, trajectory.reward.dtype))
