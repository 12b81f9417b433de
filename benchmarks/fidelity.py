"""Fidelity: MAML-TRPO on Navigation2D with the MAML paper's configuration, meta-tested with
the paper's protocol, beside the published returns (Finn et al. 2017, 2D navigation:
-40.4, -11.7, -3.3, -3.2 after 0, 1, 2, 3 steps).

Paper configuration (`configs/maml_paper.yaml`, from cbfinn/maml_rl): policy (100, 100) ReLU,
40 tasks per meta-batch, 20 trajectories per task, inner lr 0.5 with 1 step, linear feature
baseline, TRPO max-KL 0.01, 100 meta-iterations, rllab's action scaling. Test protocol: 40
fresh tasks, vanilla policy gradient with 4000 time steps (40 trajectories) per step. The
step size after the first step is not pinned down by the paper (its text says 0.5; its test
script sets 0.5 for the first step and a learning rate of 0.25 for the optimiser), so every
protocol below is run on the same trained params, each on several sets of 40 tasks.

    python benchmarks/fidelity.py [--iterations 100] [--seed 0] [--run-dir runs/<trained>]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np

from metajax import checkpoint
from metajax.config import build_algorithm, load_config
from metajax.evaluate import meta_test
from metajax.train import train

HERE = Path(__file__).parent
CONFIG = HERE / "configs" / "maml_paper.yaml"
PUBLISHED = [-40.4, -11.7, -3.3, -3.2]
PROTOCOLS = {  # name: step size of each of the 3 adaptation steps
    "0.5, 0.5, 0.5 (paper text)": (0.5, 0.5, 0.5),
    "0.5, 0.25, 0.25 (paper test script)": (0.5, 0.25, 0.25),
    "0.5, 0.25, 0.125 (halving)": (0.5, 0.25, 0.125),
    "0.5, 0.2, 0.1": (0.5, 0.2, 0.1),
}


def meets_target(returns) -> bool:
    """Within 15% of the published return after 1 step, at least as good after 2 and 3."""
    close = abs(returns[1] - PUBLISHED[1]) <= 0.15 * abs(PUBLISHED[1])
    return bool(close and returns[2] >= PUBLISHED[2] and returns[3] >= PUBLISHED[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", help="evaluate this trained run instead of training")
    parser.add_argument("--test-seeds", type=int, default=5,
                        help="independent sets of 40 test tasks per protocol")
    parser.add_argument("--out", default=str(HERE / "results" / "fidelity.json"))
    args = parser.parse_args()

    if args.run_dir:
        run_dir = Path(args.run_dir)
        config = load_config(run_dir / "config.json")
        algo = build_algorithm(config)
        state = checkpoint.restore_latest(run_dir / "checkpoints",
                                          algo.init(jax.random.key(0)))[0]
        params, timing = state.meta_params, json.loads((run_dir / "summary.json").read_text())
        seconds, compile_seconds = timing["median_seconds_per_iteration"], timing["compile_seconds"]
    else:
        name = f"fidelity-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        config = load_config(CONFIG, [f"num_iterations={args.iterations}", f"seed={args.seed}",
                                      f"run_name={name}"])
        result = train(config)
        algo, params, run_dir = build_algorithm(config), result.state.meta_params, result.run_dir
        seconds, compile_seconds = result.seconds_per_iteration, result.compile_seconds

    protocols = {}
    print(f"\nMAML paper 2D navigation, {args.test_seeds} x 40 held-out tasks, "
          "mean +- standard error over task sets:")
    for name, step_sizes in PROTOCOLS.items():
        runs = []
        for test_seed in range(args.test_seeds):
            protocol = dataclasses.replace(config.meta_test_protocol(), num_steps=3,
                                           step_sizes=step_sizes, seed=10_000 + test_seed)
            runs.append(meta_test(algo, params, protocol))
        runs = np.stack(runs)
        mean, sem = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(len(runs))
        protocols[name] = {"step_sizes": list(step_sizes), "mean": mean.tolist(),
                           "sem": sem.tolist(), "per_task_set": runs.tolist(),
                           "meets_target": meets_target(mean)}
        cells = "  ".join(f"{m:7.2f} +- {s:4.2f}" for m, s in zip(mean, sem))
        print(f"  {name:<36} {cells}   target met: {meets_target(mean)}")
    print(f"  {'published':<36} " + "  ".join(f"{p:7.1f}        " for p in PUBLISHED))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "config": config.to_dict(), "published": PUBLISHED, "protocols": protocols,
        "test_seeds": args.test_seeds, "seconds_per_iteration": seconds,
        "compile_seconds": compile_seconds, "run_dir": str(run_dir),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
