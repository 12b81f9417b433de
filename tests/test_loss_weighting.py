"""Loss weighting on ragged episodes (some terminated early, some truncated at the horizon).

The per-episode losses are checked against a direct NumPy transcription of pytorch-maml-rl's
``weighted_mean`` / ``weighted_normalize`` (``maml_rl/utils/torch_utils.py``): tensors laid out
``[T, episodes]``, a list of episode lengths, a sum over each episode's steps divided by its
length, then ``.mean()`` over episodes. The per-step ones against a flat mean over valid steps.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

import metajax
from metajax import estimators
from metajax.batch import make_batch
from metajax.losses import lvc_loss, surrogate_loss_and_kl, vpg_loss
from metajax.rollouts import Trajectory

T, LENGTHS = 8, [8, 3, 8, 1, 5, 8]  # truncated at T, or terminated early
E = len(LENGTHS)


def ref_weighted_mean(tensor, lengths):
    """pytorch-maml-rl's ``weighted_mean``: ``[T, B]`` -> ``[B]``, zeroing steps past each
    episode's length, summed over time and divided by the length."""
    tensor = tensor.copy()
    for i, length in enumerate(lengths):
        tensor[length:, i] = 0.0
    return tensor.sum(0) / np.asarray(lengths, tensor.dtype)


def ref_weighted_normalize(tensor, lengths, epsilon=1e-8):
    """pytorch-maml-rl's ``weighted_normalize``."""
    out = tensor - ref_weighted_mean(tensor, lengths).mean()
    for i, length in enumerate(lengths):
        out[length:, i] = 0.0
    std = np.sqrt(ref_weighted_mean(out**2, lengths).mean())
    return out / (std + epsilon)


def step_mean(x, valid):
    return (x * valid).sum() / valid.sum()


@pytest.fixture(scope="module")
def ragged():
    """A ragged trajectory, a small Gaussian policy, and a second params for the ratio."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        valid = np.zeros((E, T))
        for i, length in enumerate(LENGTHS):
            valid[i, :length] = 1.0
        terminated = np.zeros((E, T), bool)
        truncated = np.zeros((E, T), bool)
        for i, length in enumerate(LENGTHS):
            (truncated if length == T else terminated)[i, length - 1] = True
        traj = Trajectory(obs=jnp.asarray(rng.normal(size=(E, T, 2))),
                          action=jnp.asarray(rng.normal(size=(E, T, 2))),
                          reward=jnp.asarray(rng.normal(size=(E, T)) * valid),
                          valid=jnp.asarray(valid), terminated=jnp.asarray(terminated),
                          truncated=jnp.asarray(truncated))
        policy = metajax.make_policy("gaussian", (2,), spaces.Box(-1.0, 1.0, (2,)), (8,))
        to64 = lambda p: jax.tree.map(lambda x: x.astype(jnp.float64), p)  # noqa: E731
        params = to64(policy.init(jax.random.key(0)))
        other = to64(policy.init(jax.random.key(1)))
    return traj, valid, policy, params, other


def test_normalised_advantages_are_the_reference_weighted_normalize(ragged):
    traj, valid, *_ = ragged
    with jax.enable_x64(True):
        raw = make_batch(traj, 0.99, 1.0, normalize_advantages=False).advantage
        per_episode = make_batch(traj, 0.99, 1.0, loss_weighting="episode").advantage
        per_step = make_batch(traj, 0.99, 1.0, loss_weighting="step").advantage
    raw = np.asarray(raw)
    expected = ref_weighted_normalize(raw.T, LENGTHS).T
    np.testing.assert_allclose(np.asarray(per_episode), expected, rtol=1e-10, atol=1e-12)
    centered = (raw - step_mean(raw, valid)) * valid
    expected_step = centered / (np.sqrt(step_mean(centered**2, valid)) + 1e-8)
    np.testing.assert_allclose(np.asarray(per_step), expected_step, rtol=1e-10, atol=1e-12)
    assert not np.allclose(np.asarray(per_episode), np.asarray(per_step))  # ragged: they differ


@pytest.mark.parametrize("weighting", ["episode", "step"])
def test_losses_surrogate_and_kl_match_the_reference(ragged, weighting):
    traj, valid, policy, params, other = ragged
    with jax.enable_x64(True):
        batch = make_batch(traj, 0.99, 1.0, loss_weighting=weighting)
        vpg = vpg_loss(policy, params, batch)
        lvc = lvc_loss(policy, params, batch)
        old = policy.apply(other, batch.obs)
        surrogate, kl = surrogate_loss_and_kl(policy, params, batch, old)
        log_prob = np.asarray(policy.log_prob(params, batch.obs, batch.action))
        old_log_prob = np.asarray(policy.distribution.log_prob(old, batch.action))
        kl_steps = np.asarray(policy.distribution.kl(policy.apply(params, batch.obs), old))
    adv = np.asarray(batch.advantage)
    if weighting == "episode":  # reference: -weighted_mean(x, lengths).mean()
        mean = lambda x: ref_weighted_mean(x.T, LENGTHS).mean()  # noqa: E731
    else:
        mean = lambda x: step_mean(x, valid)  # noqa: E731
    np.testing.assert_allclose(float(vpg), -mean(log_prob * adv), rtol=1e-10)
    np.testing.assert_allclose(float(lvc), -mean(adv), rtol=1e-10, atol=1e-12)  # box = 1
    ratio = np.exp(log_prob - old_log_prob)
    np.testing.assert_allclose(float(surrogate), -mean(ratio * adv), rtol=1e-10)
    np.testing.assert_allclose(float(kl), mean(kl_steps), rtol=1e-10)
    weights = np.asarray(estimators.loss_weights(jnp.asarray(valid), weighting))
    np.testing.assert_allclose(weights.sum(), 1.0)
    assert np.all(weights[valid == 0] == 0)


def test_unknown_weighting_is_refused():
    with pytest.raises(ValueError, match="episode, step"):
        estimators.loss_weights(jnp.ones((2, 3)), "trajectory")
    with pytest.raises(ValueError, match="loss_weighting"):
        metajax.MAMLConfig(loss_weighting="per_episode")
