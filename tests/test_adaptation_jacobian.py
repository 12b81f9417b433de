"""TRPO's Fisher-vector product through the adaptation, with the inner Hessian applied
symmetrically (metajax.adaptation_jacobian), against the generic linearise-and-transpose
product in float64 (which tests/test_maml_gradients.py checks against the exact KL Hessian),
for the inner rules, adaptation modes, estimators and task layouts."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import metajax
from conftest import tiny_algo
from metajax import optim, task_layout
from metajax.algorithms.post_adaptation import AUTODIFF
from metajax.envs.navigation import Navigation2D

RAGGED = {"goal_tolerance": 0.15}
CASES = [  # RAGGED: many episodes reach the goal early, so the loss weighting matters
    dict(),
    dict(inner_steps=2, env_kwargs=RAGGED),
    dict(inner_rule="meta_sgd", inner_steps=2),
    dict(inner_rule="adam", inner_steps=2),
    dict(adapt="head"),
    dict(first_order=True, inner_steps=2),
    dict(task_groups=2, env_kwargs=RAGGED, loss_weighting="step"),
    dict(num_tasks=4, task_chunk=2, inner_rule="meta_sgd", env_kwargs=RAGGED),
    dict(estimator="dice"),
]


def _fixed(algo):
    meta = jax.tree.map(lambda x: x.astype(jnp.float64), algo.init(jax.random.key(0)).meta_params)
    train, valid, *_ = jax.jit(algo.sample_meta_batch)(meta, jax.random.key(1))
    return meta, train, valid


def _check_against_generic(algo):
    meta, train, valid = _fixed(algo)
    if algo.env.goal_tolerance > 0.1:  # a ragged case: episodes of different lengths
        lengths = valid.valid.sum(-1)
        assert float(lengths.min()) < float(lengths.max())
    post = algo.post_adaptation(train, valid)
    outputs_fn = post.dist

    @jax.jit
    def both(v):
        outputs, fvp = post.fisher_vector_product(meta)
        generic = optim.gauss_newton_fvp(outputs_fn, post.kl_divergence(), meta)
        return outputs, fvp(v), generic(v)

    flat, unravel = ravel_pytree(meta)
    rng = np.random.default_rng(0)
    for _ in range(2):
        outputs, product, expected = both(unravel(jnp.asarray(rng.normal(size=flat.shape))))
        expected = ravel_pytree(expected)[0]
        np.testing.assert_allclose(ravel_pytree(product)[0], expected, rtol=1e-9,
                                   atol=1e-12 * float(jnp.abs(expected).max()))
    for a, b in zip(jax.tree.leaves(outputs), jax.tree.leaves(outputs_fn(meta))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("overrides", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                   c.items()) or "reference")
def test_symmetric_fvp_equals_generic(overrides):
    with jax.enable_x64(True):
        config = dict(num_tasks=2, num_episodes=3, inner_lr=0.5)
        _check_against_generic(tiny_algo(**{**config, **overrides}))


def test_autodiff_linearization_option_equals_generic():
    """The plain-autodiff linearisation, passed in as MAML's ``linearization`` option, gives
    the same products (a performance option, not a different algorithm)."""
    with jax.enable_x64(True):
        algo = tiny_algo(num_tasks=2, num_episodes=3, inner_lr=0.5, inner_steps=2,
                         inner_rule="meta_sgd")
        _check_against_generic(dataclasses.replace(algo, linearization=AUTODIFF))


def test_chunked_products_equal_one_vmap():
    """``task_chunk``'s products (re-linearised chunk by chunk, the Fisher product fused per
    task and summed over chunks) against one vmap over the same tasks, in float64."""
    with jax.enable_x64(True):
        config = dict(num_tasks=4, num_episodes=3, inner_lr=0.5, inner_steps=2)
        vmapped, chunked = tiny_algo(**config), tiny_algo(**config, task_chunk=2)
        meta, train, valid = _fixed(vmapped)
        flat, unravel = ravel_pytree(meta)
        v = unravel(jnp.asarray(np.random.default_rng(0).normal(size=flat.shape)))

        @jax.jit(static_argnums=0)
        def products(algo):
            post = algo.post_adaptation(train, valid)
            outputs, jvp, vjp = post.linearize(meta)
            fvp = post.fisher_product(meta, outputs, jvp, vjp)
            return outputs, jvp(v), vjp(outputs), fvp(v)

        for a, b in zip(jax.tree.leaves(products(chunked)), jax.tree.leaves(products(vmapped))):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * float(jnp.abs(b).max()))


def test_symmetric_fvp_with_cavia_context():
    with jax.enable_x64(True):
        env = Navigation2D(horizon=10)
        policy = metajax.make_policy("gaussian", (2,), env.action_space(), (8,), context_dim=3)
        _check_against_generic(metajax.maml(env, policy, num_tasks=2, num_episodes=3,
                                            inner_lr=0.5, adapt="context", inner_steps=2))


@pytest.mark.parametrize("overrides", [dict(inner_steps=2, exploration=True, task_groups=2),
                                       dict(task_chunk=1, inner_rule="meta_sgd")],
                         ids=["steps=2,exploration,groups", "task_chunk,meta_sgd"])
def test_surrogate_gradient_through_linearisation_equals_autodiff(overrides):
    with jax.enable_x64(True):
        algo = tiny_algo(num_tasks=2, num_episodes=3, inner_lr=0.5, **overrides)
        meta, train, valid = _fixed(algo)
        post_returns = jnp.array([-3.0, -1.0])

        @jax.jit
        def both(meta):
            explore = lambda m: algo.exploration_loss(m, train, post_returns)
            region = algo.post_adaptation(train, valid).trust_region(meta, explore)
            expected = jax.value_and_grad(lambda m: region.loss_and_kl(m)[0])(meta)
            return region.loss_and_grads, expected

        (loss, grads), (expected_loss, expected_grads) = both(meta)
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-12, atol=1e-15)  # loss ~0
        np.testing.assert_allclose(ravel_pytree(grads)[0], ravel_pytree(expected_grads)[0],
                                   rtol=1e-9, atol=1e-12)


def test_chunked_meta_test_equals_one_vmap(monkeypatch):
    """The meta-test runs in the layout's task chunks (bounded env batches, which MJX needs on
    a CPU) and gives every task the same returns as one vmap; 5 tasks do not divide into
    chunks of 2, so they run as one vmap."""
    from metajax.algorithms import maml as maml_module
    from metajax.meta_learner import MetaTestPlan

    chunks = []  # the chunk each meta-test traced with
    monkeypatch.setattr(maml_module, "map_tasks", lambda fn, *xs, chunk: chunks.append(chunk)
                        or task_layout.map_tasks(fn, *xs, chunk=chunk))
    with jax.enable_x64(True):
        config = dict(num_tasks=4, num_episodes=3, inner_lr=0.5)
        vmapped, chunked = tiny_algo(**config), tiny_algo(**config, task_chunk=2)
        meta = jax.tree.map(lambda x: x.astype(jnp.float64),
                            vmapped.init(jax.random.key(0)).meta_params)
        plan = MetaTestPlan.constant(2, 0.5, 3)
        for n in (4, 5):
            tasks = vmapped.env.sample_tasks(jax.random.key(1), n)
            a, b = (jax.jit(algo.meta_test)(meta, tasks, jax.random.key(2), plan)
                    for algo in (chunked, vmapped))
            assert a.shape == (n, 3)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    assert chunks == [2, 0, 0, 0]  # chunked 4 tasks; 5 tasks and the vmapped algo: one vmap
