"""The MAML family on one core: Meta-SGD, Reptile, ANIL, CAVIA; each traces once."""

import jax
import jax.numpy as jnp
import numpy as np

from conftest import tiny_algo
from metajax import inner
from metajax.config import build_algorithm, load_config


def _leaves_equal(a, b):
    return all(bool(jnp.all(x == y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_meta_sgd_with_frozen_step_sizes_equals_maml():
    with jax.enable_x64(True):
        maml = tiny_algo(inner_lr=0.3, num_tasks=2, num_episodes=3)
        metasgd = tiny_algo(inner_lr=0.3, num_tasks=2, num_episodes=3, inner_rule="meta_sgd")
        params = metasgd.init(jax.random.key(0)).params
        params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
        meta = {"params": params, "inner": metasgd.adaptation.rule.init(params)}
        # the learned step sizes start at inner_lr: every entry 0.3
        assert all(bool(jnp.all(x == 0.3)) for x in jax.tree.leaves(meta["inner"]))
        train, valid, *_ = maml.sample_meta_batch({"params": meta["params"], "inner": ()},
                                                  jax.random.key(1))
        loss_m, grad_m = jax.value_and_grad(maml.meta_loss)(
            {"params": meta["params"], "inner": ()}, train, valid)
        loss_s, grad_s = jax.value_and_grad(metasgd.meta_loss)(meta, train, valid)
        np.testing.assert_allclose(loss_s, loss_m, rtol=1e-12)
        for a, b in zip(jax.tree.leaves(grad_s["params"]), jax.tree.leaves(grad_m["params"])):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        # and the step sizes get a meta-gradient of their own
        assert any(bool(jnp.any(g != 0)) for g in jax.tree.leaves(grad_s["inner"]))


def test_reptile_update_matches_formula_on_a_quadratic():
    centers = jnp.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0]])
    params = {"w": jnp.array([0.2, 0.1])}
    lr, k, eps = 0.3, 4, 0.5
    loss = lambda p, c: 0.5 * jnp.sum((p["w"] - c) ** 2)
    mask = {"w": True}
    adapted = jax.vmap(lambda c: inner.adapt(loss, inner.sgd(lr), (), params,
                                             jnp.broadcast_to(c, (k, 2)), mask))(centers)
    # gradient descent on 1/2 |w - c|^2: w_k = c + (1 - lr)^k (w_0 - c)
    expected_adapted = centers + (1 - lr) ** k * (params["w"] - centers)
    np.testing.assert_allclose(adapted["w"], expected_adapted, rtol=1e-6)
    new = inner.reptile_update(params, adapted, eps)
    expected = params["w"] + eps * jnp.mean(expected_adapted - params["w"], axis=0)
    np.testing.assert_allclose(new["w"], expected, rtol=1e-6)


def test_anil_adapts_only_the_head():
    algo = tiny_algo(adapt="head")
    meta = algo.init(jax.random.key(0)).meta_params
    train, *_ = algo.sample_meta_batch(meta, jax.random.key(1))
    adapted = algo.adapt_on_batches(meta, jax.tree.map(lambda x: x[0], train))
    assert _leaves_equal(adapted["MLP_0"], meta["params"]["MLP_0"])
    assert not _leaves_equal(adapted["Dense_0"], meta["params"]["Dense_0"])


def test_cavia_adapts_only_the_context_from_zero():
    import metajax
    from metajax.envs.navigation import Navigation2D

    env = Navigation2D(horizon=10)
    policy = metajax.make_policy("gaussian", (2,), env.action_space(), (8,), context_dim=3)
    algo = metajax.maml(env, policy, num_tasks=2, num_episodes=4, adapt="context")
    meta = algo.init(jax.random.key(0)).meta_params
    np.testing.assert_array_equal(meta["params"]["context"], 0.0)
    train, *_ = algo.sample_meta_batch(meta, jax.random.key(1))
    adapted = algo.adapt_on_batches(meta, jax.tree.map(lambda x: x[0], train))
    network = lambda p: {k: v for k, v in p.items() if k != "context"}
    assert _leaves_equal(network(adapted), network(meta["params"]))
    assert bool(jnp.any(adapted["context"] != 0))
    # the context starts from zero at every adaptation, whatever the stored value
    shifted = {"params": {**meta["params"], "context": jnp.ones(3)}, "inner": ()}
    again = algo.adapt_on_batches(shifted, jax.tree.map(lambda x: x[0], train))
    np.testing.assert_allclose(again["context"], adapted["context"], rtol=1e-6)


# every algorithm of the family steps, traces once and learns: tests/test_meta_learner.py


def test_reptile_takes_several_inner_steps_on_fresh_samples_in_rl():
    """With one inner step Reptile is joint training (Nichol et al. 2018): on RL task
    distributions its preset takes k > 1 steps, each on newly sampled episodes, and moves the
    initialisation most of the way to the adapted params."""
    assert load_config(None, ["algo=reptile"]).maml.inner_steps > 1  # Navigation2D
    config = load_config(None, ["algo=reptile", "env=BernoulliBandit-5", "maml.num_tasks=2",
                                "maml.num_episodes=4", "policy.hidden_sizes=[8]"])
    k = config.maml.inner_steps
    assert k > 1 and config.maml.outer_lr >= 0.5
    algo = build_algorithm(config)
    meta = algo.init(jax.random.key(0)).meta_params
    train, _, pre_returns, _, _ = jax.jit(algo.sample_meta_batch)(meta, jax.random.key(1))
    assert pre_returns.shape == (2, k) and train.action.shape[:2] == (2, k)
    for step in range(1, k):  # fresh episodes for every step
        assert not _leaves_equal(train.action[:, step], train.action[:, step - 1])
