"""MAML-TRPO with the meta-batch's task axis sharded over every available device.

On a CPU, force several devices before JAX starts, e.g.

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python examples/sharded_meta_batch.py

(on the command line: ``metajax train devices=2``). A test checks that 1, 2, 4 and 8 devices
give the same meta-steps in float64.
"""

import argparse

import jax

import metajax
from metajax.distributed import task_mesh


def main(iterations: int = 3, num_tasks: int = 8, tiny: bool = False) -> float:
    env, _ = metajax.make("Navigation2D-v0", horizon=10 if tiny else 100)
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(),
                                 (8, 8) if tiny else (64, 64), "tanh")
    mesh = task_mesh()  # all devices; num_tasks must divide over them
    algo = metajax.MAML(env, policy, metajax.MAMLConfig(num_tasks=num_tasks,
                                                        num_episodes=4 if tiny else 20), mesh)
    state = algo.init(jax.random.key(0))
    step = jax.jit(algo.step)
    for i in range(iterations):
        state, metrics = step(state, jax.random.key(i + 1))
        print(f"iteration {i + 1}: post-adaptation return {float(metrics['post_return']):.2f} "
              f"on {mesh.size} device(s)")
    return float(metrics["post_return"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args()
    main(args.iterations, args.tasks)
