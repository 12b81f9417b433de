"""``maml.task_chunk``: the meta-batch mapped in rematerialised chunks of tasks (bounded
memory) gives the same meta-step as one vmap over all tasks."""

import chex
import jax
import pytest

from conftest import tiny_algo


@pytest.mark.parametrize("num_tasks, chunk", [(4, 2), (3, 1)])
def test_chunked_meta_batch_equals_one_vmap(num_tasks, chunk):
    whole, chunked = tiny_algo(num_tasks=num_tasks), tiny_algo(num_tasks=num_tasks,
                                                               task_chunk=chunk)
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
