"""A hyperparameter sweep in one program against the same points as separate runs.

MAML-TRPO at the pytorch-maml-rl reference configuration (Navigation2D, 20 tasks x 20
episodes) with ``maml.inner_lr`` swept over ``--points`` values: the sweep is one vmapped step
compiled once (``metajax.sweep``); the separate runs are one compiled step per value. Their
iterations are interleaved, so the ratio is not skewed by the machine's load. Reports compile
time and the median seconds per iteration of all points, and the largest difference between
the sweep's and the separate runs' parameters after each iteration (rounding at first; TRPO's
line search and early episode ends are discontinuous, so it can then grow as between any two
runs whose floats round differently).

    python benchmarks/sweep.py [--points 4] [--iterations 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from metajax import sweep
from metajax.config import build_algorithm, load_config

HERE = Path(__file__).parent


def main(points: int, iterations: int) -> dict:
    values = [round(0.05 * 2 ** (k / 2), 4) for k in range(points)]
    config = load_config(HERE / "configs" / "reference.yaml",
                         [f"sweep.maml.inner_lr={values}".replace(" ", "")])
    algo = build_algorithm(config.member(0))
    key = jax.random.key(0)
    keys = jax.numpy.stack([key] * points)  # every point draws the keys of one run, as in train

    start = time.perf_counter()
    swept_state = sweep.init_members(algo, config, keys)
    swept_step, _ = sweep.member_step(algo, config, lambda step: step)
    swept = jax.jit(swept_step).lower(swept_state, keys).compile()
    swept_compile = time.perf_counter() - start

    separate, states, separate_compile = [], [], 0.0
    for i in range(points):
        learner = build_algorithm(config.member(i))
        start = time.perf_counter()
        states.append(learner.init(key))
        separate.append(jax.jit(learner.step).lower(states[-1], key).compile())
        separate_compile += time.perf_counter() - start

    def largest_difference() -> float:
        return max(float(np.max(np.abs(np.asarray(a[i]) - np.asarray(b))))
                   for i, s in enumerate(states)
                   for a, b in zip(jax.tree.leaves(swept_state.params), jax.tree.leaves(s.params)))

    swept_times, separate_times, gaps = [], [], []
    for it in range(iterations):
        step_keys = jax.vmap(jax.random.fold_in, (0, None))(keys, it)
        start = time.perf_counter()
        swept_state, _ = jax.block_until_ready(swept(swept_state, step_keys))
        swept_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(points):
            states[i], _ = jax.block_until_ready(separate[i](states[i], step_keys[i]))
        separate_times.append(time.perf_counter() - start)
        gaps.append(largest_difference())
    gap = gaps[-1]
    row = {"points": points, "inner_lr": values, "iterations": iterations,
           "sweep_compile_s": swept_compile, "separate_compile_s": separate_compile,
           "sweep_s_per_iteration": statistics.median(swept_times),
           "separate_s_per_iteration": statistics.median(separate_times),
           "max_param_difference": gap, "max_param_difference_per_iteration": gaps,
           "platform": platform.platform(),
           "device": str(jax.devices()[0]), "jax": jax.__version__}
    print(f"| points | compile: sweep / separate (s) | s / iteration (all points): sweep / "
          f"separate | speed-up | max param difference after 1 / {iterations} iterations |\n"
          f"|---|---|---|---|---|\n"
          f"| {points} | {swept_compile:.1f} / {separate_compile:.1f} | "
          f"{row['sweep_s_per_iteration']:.2f} / {row['separate_s_per_iteration']:.2f} | "
          f"{row['separate_s_per_iteration'] / row['sweep_s_per_iteration']:.2f}x | "
          f"{gaps[0]:.1e} / {gap:.1e} |")
    (HERE / "results" / "sweep.json").write_text(json.dumps(row, indent=1))
    return row


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=5)
    main(**vars(parser.parse_args()))
