"""The MAML meta-gradient against central finite differences in float64, trajectories fixed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from conftest import tiny_algo
from metajax import optim
from metajax.losses import vpg_loss


def _sample_fixed(algo, seed=0):
    params = algo.init(jax.random.key(seed)).meta_params
    params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
    train, valid, *_ = algo.sample_meta_batch(params, jax.random.key(seed + 1))
    return params, train, valid


def _directional_fd(f, params, direction, eps=1e-5):
    flat, unravel = ravel_pytree(params)
    return (f(unravel(flat + eps * direction)) - f(unravel(flat - eps * direction))) / (2 * eps)


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_meta_gradient_matches_finite_differences(inner_steps):
    with jax.enable_x64(True):
        algo = tiny_algo(inner_steps=inner_steps, inner_lr=0.5, num_tasks=2, num_episodes=3)
        params, train, valid = _sample_fixed(algo)
        loss = jax.jit(lambda p: algo.meta_loss(p, train, valid))
        grad = ravel_pytree(jax.grad(loss)(params))[0]
        rng = np.random.default_rng(inner_steps)
        for _ in range(4):
            v = jnp.asarray(rng.normal(size=grad.shape))
            fd = _directional_fd(loss, params, v)
            np.testing.assert_allclose(jnp.vdot(grad, v), fd, rtol=1e-6, atol=1e-10)
        # the full second-order gradient differs from first order on this problem
        fo = tiny_algo(inner_steps=inner_steps, inner_lr=0.5, num_tasks=2, num_episodes=3,
                       first_order=True)
        fo_grad = ravel_pytree(jax.grad(lambda p: fo.meta_loss(p, train, valid))(params))[0]
        assert jnp.linalg.norm(grad - fo_grad) > 1e-3 * jnp.linalg.norm(grad)


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_fomaml_is_meta_gradient_with_inner_gradient_stopped(inner_steps):
    with jax.enable_x64(True):
        algo = tiny_algo(inner_steps=inner_steps, inner_lr=0.5, num_tasks=2, num_episodes=3,
                         first_order=True)
        params, train, valid = _sample_fixed(algo)
        fo_grad = jax.grad(lambda p: algo.meta_loss(p, train, valid))(params)

        # independent reference: with the inner gradient stopped, d(adapted)/d(params) = I,
        # so the gradient is the post-adaptation loss gradient at the adapted params
        def reference(task):
            tr, va = jax.tree.map(lambda x: x[task], (train, valid))
            adapted = params["params"]
            for k in range(inner_steps):
                b = jax.tree.map(lambda x: x[k], tr)
                g = jax.grad(vpg_loss, argnums=1)(algo.policy, adapted, b)
                adapted = jax.tree.map(lambda p, g: p - 0.5 * g, adapted, g)
            return jax.grad(vpg_loss, argnums=1)(algo.policy, adapted, va)

        expected = jax.tree.map(lambda a, b: (a + b) / 2, reference(0), reference(1))
        for a, b in zip(jax.tree.leaves(fo_grad["params"]), jax.tree.leaves(expected)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_trpo_surrogate_gradient_equals_meta_gradient():
    with jax.enable_x64(True):
        algo = tiny_algo(num_tasks=2, num_episodes=3)
        params, train, valid = _sample_fixed(algo)
        post = algo.post_adaptation(train, valid)
        old = jax.lax.stop_gradient(post.dist(params))
        g_sur = jax.grad(lambda p: post.surrogate(p, old)[0])(params)
        g_meta = jax.grad(lambda p: algo.meta_loss(p, train, valid))(params)
        for a, b in zip(jax.tree.leaves(g_sur), jax.tree.leaves(g_meta)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_gauss_newton_fvp_equals_exact_kl_hessian_through_adaptation():
    with jax.enable_x64(True):
        algo = tiny_algo(num_tasks=2, num_episodes=3, inner_lr=0.5)
        params, train, valid = _sample_fixed(algo)
        post = algo.post_adaptation(train, valid)
        old = jax.lax.stop_gradient(post.dist(params))
        kl = lambda p: post.surrogate(p, old)[1]
        fvp = optim.gauss_newton_fvp(post.dist, post.kl_divergence(), params)
        rng = np.random.default_rng(0)
        flat, unravel = ravel_pytree(params)
        for _ in range(3):
            v = unravel(jnp.asarray(rng.normal(size=flat.shape)))
            exact = ravel_pytree(optim.hessian_vector_product(kl, params, v))[0]
            np.testing.assert_allclose(ravel_pytree(fvp(v))[0], exact, rtol=1e-7, atol=1e-10)
