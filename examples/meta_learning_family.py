"""The MAML family on one core: the same algorithm code meta-learns a sinusoid regressor and a
bandit policy; each algorithm is MAML with another inner rule, mask or outer update.

    python examples/meta_learning_family.py [--iterations 3000]
"""

import argparse

import jax

from metajax.config import ALGORITHMS, RL_ONLY, build_algorithm, load_config
from metajax.meta_learner import MetaTestPlan


def main(iterations: int = 3000, rl_iterations: int = 20, small: bool = False) -> dict:
    results = {}
    size = ["policy.hidden_sizes=[16]", "maml.num_tasks=4"] if small else []
    family = [a for a in ALGORITHMS if a not in RL_ONLY]  # the MAML family
    rl_algos = ["metasgd", "promp", "emaml", "dice"]
    if small:  # a smoke test: two of each (every one is built and stepped by the test suite)
        family, rl_algos = ["maml", "reptile"], ["promp", "dice"]
    for name in family:
        algo = build_algorithm(load_config(None, ["env=Sinusoid-10shot", f"algo={name}", *size]))
        train = jax.jit(algo.train, static_argnums=2)
        state, _ = train(algo.init(jax.random.key(0)), jax.random.key(1), iterations)
        tasks = algo.env.sample_tasks(jax.random.key(2), 100)
        plan = MetaTestPlan.constant(num_steps=1, lr=algo.config.inner_lr, num_episodes=0)
        mse = jax.jit(algo.meta_test)(state.meta_params, tasks, jax.random.key(3), plan).mean(0)
        results[f"sinusoid/{name}"] = (float(mse[0]), float(mse[1]))
        print(f"sinusoid 10-shot {name:8s} MSE before {mse[0]:.3f}  after one step {mse[1]:.3f}")

    # the same presets on an RL task distribution, plus the RL meta-gradient estimators
    for name in rl_algos:
        algo = build_algorithm(load_config(None, ["env=BernoulliBandit-5", f"algo={name}",
                                                  "maml.inner_lr=0.5", *size]))
        state, step = algo.init(jax.random.key(0)), jax.jit(algo.step)
        for i in range(rl_iterations):
            state, metrics = step(state, jax.random.key(i))
        pre, post = float(metrics["pre_return"]), float(metrics["post_return"])
        results[f"bandit/{name}"] = (pre, post)
        print(f"BernoulliBandit-5 {name:8s} pre {pre:.2f}  post {post:.2f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=3000)
    main(**vars(parser.parse_args()))
