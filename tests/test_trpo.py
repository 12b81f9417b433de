"""Conjugate gradient and the TRPO step on problems with known answers."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from conftest import tiny_algo
from metajax import optim


def test_conjugate_gradient_solves_spd_system():
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        m = rng.normal(size=(6, 6))
        a = jnp.asarray(m @ m.T + 6 * np.eye(6))
        b = jnp.asarray(rng.normal(size=6))
        x, iters, _ = jax.jit(lambda b: optim.conjugate_gradient(lambda v: a @ v, b, 6))(b)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-8)
        # fewer iterations than the dimension still reduce the residual, and the tracked
        # residual is b - A x (TRPO's step length uses it instead of another product)
        x3, iters3, r3 = optim.conjugate_gradient(lambda v: a @ v, b, 3)
        assert int(iters3) == 3 and int(iters) <= 6
        assert jnp.linalg.norm(a @ x3 - b) < jnp.linalg.norm(b)
        np.testing.assert_allclose(r3, b - a @ x3, rtol=1e-8, atol=1e-10)


def test_unrolled_conjugate_gradient_matches_the_loop():
    """``unroll=True`` returns the loop's values, also when CG converges early: on a
    3-dimensional system it stops after 3 iterations of 8, and the masked iterations after
    that (whose products are 0/0) leave x and the residual as they were."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        for n, iters in ((6, 4), (3, 8)):
            m = rng.normal(size=(n, n))
            a = jnp.asarray(m @ m.T + n * np.eye(n))
            b = jnp.asarray(rng.normal(size=n))
            solve = lambda unroll: jax.jit(lambda b: optim.conjugate_gradient(  # noqa: B023
                lambda v: a @ v, b, iters, residual_tol=1e-20, unroll=unroll))(b)
            (x, k, r), (xu, ku, ru) = solve(False), solve(True)
            assert int(k) == int(ku) == min(n, iters)
            np.testing.assert_allclose(xu, x, rtol=1e-12)
            np.testing.assert_allclose(ru, r, rtol=1e-10, atol=1e-14)
            assert np.all(np.isfinite(xu))


def _quadratic_problem():
    """loss(p) = g.p with KL(p) = 1/2 (p - p0)^T F (p - p0): the TRPO step is known in closed
    form: -sqrt(2 max_kl / g^T F^-1 g) F^-1 g."""
    f = jnp.diag(jnp.array([1.0, 4.0, 9.0]))
    g = jnp.array([1.0, -2.0, 0.5])
    p0 = {"w": jnp.array([0.3, 0.1, -0.2])}

    def loss_and_kl(p):
        d = p["w"] - p0["w"]
        return jnp.vdot(g, p["w"]), 0.5 * d @ f @ d

    fvp = lambda v: {"w": f @ v["w"]}
    return f, g, p0, loss_and_kl, fvp


def test_accepted_step_respects_max_kl_and_improves():
    with jax.enable_x64(True):
        f, g, p0, loss_and_kl, fvp = _quadratic_problem()
        step = jax.jit(lambda p: optim.trpo_step(p, loss_and_kl, fvp, 0.01, 10, 0.0, 15, 0.8))
        new, info = step(p0)
        assert bool(info.accepted)
        loss0, _ = loss_and_kl(p0)
        loss1, kl1 = loss_and_kl(new)
        assert loss1 < loss0 and kl1 <= 0.01
        # the full step's quadratic KL is max_kl, and the step is the closed-form one
        np.testing.assert_allclose(kl1, 0.01 * info.step_fraction**2, rtol=1e-6)
        fi_g = jnp.linalg.solve(f, g)
        full = -jnp.sqrt(2 * 0.01 / (g @ fi_g)) * fi_g
        np.testing.assert_allclose(new["w"] - p0["w"], info.step_fraction * full, rtol=1e-6)


def test_rejected_line_search_leaves_params_unchanged():
    with jax.enable_x64(True):
        _, _, p0, loss_and_kl, fvp = _quadratic_problem()
        # the measured KL of every candidate exceeds max_kl: nothing can be accepted
        too_far = lambda p: (loss_and_kl(p)[0], loss_and_kl(p)[1] + 1.0)
        new, info = optim.trpo_step(p0, too_far, fvp, 0.01, 10, 0.0, 5, 0.5)
        assert not bool(info.accepted) and int(info.line_search_steps) == 5
        np.testing.assert_array_equal(new["w"], p0["w"])
        np.testing.assert_array_equal(info.kl, 0.0)


def test_maml_trpo_step_respects_max_kl(algo):
    state = algo.init(jax.random.key(0))
    new_state, metrics = jax.jit(algo.step)(state, jax.random.key(1))
    assert float(metrics["kl"]) <= algo.config.max_kl
    if bool(metrics["accepted"]):
        assert float(metrics["loss_after"]) < float(metrics["loss_before"])
    assert int(new_state.iteration) == 1


def test_maml_step_is_the_same_with_cg_as_a_loop(algo):
    """``maml.cg_unroll=False`` (CG in a ``while_loop``) takes the default unrolled CG's
    meta-step."""
    looped = tiny_algo(cg_unroll=False)
    state = algo.init(jax.random.key(0))
    new, metrics = jax.jit(algo.step)(state, jax.random.key(1))
    new_looped, metrics_looped = jax.jit(looped.step)(state, jax.random.key(1))
    assert int(metrics["cg_iterations"]) == int(metrics_looped["cg_iterations"]) == 5
    chex.assert_trees_all_close(new_looped.meta_params, new.meta_params, rtol=1e-4, atol=1e-6)
