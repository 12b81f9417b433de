"""Fidelity: MAML-TRPO on Navigation2D with the MAML paper's configuration, meta-tested with
the paper's protocol, beside the published returns (Finn et al. 2017, 2D navigation:
-40.4, -11.7, -3.3, -3.2 after 0, 1, 2, 3 steps).

Paper configuration (`configs/maml_paper.yaml`, from cbfinn/maml_rl): policy (100, 100) ReLU,
40 tasks per meta-batch, 20 trajectories per task, inner lr 0.5 with 1 step, linear feature
baseline, TRPO max-KL 0.01, 100 meta-iterations, rllab's action scaling. Test protocol: 40
fresh tasks, vanilla policy gradient with 4000 time steps (40 trajectories) per step. The
reproduction row uses the paper's test script's step sizes (0.5 for the first step, then the
optimiser's learning rate 0.25); the paper's text (0.5 throughout) and two decreasing schedules
are a sensitivity study. Every protocol runs on the same params (the checkpoint at the paper's
100 meta-iterations), each on several sets of 40 tasks. A gap study then varies one thing at a
time against the reproduction row: the test script's own 40 goals, its single goal, twice the
meta-training budget, and the meta-batch of 20 that its params file's name records.

    python benchmarks/fidelity.py [--iterations 200] [--seed 0] [--run-dir runs/<trained>]
                                  [--no-gap-study]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from metajax import checkpoint
from metajax.config import build_algorithm, load_config
from metajax.evaluate import meta_test
from metajax.train import train
from metajax.meta_learner import MetaTestPlan

HERE = Path(__file__).parent
CONFIG = HERE / "configs" / "maml_paper.yaml"
PUBLISHED = [-40.4, -11.7, -3.3, -3.2]
# cbfinn/maml_rl maml_examples/test_maml_point.py: VPG with FirstOrderOptimizer, whose first
# update uses ``init_learning_rate`` 0.5 and every later one ``learning_rate`` 0.5 x 0.5
REPRODUCTION = "0.5, 0.25, 0.25 (paper test script)"
PROTOCOLS = {  # name: step size of each of the 3 adaptation steps; the first is the reproduction
    REPRODUCTION: (0.5, 0.25, 0.25),
    "0.5, 0.5, 0.5 (paper text; sensitivity)": (0.5, 0.5, 0.5),
    "0.5, 0.25, 0.125 (halving; sensitivity)": (0.5, 0.25, 0.125),
    "0.5, 0.2, 0.1 (sensitivity)": (0.5, 0.2, 0.1),
}
PAPER_BUDGET = 100  # meta-iterations in cbfinn/maml_rl maml_trpo_point.py


def meets_target(returns) -> bool:
    """Within 15% of the published return after 1 step, at least as good after 2 and 3."""
    close = abs(returns[1] - PUBLISHED[1]) <= 0.15 * abs(PUBLISHED[1])
    return bool(close and returns[2] >= PUBLISHED[2] and returns[3] >= PUBLISHED[3])


def script_goals() -> np.ndarray:
    """The 40 test goals of ``test_maml_point.py`` (``np.random.seed(1)``, U[-0.5, 0.5]^2)."""
    return np.random.RandomState(1).uniform(-0.5, 0.5, size=(40, 2))


def summarise(runs: list) -> dict:
    runs = np.stack(runs)
    mean, sem = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(len(runs))
    return {"mean": mean.tolist(), "sem": sem.tolist(), "per_task_set": runs.tolist(),
            "meets_target": meets_target(mean)}


def on_fresh_tasks(algo, config, params, step_sizes, test_seeds: int) -> dict:
    """The protocol on ``test_seeds`` independent sets of fresh tasks."""
    runs = [meta_test(algo, params, dataclasses.replace(
        config.meta_test_protocol(), num_steps=3, step_sizes=step_sizes, seed=10_000 + seed))
        for seed in range(test_seeds)]
    return {"step_sizes": list(step_sizes), **summarise(runs)}


def on_goals(algo, config, params, goals: np.ndarray, test_seeds: int) -> dict:
    """The reproduction protocol on fixed goals, ``test_seeds`` independent samplings."""
    p = config.meta_test
    tasks = algo.env.sample_tasks(jax.random.key(0), len(goals)).replace(
        goal=jnp.asarray(goals, jnp.float32))
    run = jax.jit(algo.meta_test)
    plan = MetaTestPlan.of(PROTOCOLS[REPRODUCTION], p.num_episodes)
    return summarise([np.asarray(run(params, tasks, jax.random.key(20_000 + seed), plan).mean(0))
                      for seed in range(test_seeds)])


def train_paper_config(iterations: int, seed: int, overrides: list[str], tag: str):
    """Trains the paper configuration (plus ``overrides``); keeps the checkpoint at the
    paper's budget. Returns the algorithm, the run's config and directory, and timings."""
    name = f"fidelity-{tag}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    keep = [f"checkpoint_at=[{PAPER_BUDGET}]"] if iterations > PAPER_BUDGET else []
    config = load_config(CONFIG, [f"num_iterations={iterations}", f"seed={seed}",
                                  f"run_name={name}", *keep, *overrides])
    result = train(config)
    return (build_algorithm(config), config, result.run_dir,
            result.seconds_per_iteration, result.compile_seconds)


def params_at(algo, run_dir: Path, step: int | None = None):
    template = algo.init(jax.random.key(0))
    if step is None:
        return checkpoint.restore_latest(run_dir / "checkpoints", template)[0].meta_params
    return checkpoint.restore(run_dir / "checkpoints", template, step)[0].meta_params


def print_row(name: str, row: dict) -> None:
    cells = "  ".join(f"{m:7.2f} +- {s:4.2f}" for m, s in zip(row["mean"], row["sem"]))
    print(f"  {name:<52} {cells}   target met: {row['meets_target']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2 * PAPER_BUDGET,
                        help="meta-iterations; the protocols use the checkpoint at 100 (the "
                             "paper's budget), the gap study also the last one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", help="evaluate this trained run instead of training")
    parser.add_argument("--test-seeds", type=int, default=5,
                        help="independent sets of 40 test tasks per protocol")
    parser.add_argument("--no-gap-study", action="store_true",
                        help="skip the gap study (and its meta-batch-20 training run)")
    parser.add_argument("--out", default=str(HERE / "results" / "fidelity.json"))
    args = parser.parse_args()

    if args.run_dir:
        run_dir = Path(args.run_dir)
        config = load_config(run_dir / "config.json")
        algo = build_algorithm(config)
        timing = json.loads((run_dir / "summary.json").read_text())
        seconds, compile_seconds = timing["median_seconds_per_iteration"], timing["compile_seconds"]
    else:
        algo, config, run_dir, seconds, compile_seconds = train_paper_config(
            args.iterations, args.seed, [], "paper")
    budget = min(PAPER_BUDGET, config.num_iterations)
    params = params_at(algo, run_dir, budget if config.num_iterations > budget else None)

    print(f"\nMAML paper 2D navigation after {budget} meta-iterations, {args.test_seeds} x 40 "
          "held-out tasks, mean +- standard error over task sets:")
    protocols = {}
    for name, step_sizes in PROTOCOLS.items():
        protocols[name] = on_fresh_tasks(algo, config, params, step_sizes, args.test_seeds)
        print_row(name, protocols[name])
    print(f"  {'published':<52} " + "  ".join(f"{p:7.1f}        " for p in PUBLISHED))

    gap = {}
    if not args.no_gap_study:
        print("\nGap study, every row with the reproduction protocol:")
        gap["the test script's 40 goals (numpy seed 1)"] = on_goals(
            algo, config, params, script_goals(), args.test_seeds)
        gap["the test script's goal 6 alone (as committed), 40 repeats"] = on_goals(
            algo, config, params, np.repeat(script_goals()[6:7], 40, 0), args.test_seeds)
        if config.num_iterations > budget:
            gap[f"{config.num_iterations} meta-iterations (twice the paper's)"] = on_fresh_tasks(
                algo, config, params_at(algo, run_dir), PROTOCOLS[REPRODUCTION],
                args.test_seeds)
        mbs_algo, mbs_config, mbs_dir, _, _ = train_paper_config(
            budget, args.seed, ["maml.num_tasks=20"], "mbs20")
        gap["meta-batch 20 (the test script's params file, mbs20)"] = on_fresh_tasks(
            mbs_algo, mbs_config, params_at(mbs_algo, mbs_dir), PROTOCOLS[REPRODUCTION],
            args.test_seeds)
        for name, row in gap.items():
            print_row(name, row)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "config": config.to_dict(), "published": PUBLISHED, "protocols": protocols,
        "reproduction": REPRODUCTION, "budget": budget, "gap_study": gap,
        "test_seeds": args.test_seeds, "seconds_per_iteration": seconds,
        "compile_seconds": compile_seconds, "run_dir": str(run_dir),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
