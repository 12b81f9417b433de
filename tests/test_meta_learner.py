"""Every registered learner through the MetaLearner protocol alone: built from its config,
two steps (traced once, changing what it learns), then a meta-test whose shape is its test
axis (no learner-specific code here)."""

import chex
import jax
import numpy as np
import pytest

from metajax.config import build_algorithm, load_config
from metajax.learners import LEARNERS
from metajax.evaluate import meta_test_tasks, state_template
from metajax.meta_learner import MetaLearner

TINY_MAML = ["maml.num_tasks=2", "maml.num_episodes=2", "maml.cg_iters=2",
             "maml.ls_max_steps=2", "maml.promp_steps=1", "policy.hidden_sizes=[8]"]
TINY = {
    "rl2": ["rl2.num_envs=4", "rl2.num_minibatches=2", "rl2.hidden_size=8",
            "rl2.trial_episodes=2", "rl2.embed_size=8"],
    "dqn": ["dqn.total_steps=64", "dqn.num_envs=4", "dqn.learning_starts=16",
            "dqn.buffer_size=32", "dqn.batch_size=8", "dqn.hidden_sizes=[8]"],
    "ppo": ["ppo.total_steps=64", "ppo.num_envs=4", "ppo.num_steps=8",
            "ppo.num_minibatches=2", "ppo.hidden_sizes=[8]"],
}
TINY["a2c"] = TINY["ppo"]
TEST = ["meta_test.num_tasks=2", "meta_test.num_steps=1", "meta_test.num_episodes=2"]

# (algo, env, the meta-test's values per task); the MAML family on RL, on regression,
# RL^2, and the deep-RL learners on one environment and meta-initialised on a distribution
CASES = ([(name, "BernoulliBandit-5", 2) for name in LEARNERS if LEARNERS[name].section == "maml"]
         + [("maml", "Sinusoid-5shot", 2), ("rl2", "BernoulliBandit-5", 2),
            ("dqn", "CartPole-v1", 1), ("ppo", "CartPole-v1", 1), ("a2c", "CartPole-v1", 1),
            ("ppo", "CartPoleDynamics-v0", 2)])


def test_every_learner_is_covered():
    assert {algo for algo, _, _ in CASES} == set(LEARNERS)


@pytest.mark.parametrize("algo,env,k", CASES, ids=[f"{a}-{e}" for a, e, _ in CASES])
def test_two_steps_and_a_meta_test_through_the_protocol(algo, env, k):
    section = LEARNERS[algo].section
    tiny = TINY_MAML if section == "maml" else TINY[algo]
    meta_init = ["meta_init.tasks_per_iteration=2"] if "meta_init" in LEARNERS[algo].sections \
        else []
    config = load_config(None, [f"algo={algo}", f"env={env}", "num_iterations=2", *meta_init,
                                *tiny, *TEST])
    learner = build_algorithm(config)
    assert isinstance(learner, MetaLearner)
    state = first = learner.init(jax.random.key(0))
    assert jax.tree.structure(state) == jax.tree.structure(state_template(learner, config))
    chex.clear_trace_counter()
    step = jax.jit(chex.assert_max_traces(learner.step, n=1))  # one compile for every step
    for i in range(2):
        state, metrics = step(state, jax.random.key(i + 1))
    for name in learner.score_names:
        assert np.isfinite(float(metrics[name])), (name, metrics)
    assert any(np.any(a != b) for a, b in zip(jax.tree.leaves(state.meta_params),
                                              jax.tree.leaves(first.meta_params)))
    means, per_task = meta_test_tasks(learner, state.meta_params, config.meta_test_protocol())
    rows = config.meta_test.num_episodes if env == "CartPole-v1" else config.meta_test.num_tasks
    assert per_task.shape == (rows, k) and np.all(np.isfinite(per_task))
    np.testing.assert_allclose(means, per_task.mean(0))
    assert learner.describe_test(config.meta_test_protocol(),
                                 config.meta_test_from_training()).endswith(":")
    assert len(learner.curves.labels) == 2
