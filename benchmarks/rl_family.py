"""Every applicable meta-RL algorithm on Navigation2D, BernoulliBandit-5/10 and TabularMDP with
one shared budget: meta-test returns before and after one adaptation step (and the optimal
return where it is known), and wall time. Also ProMP vs MAML-TRPO on Navigation2D: the
post-adaptation return over meta-iterations, one plot.

Shared budget per environment: the same meta-iterations, tasks per meta-batch (20),
trajectories per task (20), policy and inner step size for every algorithm; each algorithm's
own settings are its preset (`metajax.config.ALGORITHMS`). ``maml-lvc`` is MAML-TRPO with
ProMP's LVC inner estimator (``maml.estimator=lvc``), the variant that credits pre-update
exploration.

    python benchmarks/rl_family.py [--nav-iterations 60] [--iterations 500]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from metajax.config import ALGORITHMS, build_algorithm, load_config
from metajax.evaluate import meta_test
from metajax.plotting import plt

HERE = Path(__file__).parent
ENVS = {  # env id: settings shared by every algorithm on it
    "Navigation2D-v0": ["maml.inner_lr=0.1"],
    "BernoulliBandit-5": ["maml.inner_lr=0.5", "policy.hidden_sizes=[32]"],
    "BernoulliBandit-10": ["maml.inner_lr=0.5", "policy.hidden_sizes=[32]"],
    "TabularMDP-v0": ["maml.inner_lr=0.5", "policy.hidden_sizes=[32]"],
}


# rows that are a preset plus overrides: name -> (preset, overrides)
VARIANTS = {"maml-lvc": ("maml", ["maml.estimator=lvc"])}


def run(env_id: str, algo_name: str, iterations: int, seed: int = 0):
    preset, overrides = VARIANTS.get(algo_name, (algo_name, []))
    config = load_config(None, [f"env={env_id}", f"algo={preset}", *ENVS[env_id], *overrides,
                                "meta_test.num_tasks=40", "meta_test.num_steps=1"])
    algo = build_algorithm(config)
    protocol = config.meta_test_protocol()  # step size and episodes: the inner loop's
    state = algo.init(jax.random.key(1000 * seed))
    step = jax.jit(algo.step).lower(state, jax.random.key(0)).compile()
    curve, start = [], time.perf_counter()
    for i in range(iterations):
        state, metrics = step(state, jax.random.key(1000 * seed + i + 1))
        curve.append(float(metrics["post_return"]))
    seconds = time.perf_counter() - start
    returns = meta_test(algo, state.meta_params, protocol)
    tasks = algo.env.sample_tasks(jax.random.split(jax.random.key(protocol.seed))[0],
                                  protocol.num_tasks)
    optimal = (float(np.mean(algo.env.optimal_return(tasks)))
               if hasattr(algo.env, "optimal_return") else None)
    return {"env": env_id, "algo": algo_name, "iterations": iterations, "seed": seed,
            "pre": float(returns[0]), "post": float(returns[1]), "optimal": optimal,
            "seconds": seconds, "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nav-iterations", type=int, default=60)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=[*ALGORITHMS, *VARIANTS])
    parser.add_argument("--out", default=str(HERE / "results" / "rl_family.json"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows already in --out that this run does not redo")
    args = parser.parse_args()

    rows = []
    if args.merge and Path(args.out).is_file():
        rows = [r for r in json.loads(Path(args.out).read_text())["rows"]
                if r["env"] not in args.envs or r["algo"] not in args.algos]
    for env_id in args.envs:
        n = args.nav_iterations if env_id.startswith("Navigation") else args.iterations
        for name in args.algos:
            row = run(env_id, name, n)
            rows.append(row)
            frac = (f"  {100 * row['post'] / row['optimal']:.0f}% of optimal {row['optimal']:.2f}"
                    if row["optimal"] else "")
            print(f"{env_id:18s} {name:8s} pre {row['pre']:8.2f}  post {row['post']:8.2f}"
                  f"{frac}  ({row['seconds']:.0f} s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=2))

    nav = {r["algo"]: r["curve"] for r in rows if r["env"] == "Navigation2D-v0"}
    if "maml" in nav and "promp" in nav:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, label in (("maml", "MAML-TRPO"), ("promp", "ProMP")):
            ax.plot(range(1, len(nav[name]) + 1), nav[name], label=label)
        ax.set(xlabel="meta-iteration", ylabel="return after 1 adaptation step",
               title="Navigation2D-v0: ProMP vs MAML-TRPO")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(HERE / "promp_vs_maml_navigation.png", dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
