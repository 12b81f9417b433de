"""Task-axis layouts give the same meta-step as one vmap over all tasks: ``maml.task_chunk``
(rematerialised chunks, bounded memory), ``maml.task_groups`` (concurrent groups, speed), and
both (chunked rollouts, grouped learning)."""

import chex
import jax
import pytest

from conftest import tiny_algo


# groups alone (one-vmap rollouts) differ from groups with chunks only in the sampling's layout
@pytest.mark.parametrize("num_tasks, layout", [(4, {"task_chunk": 2}), (3, {"task_chunk": 1}),
                                              (3, {"task_groups": 3}),
                                              (4, {"task_groups": 2, "task_chunk": 2})])
def test_task_layout_gives_the_meta_step_of_one_vmap(num_tasks, layout):
    whole, chunked = tiny_algo(num_tasks=num_tasks), tiny_algo(num_tasks=num_tasks, **layout)
    state = whole.init(jax.random.key(0))
    key = jax.random.key(1)
    new_whole, metrics_whole = jax.jit(whole.step)(state, key)
    new_chunked, metrics_chunked = jax.jit(chunked.step)(state, key)
    chex.assert_trees_all_close(metrics_chunked, metrics_whole, rtol=1e-4, atol=1e-5)
    chex.assert_trees_all_close(new_chunked.meta_params, new_whole.meta_params, rtol=1e-4,
                                atol=1e-6)


def test_chunk_must_divide_the_meta_batch():
    with pytest.raises(ValueError, match=r"task_chunk \(2\) must divide num_tasks \(3\)"):
        tiny_algo(num_tasks=3, task_chunk=2)


def test_groups_must_divide_the_meta_batch():
    with pytest.raises(ValueError, match=r"task_groups \(2\) must divide num_tasks \(3\)"):
        tiny_algo(num_tasks=3, task_groups=2)
    with pytest.raises(ValueError, match="task_groups must be"):
        tiny_algo(task_groups=0)


def test_with_groups_and_chunks_the_rollouts_are_chunked_and_the_learning_grouped():
    algo = tiny_algo(num_tasks=4, task_groups=2, task_chunk=2)
    assert algo.learning_layout.groups == 2 and algo.learning_layout.chunk == 0
    state = algo.init(jax.random.key(0))
    chunk_maps = lambda learner: [  # noqa: E731 top-level scans over the 2 chunks of 2 tasks
        e for e in jax.make_jaxpr(learner.sample_meta_batch)(state.meta_params,
                                                             jax.random.key(1)).eqns
        if e.primitive.name == "scan" and e.params["length"] == 2]
    assert chunk_maps(algo) and not chunk_maps(tiny_algo(num_tasks=4, task_groups=2))
