"""Meta-initialised vs from-scratch DQN and PPO on held-out CartPole dynamics.

Reptile meta-learns an initialisation over ``CartPoleDynamics-v0`` (each inner run is a short
training run of the learner on one task); then, on 20 held-out tasks, the learner fine-tunes
for the same small budget from the meta-learned initialisation and from a fresh one (same
hyperparameters, same task keys). Reports learning curves (mean return of finished episodes
per update, averaged over tasks; one plot) and the greedy return after the budget.

    python benchmarks/meta_init_cartpole.py [--meta-iterations 30] [--tasks 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import metajax
from metajax.algorithms import dqn, ppo
from metajax.algorithms.meta_init import ReptileConfig, make_reptile
from metajax.plotting import plt

HERE = Path(__file__).parent
LEARNERS = {  # inner run = fine-tuning budget
    "ppo": (ppo, ppo.PPOConfig(total_steps=16_384), ppo.evaluate_returns),
    "dqn": (dqn, dqn.DQNConfig(total_steps=20_000, learning_starts=1_000,
                               epsilon_fraction=0.3), dqn.greedy_returns),
}


def curve(metrics, chunk: int) -> np.ndarray:
    """Mean finished-episode return per chunk of iterations, averaged over tasks."""
    sums = np.asarray(metrics["episode_return_sum"])
    counts = np.asarray(metrics["episodes"])
    n = sums.shape[1] // chunk * chunk
    sums = sums[:, :n].reshape(sums.shape[0], -1, chunk).sum(-1)
    counts = counts[:, :n].reshape(counts.shape[0], -1, chunk).sum(-1)
    return (sums / np.maximum(counts, 1)).mean(0)


def run(name: str, meta_iterations: int, num_tasks: int, seed: int = 0) -> dict:
    module, config, evaluate = LEARNERS[name]
    env, _ = metajax.make("CartPoleDynamics-v0")
    train = module.make_train(config, env)
    init = module.make_learner(config, env).init(jax.random.key(seed)).params  # fresh
    reptile = ReptileConfig(tasks_per_iteration=8)
    start = time.perf_counter()
    meta_params, meta_metrics = jax.block_until_ready(
        jax.jit(make_reptile(train, env, reptile, meta_iterations))(jax.random.key(seed + 1), init))
    meta_seconds = time.perf_counter() - start

    tasks = env.sample_tasks(jax.random.key(10_000 + seed), num_tasks)  # held out
    keys = jax.random.split(jax.random.key(seed + 2), num_tasks)
    fine_tune = jax.jit(jax.vmap(train, (0, None, 0)))
    score = jax.jit(jax.vmap(lambda p, t, k: evaluate(config, env, p, k, 20, t)))
    out = {"learner": name, "meta_iterations": meta_iterations, "meta_seconds": meta_seconds,
           "inner_steps": config.total_steps, "meta_curve": np.asarray(
               meta_metrics["inner_return"]).tolist()}
    chunk = 1 if name == "ppo" else 100
    for label, params in (("meta", meta_params), ("scratch", init)):
        states, metrics = fine_tune(keys, params, tasks)
        returns = np.asarray(score(states.params, tasks, keys))
        out[label] = {"curve": curve(metrics, chunk).tolist(),
                      "greedy_return": float(returns.mean()),
                      "greedy_return_se": float(returns.mean(1).std() / np.sqrt(num_tasks))}
    steps_per_point = config.total_steps / len(out["meta"]["curve"])
    out["steps_per_point"] = steps_per_point
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-iterations", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS))
    parser.add_argument("--out", default=str(HERE / "results" / "meta_init_cartpole.json"))
    args = parser.parse_args()

    results = [run(name, args.meta_iterations, args.tasks) for name in args.learners]
    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, r in zip(axes[0], results):
        for label in ("meta", "scratch"):
            ys = r[label]["curve"]
            xs = (np.arange(len(ys)) + 1) * r["steps_per_point"]
            ax.plot(xs, ys, label=f"{'Reptile init' if label == 'meta' else 'from scratch'}"
                               f" (greedy {r[label]['greedy_return']:.0f})")
        ax.set(xlabel="environment steps of fine-tuning", ylabel="mean episode return",
               title=f"{r['learner'].upper()} on {args.tasks} held-out CartPole dynamics")
        ax.grid(alpha=0.3)
        ax.legend()
        print(f"{r['learner']}: Reptile {r['meta_iterations']} iterations in "
              f"{r['meta_seconds']:.0f} s; greedy return after {r['inner_steps']:,} steps: "
              f"meta-init {r['meta']['greedy_return']:.1f} ± {r['meta']['greedy_return_se']:.1f}"
              f", scratch {r['scratch']['greedy_return']:.1f} ± "
              f"{r['scratch']['greedy_return_se']:.1f}")
    fig.tight_layout()
    fig.savefig(HERE / "meta_init_cartpole.png", dpi=110)
    Path(args.out).write_text(json.dumps({"results": results}, indent=1))


if __name__ == "__main__":
    main()
