"""MAML-TRPO on HalfCheetahVel, metajax (brax MJX physics, jitted and vmapped) against the
PyTorch baseline (``torch_baselines/maml_trpo.py`` on Gymnasium's C MuJoCo HalfCheetah-v5 with
the same reward wrapper, ``torch_baselines/locomotion.py``), side by side in one run, at the
reference meta-batch (40 tasks x 20 episodes of 100 steps) unless told otherwise.

Where the time goes: each meta-iteration is split into *physics* (the two rollouts of every
task's episodes: simulation plus the policy's actions; metajax: one compiled function doing
just those rollouts, PyTorch: the time inside its ``sample``) and *learning* (the rest:
baselines, advantages, the inner step, the meta-gradient, CG and the line search). PyTorch's
learning is its iteration less its ``sample`` calls. metajax's is timed directly: one compiled
function doing everything but the rollouts, on the rollouts' trajectories (``learning`` in the
results; ``learning_by_difference`` is the iteration less the separately timed physics, which
carries the physics' noise). ``--layouts`` times that learning function again under other task
layouts (``chunk:N``, ``vmap``, ``groups:N``), interleaved, on the same trajectories. metajax's
compile time is reported apart, PyTorch's first iteration apart as warm-up.

``--chunk`` and ``--groups`` set the training's layout (``maml.task_chunk``/``task_groups``:
rollouts in chunks, learning in groups).

    python benchmarks/locomotion_vs_torch.py [--tasks 40] [--episodes 20] [--iterations 3]
        [--chunk 10] [--groups 8] [--layouts vmap chunk:10]
        [--out benchmarks/results/locomotion_vs_torch.json]
"""

from __future__ import annotations

import argparse
import dataclasses
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
from metajax.task_layout import TaskLayout
from torch_baselines import locomotion, maml_trpo  # benchmarks/ is this script's import root

HERE = Path(__file__).parent


