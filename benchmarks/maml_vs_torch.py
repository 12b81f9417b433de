"""B1/B2: MAML-TRPO at the pytorch-maml-rl reference configuration on Navigation2D (B1), and
on BernoulliBandit-10 and TabularMDP with a categorical policy (B2, where per-task overhead
dominates), metajax against the PyTorch version in ``benchmarks/torch_baselines/maml_trpo.py``
(same algorithm, hyperparameters and task spec), side by side in one run: seconds per
meta-iteration (median and spread; metajax's compile time apart, PyTorch's first iteration
apart as warm-up), environment steps per second, and the pre-/post-adaptation returns over
the last iterations of the same number of meta-iterations from the same kind of
initialisation.

    python benchmarks/maml_vs_torch.py [--env navigation|bandit|mdp] [--iterations 30]
        [--tasks 20] [--task-groups 20] [--task-chunk 5] [--torch-device cpu|cuda] [--out FILE]
    python benchmarks/maml_vs_torch.py --tasks 1000 --torch-device cuda   # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np
import torch

from metajax.config import build_algorithm, load_config
from metajax.plotting import plt
from torch_baselines import maml_trpo  # benchmarks/ is this script's import root

HERE = Path(__file__).parent
ENV_IDS = {"navigation": "Navigation2D-v0", "bandit": "BernoulliBandit-10",
           "mdp": "TabularMDP-v0"}


def run_metajax(env: str, iterations: int, tasks: int, seed: int, layout: str = "") -> dict:
    """``layout``: an extra override such as ``maml.task_groups=20`` or ``maml.task_chunk=5``."""
    overrides = [f"env={ENV_IDS[env]}", f"maml.num_tasks={tasks}", f"seed={seed}"]
    algo = build_algorithm(load_config(None, overrides + ([layout] if layout else [])))
    key, init_key = jax.random.split(jax.random.key(seed))
    state = algo.init(init_key)
    start = time.perf_counter()
    step = jax.jit(algo.step).lower(state, key).compile()
    compile_seconds = time.perf_counter() - start
    times, curve = [], []
    for _ in range(iterations):
        key, step_key = jax.random.split(key)
        start = time.perf_counter()
        state, metrics = jax.block_until_ready(step(state, step_key))
        times.append(time.perf_counter() - start)
        curve.append((float(metrics["pre_return"]), float(metrics["post_return"])))
    return {"compile_seconds": compile_seconds, "times": times, "curve": curve}


def run_torch(env_name: str, iterations: int, tasks: int, seed: int,
              device: str = "cpu") -> dict:
    torch.manual_seed(seed)
    torch.set_default_device(device)  # every tensor the baseline makes lives there
    config = maml_trpo.Config(num_tasks=tasks)
    env = maml_trpo.ENVS[env_name]()
    params = maml_trpo.init_policy(config, env)
    generator = torch.Generator(device=device).manual_seed(seed)
    times, curve = [], []
    for _ in range(iterations + 1):  # the first is warm-up
        start = time.perf_counter()
        metrics = maml_trpo.meta_step(params, env, generator, config)
        times.append(time.perf_counter() - start)
        curve.append((metrics["pre_return"], metrics["post_return"]))
    return {"warmup_seconds": times[0], "times": times[1:], "curve": curve[1:]}


def summary(run: dict, steps_per_iteration: int, last: int) -> dict:
    times = run["times"]
    median = statistics.median(times)
    pre, post = np.asarray(run["curve"][-last:]).mean(0)
    return {"median_seconds": median, "min_seconds": min(times), "max_seconds": max(times),
            "env_steps_per_second": steps_per_iteration / median,
            "pre_return": float(pre), "post_return": float(post)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=list(ENV_IDS), default="navigation")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--last", type=int, default=5, help="iterations averaged for returns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task-groups", type=int, default=1,
                        help="also time metajax with this maml.task_groups layout (> 1)")
    parser.add_argument("--task-chunk", type=int, default=0,
                        help="also time metajax with this maml.task_chunk layout (> 0)")
    parser.add_argument("--torch-device", default="cpu",
                        help="where the PyTorch baseline runs (cuda on a GPU machine)")
    parser.add_argument("--out", help="default: results/maml_vs_torch[_ENV].json")
    args = parser.parse_args()
    suffix = "" if args.env == "navigation" else f"_{args.env}"
    out = Path(args.out or HERE / "results" / f"maml_vs_torch{suffix}.json")

    horizon = maml_trpo.ENVS[args.env]().horizon
    steps = 2 * args.tasks * 20 * horizon  # pre- and post-adaptation episodes
    runs = {"metajax": run_metajax(args.env, args.iterations, args.tasks, args.seed),
            "torch": run_torch(args.env, args.iterations, args.tasks, args.seed,
                               args.torch_device)}
    layouts = ([f"task_groups={args.task_groups}"] if args.task_groups > 1 else []) + (
        [f"task_chunk={args.task_chunk}"] if args.task_chunk else [])
    for layout in layouts:
        runs[f"metajax ({layout})"] = run_metajax(args.env, args.iterations, args.tasks,
                                                  args.seed, f"maml.{layout}")
    rows = {name: summary(run, steps, args.last) for name, run in runs.items()}
    ratio = rows["torch"]["median_seconds"] / rows["metajax"]["median_seconds"]
    print("| implementation | s / meta-iteration | env steps / s | pre | post |")
    for name, r in rows.items():
        print(f"| {name} | {r['median_seconds']:.3f} ({r['min_seconds']:.3f}-"
              f"{r['max_seconds']:.3f}) | {r['env_steps_per_second']:,.0f} | "
              f"{r['pre_return']:.1f} | {r['post_return']:.1f} |")
    for name, r in rows.items():
        if name != "torch":
            print(f"PyTorch / {name}: {rows['torch']['median_seconds'] / r['median_seconds']:.1f}x")
    print(f"PyTorch / metajax time per iteration: {ratio:.1f}x; metajax compile "
          f"{runs['metajax']['compile_seconds']:.1f} s, PyTorch first iteration "
          f"{runs['torch']['warmup_seconds']:.1f} s")

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, run in runs.items():
        curve = np.asarray(run["curve"])
        xs = np.arange(1, len(curve) + 1)
        ax.plot(xs, curve[:, 0], ls="--", label=f"{name} pre-adaptation")
        ax.plot(xs, curve[:, 1], label=f"{name} post-adaptation")
    ax.set(xlabel="meta-iteration", ylabel="mean return",
           title=f"MAML-TRPO, {ENV_IDS[args.env]}, {args.tasks} tasks")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png") if args.out else HERE / f"maml_vs_torch{suffix}.png",
                dpi=110)
    out.write_text(json.dumps({
        "command": " ".join(["python benchmarks/maml_vs_torch.py"] + sys.argv[1:]),
        "env": ENV_IDS[args.env], "iterations": args.iterations, "tasks": args.tasks,
        "last": args.last,
        "env_steps_per_iteration": steps, "ratio": ratio, "summary": rows, "runs": runs,
        "machine": {"platform": platform.platform(), "device": str(jax.devices()[0]),
                    "jax": jax.__version__, "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "torch_device": args.torch_device,
                    "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        }, indent=1))


if __name__ == "__main__":
    main()
