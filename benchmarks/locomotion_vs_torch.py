"""MAML-TRPO on HalfCheetahVel, metajax (brax MJX physics, jitted and vmapped) against the
PyTorch baseline (``torch_baselines/maml_trpo.py`` on Gymnasium's C MuJoCo HalfCheetah-v5 with
the same reward wrapper, ``torch_baselines/locomotion.py``), side by side in one run, at the
reference meta-batch (40 tasks x 20 episodes of 100 steps) unless told otherwise.

Where the time goes: each meta-iteration is split into *physics* (the two rollouts of every
task's episodes: simulation plus the policy's actions; metajax: one compiled function doing
just those rollouts, PyTorch: the time inside its ``sample``) and *learning* (the rest:
baselines, advantages, the inner step, the meta-gradient, CG and the line search). metajax's
compile time is reported apart, PyTorch's first iteration apart as warm-up.

    python benchmarks/locomotion_vs_torch.py [--tasks 40] [--episodes 20] [--iterations 3]
        [--chunk 10] [--out benchmarks/results/locomotion_vs_torch.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import torch

from metajax.config import build_algorithm, load_config
from metajax.rollouts import rollout
from torch_baselines import locomotion, maml_trpo  # benchmarks/ is this script's import root

HERE = Path(__file__).parent


def timed(fn, *args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def run_metajax(tasks: int, episodes: int, chunk: int, iterations: int) -> dict:
    config = load_config(str(HERE / "configs" / "halfcheetah_vel.yaml"), [
        f"maml.num_tasks={tasks}", f"maml.num_episodes={episodes}", f"maml.task_chunk={chunk}"])
    algo = build_algorithm(config)
    state = algo.init(jax.random.key(0))
    horizon = algo.env.max_steps_in_episode

    def physics(meta, key):
        """The meta-batch's rollouts alone: pre- and post-adaptation episodes of every task
        (both with the meta-params: the same cost), in the training's task chunks."""
        task_key, key = jax.random.split(key)
        goals = algo.env.sample_tasks(task_key, tasks)

        def per_task(task, k):
            pre, post = jax.random.split(k)
            returns = [rollout(algo.env, algo.policy, meta["params"], task, kk, episodes,
                               horizon).episode_returns for kk in (pre, post)]
            return jnp.mean(returns[0]) + jnp.mean(returns[1])

        return algo.layout.map(per_task, goals, jax.random.split(key, tasks))

    start = time.perf_counter()
    step = jax.jit(algo.step).lower(state, jax.random.key(1)).compile()
    compile_step = time.perf_counter() - start
    sample = jax.jit(physics).lower(state.meta_params, jax.random.key(1)).compile()
    physics_times, step_times, curve = [], [], []
    key = jax.random.key(2)
    for _ in range(iterations):
        key, k1, k2 = jax.random.split(key, 3)
        physics_times.append(timed(sample, state.meta_params, k1))
        start = time.perf_counter()
        state, metrics = jax.block_until_ready(step(state, k2))
        step_times.append(time.perf_counter() - start)
        curve.append((float(metrics["pre_return"]), float(metrics["post_return"])))
    return {"compile_seconds": compile_step, "times": step_times,
            "physics_times": physics_times, "curve": curve}


def run_torch(tasks: int, episodes: int, iterations: int) -> dict:
    torch.manual_seed(0)
    config = maml_trpo.Config(num_tasks=tasks, num_episodes=episodes)
    env = locomotion.HalfCheetahVel()
    params = maml_trpo.init_policy(config, env)
    generator = torch.Generator().manual_seed(0)
    spent = []
    sample = maml_trpo.sample

    def timed_sample(*args, **kwargs):
        start = time.perf_counter()
        out = sample(*args, **kwargs)
        spent.append(time.perf_counter() - start)
        return out

    maml_trpo.sample = timed_sample  # the meta-step's two calls, timed
    times, physics_times, curve = [], [], []
    try:
        for _ in range(iterations + 1):  # the first is warm-up
            spent.clear()
            start = time.perf_counter()
            metrics = maml_trpo.meta_step(params, env, generator, config)
            times.append(time.perf_counter() - start)
            physics_times.append(sum(spent))
            curve.append((metrics["pre_return"], metrics["post_return"]))
    finally:
        maml_trpo.sample = sample
    return {"warmup_seconds": times[0], "times": times[1:], "physics_times": physics_times[1:],
            "curve": curve[1:]}


def summary(run: dict, steps: int) -> dict:
    total = statistics.median(run["times"])
    physics = statistics.median(run["physics_times"])
    return {"seconds_per_iteration": total, "physics_seconds": physics,
            "learning_seconds": total - physics, "env_steps_per_second": steps / total,
            "physics_steps_per_second": steps / physics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--out", default=str(HERE / "results" / "locomotion_vs_torch.json"))
    args = parser.parse_args()
    if args.tasks % args.chunk:
        parser.error("--chunk must divide --tasks")
    steps = 2 * args.tasks * args.episodes * locomotion.HalfCheetahVel.horizon
    runs = {"metajax": run_metajax(args.tasks, args.episodes, args.chunk, args.iterations),
            "pytorch": run_torch(args.tasks, args.episodes, args.iterations)}
    table = {name: summary(run, steps) for name, run in runs.items()}
    ratio = {k: table["pytorch"][k] / table["metajax"][k]
             for k in ("seconds_per_iteration", "physics_seconds", "learning_seconds")}
    data = {"device": str(jax.devices()[0]), "machine": platform.processor() or platform.machine(),
            "jax": jax.__version__, "torch": torch.__version__, "args": vars(args),
            "env_steps_per_iteration": steps, "summary": table, "pytorch_over_metajax": ratio,
            "runs": runs}
    Path(args.out).write_text(json.dumps(data, indent=1))
    print(f"| | s/iteration | physics (s) | learning (s) | env steps/s |\n|---|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['seconds_per_iteration']:.2f} | {row['physics_seconds']:.2f} | "
              f"{row['learning_seconds']:.2f} | {row['env_steps_per_second']:.0f} |")
    print(f"PyTorch / metajax: {', '.join(f'{k} {v:.2f}x' for k, v in ratio.items())}")
    print(f"metajax compile: {runs['metajax']['compile_seconds']:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
