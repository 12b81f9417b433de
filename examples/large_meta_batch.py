"""Large meta-batches of MAML-TRPO on one CPU: the task axis in small chunks.

``maml.task_chunk=K`` runs every per-task computation of a meta-iteration (sampling,
adaptation, TRPO's gradient, each Fisher-vector product, the line search) K tasks at a time
in a ``lax.scan``: memory is bounded by a chunk, and a chunk's intermediates stay in the CPU's
cache, so small chunks are also faster than one vmap from about 100 tasks on (B3 in
``benchmarks/RESULTS.md``: 2000 tasks in 0.34 GiB at a flat time per task). The meta-step is
the same (a float64 test checks the products). This script compares both layouts.

    python examples/large_meta_batch.py [--tasks 100] [--chunk 5] [--iterations 3]
"""

import argparse
import time

import jax

import metajax


def main(tasks: int = 100, chunk: int = 5, iterations: int = 3,
         tiny: bool = False) -> dict[str, dict[str, float]]:
    env, _ = metajax.make("Navigation2D-v0", horizon=10 if tiny else 100)
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(),
                                 (8, 8) if tiny else (64, 64), "tanh")
    results = {}
    for layout, task_chunk in (("one vmap", 0), (f"chunks of {chunk}", chunk)):
        algo = metajax.maml(env, policy, num_tasks=tasks, num_episodes=4 if tiny else 20,
                            task_chunk=task_chunk)
        state = algo.init(jax.random.key(0))
        step = jax.jit(algo.step).lower(state, jax.random.key(0)).compile()
        memory = step.memory_analysis()
        planned_gib = (memory.temp_size_in_bytes + memory.argument_size_in_bytes
                       + memory.output_size_in_bytes) / 2**30
        jax.block_until_ready(step(state, jax.random.key(0)))  # warm-up: kernels are built
        start = time.perf_counter()
        for i in range(iterations):
            state, metrics = step(state, jax.random.key(i + 1))
        jax.block_until_ready(state)
        seconds = (time.perf_counter() - start) / iterations
        results[layout] = {"seconds": seconds, "planned_gib": planned_gib,
                           "post_return": float(metrics["post_return"])}
        print(f"{layout:>14}: {seconds:.2f} s per iteration ({1000 * seconds / tasks:.1f} ms "
              f"per task), {planned_gib:.2f} GiB planned, post-adaptation return "
              f"{float(metrics['post_return']):.2f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=5, help="must divide --tasks")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    main(args.tasks, args.chunk, args.iterations)
