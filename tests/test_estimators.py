"""Returns, GAE, normalisation and the linear feature baseline against NumPy references."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from metajax import baselines, estimators

rng = np.random.default_rng(0)


def numpy_returns(rewards, valid, gamma):
    out, g = np.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        g = valid[t] * (rewards[t] + gamma * g)
        out[t] = g
    return out


def numpy_gae(rewards, values, valid, gamma, lam):
    values = values * valid
    adv, gae = np.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(rewards) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        gae = valid[t] * (delta + gamma * lam * gae)
        adv[t] = gae
    return adv


def test_discounted_returns_match_loop():
    rewards = rng.normal(size=12).astype(np.float32)
    valid = np.array([1] * 9 + [0] * 3, np.float32)
    ours = jax.jit(estimators.discounted_returns, static_argnums=2)(rewards, valid, 0.9)
    np.testing.assert_allclose(ours, numpy_returns(rewards, valid, 0.9), rtol=1e-5, atol=1e-6)


def test_gae_matches_loop_and_lambda_one_is_returns_minus_values():
    rewards = rng.normal(size=15).astype(np.float32)
    values = rng.normal(size=15).astype(np.float32)
    valid = np.array([1] * 11 + [0] * 4, np.float32)
    for lam in (0.0, 0.95, 1.0):
        ours = estimators.gae_advantages(rewards, values, valid, 0.99, lam)
        np.testing.assert_allclose(ours, numpy_gae(rewards, values, valid, 0.99, lam),
                                   rtol=1e-4, atol=1e-5)
    ours = estimators.gae_advantages(rewards, values, valid, 0.99, 1.0)
    expected = (numpy_returns(rewards, valid, 0.99) - values) * valid
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_normalize_over_valid_entries():
    x = rng.normal(3.0, 2.0, size=(4, 10)).astype(np.float32)
    valid = (rng.random((4, 10)) > 0.3).astype(np.float32)
    out = np.asarray(estimators.normalize(x, estimators.loss_weights(valid, "step")))
    sel = out[valid == 1]
    np.testing.assert_allclose(sel.mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(sel.std(), 1.0, rtol=1e-4)
    assert np.all(out[valid == 0] == 0)


def test_linear_baseline_matches_numpy_least_squares():
    with jax.enable_x64(True):
        obs = rng.normal(size=(6, 20, 2))
        valid = np.ones((6, 20))
        valid[2, 15:] = 0
        returns = rng.normal(size=(6, 20))
        feats = baselines.features(jnp.asarray(obs), jnp.asarray(valid))
        weights = baselines.fit(feats, jnp.asarray(returns), jnp.asarray(valid), reg_coeff=0.0)
        t = np.broadcast_to(np.arange(20) / 100.0, (6, 20))[..., None]
        x = np.concatenate([obs, obs**2, t, t**2, t**3, np.ones((6, 20, 1))], -1)
        keep = valid.reshape(-1) == 1
        expected = np.linalg.lstsq(x.reshape(-1, 8)[keep], returns.reshape(-1)[keep],
                                   rcond=None)[0]
        np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(np.asarray(feats)[valid == 1], x[valid == 1])


def test_linear_baseline_escalates_ridge_and_falls_back_to_zero():
    with jax.enable_x64(True):
        feats = jnp.ones((2, 5, 3))
        valid = jnp.ones((2, 5))
        returns = jnp.arange(10.0).reshape(2, 5)
        # three identical columns: singular without ridge, the escalated ridge solves it
        weights = baselines.fit(feats, returns, valid, reg_coeff=0.0, max_escalations=0)
        assert not np.all(np.isfinite(weights)) or np.allclose(weights, 0)
        weights = baselines.fit(feats, returns, valid, reg_coeff=1e-5)
        np.testing.assert_allclose(jnp.sum(weights), 4.5, rtol=1e-4)
        nan_returns = returns.at[0, 0].set(jnp.nan)
        np.testing.assert_array_equal(baselines.fit(feats, nan_returns, valid), 0.0)


FITS_AT_ONCE = """
import jax, jax.numpy as jnp
from metajax import baselines
tasks, fits = 240, 8  # 8 independent batched fits: more than a small CPU's pool threads
keys = jax.random.split(jax.random.key(0), fits)
feats = [jax.random.normal(k, (tasks, 4, 25, 40)) for k in keys]
returns, valid = jnp.ones((tasks, 4, 25)), jnp.ones((tasks, 4, 25))
fit_all = jax.jit(lambda fs: sum(jnp.sum(jax.vmap(baselines.fit)(f, returns, valid))
                                 for f in fs))
for _ in range(40):
    jax.block_until_ready(fit_all(feats))
print("done")
"""


def test_independent_baseline_fits_in_one_program_do_not_hang():
    """Batched LAPACK solves running at once deadlock XLA:CPU (every pool thread waits for
    parts of its batch queued behind the others): with ``jnp.linalg.solve`` in ``fit`` this
    program hangs on a 2-core machine within a few calls."""
    result = subprocess.run([sys.executable, "-c", FITS_AT_ONCE], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("done")
