"""Few-shot sinusoid regression on the same meta-learning core."""

import chex
import jax
import numpy as np
import pytest

from metajax.algorithms.maml import MAMLConfig
from metajax.algorithms.regression import FewShotRegression
from metajax.config import ALGORITHMS, RL_ONLY, ConfigError, build_algorithm, load_config
from metajax.meta_learner import MetaTestPlan
from metajax.envs.sinusoid import Sinusoid
from metajax.networks import Regressor


def test_sinusoid_task_distribution():
    tasks = Sinusoid(5).sample_tasks(jax.random.key(0), 5000)
    assert float(tasks.amplitude.min()) >= 0.1 and float(tasks.amplitude.max()) <= 5.0
    assert float(tasks.phase.min()) >= 0.0 and float(tasks.phase.max()) <= np.pi
    task = jax.tree.map(lambda x: x[0], tasks)
    x, y = Sinusoid(5).sample_points(jax.random.key(1), task, 1000)
    assert x.shape == (1000, 1) and float(x.min()) >= -5 and float(x.max()) <= 5
    np.testing.assert_allclose(y, task.amplitude * np.sin(x - task.phase), rtol=1e-5)


def test_meta_sgd_with_frozen_step_sizes_equals_maml_on_regression():
    cfg = dict(num_tasks=4, inner_lr=0.02, outer="adam", inner_steps=2)
    maml = FewShotRegression(Sinusoid(5), Regressor((16,)), MAMLConfig(**cfg))
    metasgd = FewShotRegression(Sinusoid(5), Regressor((16,)),
                                MAMLConfig(inner_rule="meta_sgd", **cfg))
    meta = metasgd.init(jax.random.key(0)).meta_params
    support, query = maml._sample(jax.random.key(1))
    plain = {"params": meta["params"], "inner": ()}
    np.testing.assert_allclose(metasgd.meta_loss(meta, support, query),
                               maml.meta_loss(plain, support, query), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(set(ALGORITHMS) - set(RL_ONLY)))
def test_every_algorithm_trains_on_sinusoid_and_traces_once(name):
    config = load_config(None, ["env=Sinusoid-5shot", f"algo={name}", "maml.num_tasks=4",
                                "policy.hidden_sizes=[16]"])
    algo = build_algorithm(config)
    chex.clear_trace_counter()
    step = jax.jit(chex.assert_max_traces(algo.step, n=1))
    state = algo.init(jax.random.key(0))
    for i in range(3):
        state, metrics = step(state, jax.random.key(i))
    assert np.isfinite(float(metrics["post_mse"]))
    plan = MetaTestPlan.constant(2, algo.config.inner_lr, 0)
    mses = jax.jit(algo.meta_test)(state.meta_params, algo.sample_tasks(jax.random.key(9), 5),
                                   jax.random.key(3), plan)
    assert mses.shape == (5, 3) and np.all(np.isfinite(mses))


def test_short_maml_run_learns_to_adapt():
    algo = build_algorithm(load_config(None, ["env=Sinusoid-10shot"]))
    state, metrics = jax.jit(algo.train, static_argnums=2)(
        algo.init(jax.random.key(0)), jax.random.key(1), 2000)
    tasks = algo.env.sample_tasks(jax.random.key(2), 200)
    plan = MetaTestPlan.constant(1, algo.config.inner_lr, 0)
    mse = jax.jit(algo.meta_test)(state.meta_params, tasks, jax.random.key(3), plan).mean(0)
    # a sinusoid of amplitude U[0.1, 5] has variance about 4.2 around zero
    assert float(mse[1]) < 0.5 * float(mse[0]) and float(mse[1]) < 1.5, mse


def test_rl_estimators_are_rejected_for_regression():
    with pytest.raises(ConfigError, match="algo promp works on RL environments only"):
        build_algorithm(load_config(None, ["env=Sinusoid-5shot", "algo=promp"]))


def test_trpo_is_rejected_for_regression():
    with pytest.raises(ConfigError, match="outer must be reptile or one of adam"):
        build_algorithm(load_config(None, ["env=Sinusoid-5shot", "maml.outer=trpo"]))


def test_algorithm_presets_win_over_task_defaults():
    config = load_config(None, ["env=Sinusoid-5shot", "algo=reptile"])
    assert (config.maml.outer, config.maml.first_order, config.maml.inner_steps) == (
        "reptile", True, 5)
    config = load_config(None, ["env=Sinusoid-5shot", "algo=metasgd", "maml.inner_lr=0.02"])
    assert (config.maml.outer, config.maml.inner_rule, config.maml.inner_lr) == (
        "adam", "meta_sgd", 0.02)
