"""Action distributions against closed forms and Monte Carlo, under jit and without."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.distributions import Categorical, DiagGaussian
from metajax.envs.navigation import Navigation2D


VARIANTS = pytest.mark.parametrize("variant", [jax.jit, lambda f: f], ids=["jit", "nojit"])


@VARIANTS
def test_gaussian_log_prob_kl_entropy(variant):
    g = DiagGaussian()
    p = {"mean": jnp.array([0.3, -1.0]), "log_std": jnp.log(jnp.array([0.5, 2.0]))}
    q = {"mean": jnp.array([0.0, 0.5]), "log_std": jnp.log(jnp.array([1.0, 1.5]))}
    a = jnp.array([0.1, 0.2])
    expected = sum(-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
                   for x, m, s in zip([0.1, 0.2], [0.3, -1.0], [0.5, 2.0]))
    np.testing.assert_allclose(variant(g.log_prob)(p, a), expected, rtol=1e-5)
    kl = sum(np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
             for mp, sp, mq, sq in zip([0.3, -1.0], [0.5, 2.0], [0.0, 0.5], [1.0, 1.5]))
    np.testing.assert_allclose(variant(g.kl)(p, q), kl, rtol=1e-5)
    np.testing.assert_allclose(variant(g.kl)(p, p), 0.0, atol=1e-6)
    np.testing.assert_allclose(variant(g.entropy)(p),
                               np.sum(np.log([0.5, 2.0]) + 0.5 * np.log(2 * np.pi * np.e)),
                               rtol=1e-5)


def test_gaussian_samples_match_parameters():
    g = DiagGaussian()
    p = {"mean": jnp.array([0.3, -1.0]), "log_std": jnp.log(jnp.array([0.5, 2.0]))}
    samples = jax.vmap(lambda k: g.sample(k, p))(jax.random.split(jax.random.key(0), 20000))
    np.testing.assert_allclose(samples.mean(0), [0.3, -1.0], atol=0.04)
    np.testing.assert_allclose(samples.std(0), [0.5, 2.0], rtol=0.03)


@VARIANTS
def test_categorical_log_prob_kl_entropy_and_samples(variant):
    c = Categorical()
    p = {"logits": jnp.log(jnp.array([0.2, 0.5, 0.3]))}
    q = {"logits": jnp.log(jnp.array([0.4, 0.4, 0.2]))}
    np.testing.assert_allclose(variant(c.log_prob)(p, jnp.array(1)), np.log(0.5), rtol=1e-6)
    expected_kl = sum(a * np.log(a / b) for a, b in zip([0.2, 0.5, 0.3], [0.4, 0.4, 0.2]))
    np.testing.assert_allclose(variant(c.kl)(p, q), expected_kl, rtol=1e-5)
    np.testing.assert_allclose(variant(c.entropy)(p),
                               -sum(a * np.log(a) for a in [0.2, 0.5, 0.3]), rtol=1e-5)
    draws = jax.vmap(lambda k: c.sample(k, p))(jax.random.split(jax.random.key(0), 20000))
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.2, 0.5, 0.3],
                               atol=0.015)


def test_policies_shapes_and_action_space_checks():
    from gymnax.environments import spaces

    env = Navigation2D()
    gauss = metajax.make_policy("gaussian", (2,), env.action_space(), (16, 8), "relu", 0.5)
    params = gauss.init(jax.random.key(0))
    out = gauss.apply(params, jnp.zeros((5, 2)))
    assert out["mean"].shape == (5, 2)
    np.testing.assert_allclose(jnp.exp(out["log_std"]), 0.5, rtol=1e-6)
    assert params["MLP_0"]["Dense_0"]["kernel"].shape == (2, 16)
    cat = metajax.make_policy("categorical", (3,), spaces.Discrete(4), (8,))
    logits = cat.apply(cat.init(jax.random.key(0)), jnp.zeros((7, 3)))["logits"]
    assert logits.shape == (7, 4)
    with pytest.raises(ValueError, match="kind 'gaussian' needs a 1-D Box action space"):
        metajax.make_policy("gaussian", (3,), spaces.Discrete(4))
    with pytest.raises(ValueError, match="activation must be one of"):
        metajax.make_policy("gaussian", (2,), env.action_space(), activation="sigmoidal")
