"""DiCE's two forms (metajax.losses): ProMP's normalised per-step mean, the default for
``algo=dice``, against the raw return form, on a small hand-made ragged batch in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import metajax
from metajax.batch import Batch
from metajax.config import ConfigError, build_algorithm, load_config
from metajax.envs.navigation import Navigation2D
from metajax.estimators import loss_weights
from metajax.losses import dice_adjusted_rewards, dice_loss, normalized_dice_loss

E, T, GAMMA = 4, 6, 0.9


def _setup(lengths, weighting):
    """A Gaussian policy on Navigation2D's spaces and a batch of ``E`` episodes of the given
    lengths (``T`` steps at most) with random observations, actions and rewards."""
    env = Navigation2D()
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(), (5,), "tanh")
    params = jax.tree.map(lambda x: x.astype(jnp.float64), policy.init(jax.random.key(0)))
    rng = np.random.default_rng(0)
    valid = jnp.asarray(np.arange(T)[None, :] < np.asarray(lengths)[:, None], jnp.float64)
    obs = jnp.asarray(rng.normal(size=(E, T, 2))) * valid[..., None]
    action = jnp.asarray(rng.normal(size=(E, T, 2))) * valid[..., None]
    reward = jnp.asarray(rng.normal(-1.0, 0.5, size=(E, T))) * valid
    value = jnp.asarray(rng.normal(size=(E, T))) * valid
    batch = Batch(obs, action, jnp.zeros((E, T)), valid, loss_weights(valid, weighting),
                  reward, value, jnp.asarray(GAMMA))
    return policy, params, batch


def _value_grad_hvp(loss, params, direction):
    """The loss, its gradient and its Hessian times ``direction``, all flat."""
    grad = jax.grad(loss)
    _, hvp = jax.jvp(grad, (params,), (direction,))
    return loss(params), ravel_pytree(grad(params))[0], ravel_pytree(hvp)[0]


def _assert_same_derivatives(loss_a, loss_b, params):
    direction = jax.tree.map(lambda p: jnp.linspace(-1.0, 1.0, p.size).reshape(p.shape), params)
    for a, b in zip(_value_grad_hvp(loss_a, params, direction),
                    _value_grad_hvp(loss_b, params, direction)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _promp_adjusted_rewards(batch, normalize):
    """ProMP's DiceSampleProcessor in numpy: ``gamma^t r_t`` less its ridge fit (1e-5) on
    ``[t/100, (t/100)^2, (t/100)^3, 1]`` over the valid steps, then standardised under the
    loss weights; also the fitted baseline ``c``, mean ``mu`` and std ``sigma``."""
    valid, weight = np.asarray(batch.valid, bool), np.asarray(batch.weight)
    t = np.broadcast_to(np.arange(T) / 100.0, (E, T))
    discounted = GAMMA ** np.arange(T) * np.asarray(batch.reward)
    x = np.stack([t, t**2, t**3, np.ones_like(t)], axis=-1)[valid]
    coef = np.linalg.solve(x.T @ x + 1e-5 * np.eye(4), x.T @ discounted[valid])
    c = np.stack([t, t**2, t**3, np.ones_like(t)], axis=-1) @ coef
    adjusted = np.where(valid, discounted - c, 0.0)
    mu, sigma = 0.0, 1.0
    if normalize:
        mu = np.sum(weight * adjusted)
        sigma = np.sqrt(np.sum(weight * (adjusted - mu) ** 2)) + 1e-8
        adjusted = np.where(valid, (adjusted - mu) / sigma, 0.0)
    return adjusted, c, mu, sigma


@pytest.mark.parametrize("weighting", ["episode", "step"])
@pytest.mark.parametrize("normalize", [True, False])
def test_normalized_dice_is_raw_dice_on_weighted_adjusted_rewards(weighting, normalize):
    """On any batch (ragged here), for every params ``theta``,

        normalized(theta) = raw(theta; rewards r'_t = E w_t A_t / gamma^t, baseline b = 0)

    with ``w`` the loss weights (``batch.weight``) and ``A`` ProMP's adjusted rewards
    ``(gamma^t r_t - c_t - mu) / sigma`` (``c`` the cubic-in-time ridge fit, ``mu``, ``sigma``
    their weighted mean and std; ``mu = 0, sigma = 1`` without normalisation): the same function
    of ``theta``, so the value, gradient and Hessian-vector products agree."""
    with jax.enable_x64(True):
        policy, params, batch = _setup([6, 3, 5, 1], weighting)
        adjusted, *_ = _promp_adjusted_rewards(batch, normalize)
        np.testing.assert_allclose(dice_adjusted_rewards(batch, normalize), adjusted,
                                   rtol=1e-9, atol=1e-12)
        reward = E * batch.weight * adjusted / GAMMA ** jnp.arange(T)
        raw_batch = batch._replace(reward=reward, value=jnp.zeros_like(batch.value))
        _assert_same_derivatives(lambda p: normalized_dice_loss(policy, p, batch, normalize),
                                 lambda p: dice_loss(policy, p, raw_batch), params)


def test_normalized_dice_is_scaled_raw_dice_with_a_time_baseline():
    """With full-length episodes (``w_t = 1 / (E T)`` under either weighting), the normalised
    form is the raw DiCE of the same rewards with the time baseline folded in and no baseline
    term, divided by ``T sigma``:

        normalized(theta) = raw(theta; rewards r_t - (c_t + mu) / gamma^t, b = 0) / (T sigma)

    so both estimate the derivatives of the expected discounted return (a baseline of ``t``
    alone adds nothing to any of them in expectation), the normalised one scaled by
    ``1 / (T sigma)``."""
    with jax.enable_x64(True):
        policy, params, batch = _setup([T] * E, "episode")
        _, c, mu, sigma = _promp_adjusted_rewards(batch, True)
        reward = batch.reward - (c + mu) / GAMMA ** np.arange(T)
        raw_batch = batch._replace(reward=reward, value=jnp.zeros_like(batch.value))
        _assert_same_derivatives(lambda p: normalized_dice_loss(policy, p, batch),
                                 lambda p: dice_loss(policy, p, raw_batch) / (T * sigma), params)


def test_algo_dice_uses_the_normalized_form_and_refuses_unknown_forms():
    tiny = ["algo=dice", "policy.hidden_sizes=[5]"]
    config = load_config(None, tiny)
    assert (config.maml.estimator, config.maml.dice_form) == ("dice", "normalized")
    with jax.enable_x64(True):
        policy, params, batch = _setup([6, 3, 5, 1], "episode")
        for form, loss in (("normalized", normalized_dice_loss), ("raw", dice_loss)):
            algo = build_algorithm(load_config(None, tiny + [f"maml.dice_form={form}"]))
            np.testing.assert_allclose(
                ravel_pytree(jax.grad(algo._inner_loss)(params, batch))[0],
                ravel_pytree(jax.grad(loss, argnums=1)(policy, params, batch))[0], rtol=1e-10)
    with pytest.raises(ConfigError) as err:
        load_config(None, ["algo=dice", "maml.dice_form=sum"])
    assert str(err.value) == "maml.dice_form must be one of normalized, raw; got 'sum'"
