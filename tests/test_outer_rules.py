"""Outer rules as values (metajax.algorithms.outer): each is an (init, update) pair that the
learner drives through one MetaObjective; a rule passed in replaces the config's."""

import jax
import numpy as np
import optax
import pytest

from conftest import tiny_algo
from metajax.algorithms import outer
from metajax.algorithms.maml import MAML


def _two_steps(algo):
    state = algo.init(jax.random.key(0))
    step = jax.jit(algo.step)
    for i in range(2):
        state, metrics = step(state, jax.random.key(i + 1))
    return state, metrics


def test_a_rule_value_equals_the_config_that_names_it():
    by_name = tiny_algo(outer="adam", outer_lr=1e-2)
    by_value = MAML(by_name.env, by_name.policy, by_name.config,
                    outer_rule=outer.optax_rule(optax.adam(1e-2)))
    (a, ma), (b, mb) = _two_steps(by_name), _two_steps(by_value)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert float(ma["loss_before"]) == float(mb["loss_before"])


def test_any_optax_chain_is_an_outer_rule():
    base = tiny_algo(outer="adam")
    rule = outer.optax_rule(optax.chain(optax.clip_by_global_norm(0.1), optax.sgd(1e-2)))
    algo = MAML(base.env, base.policy, base.config, outer_rule=rule)
    start = algo.init(jax.random.key(0))
    state, metrics = _two_steps(algo)
    moved = optax.tree.norm(jax.tree.map(lambda a, b: a - b, state.params, start.params))
    assert 0.0 < float(moved) <= 2 * 0.1 * 1e-2 + 1e-6  # two clipped SGD steps
    assert np.isfinite(float(metrics["grad_norm"]))


def test_rules_that_need_a_policy_say_so():
    objective = outer.MetaObjective(lambda m: m["params"] ** 2, adapted=None)
    meta = {"params": 1.0, "inner": ()}
    with pytest.raises(ValueError, match="trpo needs a policy"):
        outer.trpo(0.01).update(objective, (), meta)
    with pytest.raises(ValueError, match="promp needs a policy"):
        outer.promp(optax.adam(1e-3), 2).update(objective, optax.adam(1e-3).init(meta), meta)


def test_reptile_moves_towards_the_mean_adapted_params():
    meta = {"params": {"w": np.zeros(3)}, "inner": ()}
    adapted = {"w": np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])}
    new, state, _ = outer.reptile(0.5).update(outer.MetaObjective(None, adapted), (), meta)
    np.testing.assert_allclose(new["params"]["w"], [1.0, 1.0, 1.0])
    assert state == () and new["inner"] == ()


def test_promp_reports_its_kls_and_clip_fraction():
    """ProMP's diagnostics are zero at the params that sampled (old and new policies agree)
    and positive after its update moved them, with the clip fraction a fraction."""
    algo = tiny_algo(estimator="lvc", outer="promp", outer_lr=1e-2, promp_steps=3)
    state = algo.init(jax.random.key(0))
    train, valid, _, post_returns, adapted = algo.sample_meta_batch(state.meta_params,
                                                                    jax.random.key(1))
    objective = algo.meta_objective(train, valid, post_returns, adapted)
    _, at_start = objective.clipped_loss(state.meta_params)(state.meta_params)
    for name in ("inner_kl", "outer_kl", "clip_fraction"):
        np.testing.assert_allclose(float(at_start[name]), 0.0, atol=1e-6)
    _, _, metrics = algo.outer.update(objective, state.opt_state, state.meta_params)
    assert float(metrics["inner_kl"]) > 0.0 and float(metrics["outer_kl"]) > 0.0
    assert 0.0 <= float(metrics["clip_fraction"]) <= 1.0
    assert float(metrics["loss_after"]) < float(metrics["loss_before"])
