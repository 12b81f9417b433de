"""Quick start: meta-train MAML-TRPO on Navigation2D from Python, then adapt to new tasks.

    python examples/quickstart.py [--iterations 50] [--tasks 20] [--episodes 20]
"""

import argparse

import jax

import metajax
from metajax.evaluate import format_table
from metajax.meta_learner import MetaTestPlan


def main(iterations: int = 50, tasks: int = 20, episodes: int = 20) -> list[float]:
    env, _ = metajax.make("Navigation2D-v0")
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(),
                                 hidden_sizes=(64, 64), activation="tanh")
    algo = metajax.maml(env, policy, num_tasks=tasks, num_episodes=episodes,
                        inner_lr=0.1, inner_steps=1, outer="trpo")

    key = jax.random.key(0)
    state = algo.init(key)
    step = jax.jit(algo.step)  # one meta-iteration over every task of the meta-batch
    for i in range(iterations):
        key, step_key = jax.random.split(key)
        state, metrics = step(state, step_key)
        if i % 10 == 0 or i == iterations - 1:
            print(f"iteration {i:3d}: pre {float(metrics['pre_return']):7.2f}  "
                  f"post {float(metrics['post_return']):7.2f}")

    # adapt to a single new task inside any JAX code
    task = jax.tree.map(lambda x: x[0], env.sample_tasks(jax.random.key(123), 1))
    adapted = jax.jit(algo.adapt)(state.meta_params, task, jax.random.key(7))
    print("adapted log-std:", adapted["log_std"])

    # meta-test: mean return on 10 held-out tasks after 0, 1, 2 adaptation steps
    held_out = env.sample_tasks(jax.random.key(2024), 10)
    plan = MetaTestPlan.constant(num_steps=2, lr=0.1, num_episodes=episodes)
    returns = jax.jit(algo.meta_test)(state.meta_params, held_out, jax.random.key(1), plan)
    returns = returns.mean(0)  # [tasks, steps + 1] -> [steps + 1]
    print(format_table([float(r) for r in returns]))
    return [float(r) for r in returns]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=20)
    main(**vars(parser.parse_args()))