def timed(fn, *args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def parse_layout(text: str) -> TaskLayout:
    """``vmap``, ``chunk:N`` or ``groups:N`` as a :class:`TaskLayout` (learning only)."""
    kind, _, n = text.partition(":")
    if kind == "vmap" and not n:
        return TaskLayout()
    if kind in ("chunk", "groups") and n.isdigit() and int(n) > 0:
        return TaskLayout(**{kind: int(n)})
    raise argparse.ArgumentTypeError(f"layout {text!r}: expected vmap, chunk:N or groups:N")


def learning_function(algo, tasks: int):
    """Everything of a meta-iteration but the rollouts, on given trajectories: both batches'
    baselines and advantages, the inner step, the meta-gradient, CG and the line search."""
    batch = algo._batch  # the training's own advantages and baseline fit

    def learn(state, pre, post):
        train = jax.tree.map(lambda x: x[:, None], jax.vmap(batch)(pre))  # one inner step
        valid = jax.vmap(batch)(post)
        adapted = algo.layout.map(lambda tr: algo.adapt_on_batches(state.meta_params, tr),
                                  train)
        objective = algo.meta_objective(train, valid, None, adapted)
        return algo.outer.update(objective, state.opt_state, state.meta_params)[:2]

    return learn


def run_metajax(tasks: int, episodes: int, chunk: int, groups: int, iterations: int,
                layouts: list[TaskLayout]) -> dict:
    config = load_config(str(HERE / "configs" / "halfcheetah_vel.yaml"), [
        f"maml.num_tasks={tasks}", f"maml.num_episodes={episodes}", f"maml.task_chunk={chunk}",
        f"maml.task_groups={groups}"])
    algo = build_algorithm(config)
    state = algo.init(jax.random.key(0))
    horizon = algo.env.max_steps_in_episode

    def physics(meta, key):
        """The meta-batch's rollouts alone: pre- and post-adaptation episodes of every task
        (both with the meta-params: the same cost), in the training's task chunks."""
        task_key, key = jax.random.split(key)
        goals = algo.env.sample_tasks(task_key, tasks)

        def per_task(task, k):
            return tuple(rollout(algo.env, algo.policy, meta["params"], task, kk, episodes,
                                 horizon) for kk in jax.random.split(k))

        return algo.layout._replace(groups=1).map(per_task, goals, jax.random.split(key, tasks))

    start = time.perf_counter()
    step = jax.jit(algo.step).lower(state, jax.random.key(1)).compile()
    compile_step = time.perf_counter() - start
    sample = jax.jit(physics).lower(state.meta_params, jax.random.key(1)).compile()
    learners = {"training layout": algo}
    learners.update({f"{layout.groups} groups" if layout.groups > 1 else
                     f"chunk {layout.chunk}" if layout.chunk else "one vmap":
                     dataclasses.replace(algo, layout=layout) for layout in layouts})
    trajectories = jax.block_until_ready(sample(state.meta_params, jax.random.key(3)))
    learn, compile_learn = {}, {}
    for name, learner in learners.items():
        start = time.perf_counter()
        learn[name] = jax.jit(learning_function(learner, tasks)).lower(
            state, *trajectories).compile()
        compile_learn[name] = time.perf_counter() - start
    physics_times, step_times, curve = [], [], []
    learning_times = {name: [] for name in learners}
    key = jax.random.key(2)
    for _ in range(iterations):
        key, k1, k2 = jax.random.split(key, 3)
        physics_times.append(timed(sample, state.meta_params, k1))
        for name, fn in learn.items():
            learning_times[name].append(timed(fn, state, *trajectories))
        start = time.perf_counter()
        state, metrics = jax.block_until_ready(step(state, k2))
        step_times.append(time.perf_counter() - start)
        curve.append((float(metrics["pre_return"]), float(metrics["post_return"])))
    return {"compile_seconds": compile_step, "times": step_times,
            "physics_times": physics_times,
            "learning_times": learning_times["training layout"],
            "layouts": {name: {"learning_times": t, "compile_seconds": compile_learn[name]}
                        for name, t in learning_times.items()},
            "curve": curve}


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
    direct = run.get("learning_times")  # metajax's, timed on its own
    return {"seconds_per_iteration": total, "physics_seconds": physics,
            "learning_seconds": statistics.median(direct) if direct else total - physics,
            "learning_by_difference": total - physics, "env_steps_per_second": steps / total,
            "physics_steps_per_second": steps / physics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--layouts", nargs="*", default=[],
                        help="more task layouts to time metajax's learning under")
    parser.add_argument("--out", default=str(HERE / "results" / "locomotion_vs_torch.json"))
    args = parser.parse_args()
    if args.tasks % args.chunk or args.tasks % args.groups:
        parser.error("--chunk and --groups must divide --tasks")
    try:
        layouts = [parse_layout(text) for text in args.layouts]
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    steps = 2 * args.tasks * args.episodes * locomotion.HalfCheetahVel.horizon
    runs = {"metajax": run_metajax(args.tasks, args.episodes, args.chunk, args.groups,
                                   args.iterations, layouts),
            "pytorch": run_torch(args.tasks, args.episodes, args.iterations)}
    table = {name: summary(run, steps) for name, run in runs.items()}
    ratio = {k: table["pytorch"][k] / table["metajax"][k]
             for k in ("seconds_per_iteration", "physics_seconds", "learning_seconds")}
    layouts = {name: statistics.median(r["learning_times"])
               for name, r in runs["metajax"]["layouts"].items()}
    data = {"device": str(jax.devices()[0]), "machine": platform.processor() or platform.machine(),
            "jax": jax.__version__, "torch": torch.__version__,
            "args": vars(args),
            "learning_by_layout": layouts,
            "env_steps_per_iteration": steps, "summary": table, "pytorch_over_metajax": ratio,
            "runs": runs}
    Path(args.out).write_text(json.dumps(data, indent=1))
    print(f"| | s/iteration | physics (s) | learning (s) | env steps/s |\n|---|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['seconds_per_iteration']:.2f} | {row['physics_seconds']:.2f} | "
              f"{row['learning_seconds']:.2f} | {row['env_steps_per_second']:.0f} |")
    print(f"PyTorch / metajax: {', '.join(f'{k} {v:.2f}x' for k, v in ratio.items())}")
    for name, seconds in layouts.items():
        print(f"metajax learning, {name}: {seconds:.2f} s "
              f"({table['pytorch']['learning_seconds'] / seconds:.2f}x PyTorch's)")
    print(f"metajax compile: {runs['metajax']['compile_seconds']:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
