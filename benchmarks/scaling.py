"""B3: MAML-TRPO (reference configuration) as the meta-batch grows: 20, 100, 500, 2000 tasks.
For each size: compile time, seconds per meta-iteration (median of ``--repeats`` after
``--warmup`` untimed iterations: XLA:CPU builds its YNNPACK kernels on the first call), seconds
per task, and the memory XLA plans for the compiled step (arguments + outputs + temporaries,
from ``compiled.memory_analysis()``); optionally with the task axis chunked
(``maml.task_chunk``: chunks of tasks one after another instead of one vmap). ``--config``
takes another configuration, e.g. a locomotion one.

    python benchmarks/scaling.py [--sizes 20 100 500] [--chunked 20 100 500 2000] [--chunk 5]
    python benchmarks/scaling.py --config benchmarks/configs/halfcheetah_vel.yaml --sizes \
        --chunked 40 200 --chunk 10 --plan-only 40 200 1000 --chunked-plan-only 1000 \
        --repeats 1 --warmup 0 --out benchmarks/results/scaling_halfcheetah_vel.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from unittest import mock

import jax

from metajax import xla_cpu
from metajax.config import build_algorithm, load_config

HERE = Path(__file__).parent


def measure(tasks: int, repeats: int, chunk: int, run: bool = True, warmup: int = 1,
            config: str | None = None) -> dict:
    overrides = [f"maml.num_tasks={tasks}", f"maml.task_chunk={chunk}"]
    key, init_key = jax.random.split(jax.random.key(0))
    # a plan is compiled, never run: no env batch limit (it guards against a deadlock)
    unlimited = {} if run else {xla_cpu.ALLOW_LARGE_ENV_BATCHES: "1"}
    with mock.patch.dict(os.environ, unlimited):
        algo = build_algorithm(load_config(config, overrides))
        state = algo.init(init_key)
        start = time.perf_counter()
        step = jax.jit(algo.step).lower(state, key).compile()
        compile_seconds = time.perf_counter() - start
    memory = step.memory_analysis()
    planned = (memory.argument_size_in_bytes + memory.output_size_in_bytes
               + memory.temp_size_in_bytes)
    if not run:  # too big to run here: the plan only
        return {"tasks": tasks, "chunk": chunk, "compile_seconds": compile_seconds,
                "seconds": None, "times": [], "seconds_per_task": None,
                "planned_bytes": planned, "temp_bytes": memory.temp_size_in_bytes}
    for i in range(warmup):
        jax.block_until_ready(step(state, jax.random.key(repeats + i + 1)))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(state, jax.random.key(i + 1)))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"tasks": tasks, "chunk": chunk, "compile_seconds": compile_seconds,
            "seconds": median, "times": times, "seconds_per_task": median / tasks,
            "planned_bytes": planned, "temp_bytes": memory.temp_size_in_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[20, 100, 500],
                        help="meta-batch sizes run as one vmap over tasks")
    parser.add_argument("--chunked", type=int, nargs="*", default=[20, 100, 500, 2000],
                        help="meta-batch sizes run in chunks of --chunk tasks")
    parser.add_argument("--chunk", type=int, default=5)
    parser.add_argument("--plan-only", type=int, nargs="*", default=[2000],
                        help="meta-batch sizes compiled unchunked for their memory plan only")
    parser.add_argument("--chunked-plan-only", type=int, nargs="*", default=[],
                        help="meta-batch sizes compiled in chunks for their memory plan only")
    parser.add_argument("--config", default=None,
                        help="a config file (default: the reference configuration)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--merge", action="store_true",
                        help="add these rows to the existing results file")
    parser.add_argument("--out", default=str(HERE / "results" / "scaling.json"))
    args = parser.parse_args()
    rows = []
    runs = ([(n, 0, True) for n in args.sizes] + [(n, args.chunk, True) for n in args.chunked]
            + [(n, 0, False) for n in args.plan_only]
            + [(n, args.chunk, False) for n in args.chunked_plan_only])
    for tasks, chunk, run in runs:
        row = measure(tasks, args.repeats, chunk, run, args.warmup, args.config)
        rows.append(row)
        timing = (f"{row['seconds']:.2f} | {1000 * row['seconds_per_task']:.1f} ms" if run
                  else "not run | -")
        print(f"| {tasks} | {row['chunk'] or '-'} | {row['compile_seconds']:.1f} | {timing} | "
              f"{row['planned_bytes'] / 2**30:.2f} GiB |", flush=True)
    if Path(args.out).is_file() and args.merge:  # keep earlier rows of other sizes
        earlier = json.loads(Path(args.out).read_text())["rows"]
        keys = {(r["tasks"], r["chunk"], r["seconds"] is None) for r in rows}
        rows = [r for r in earlier
                if (r["tasks"], r["chunk"], r["seconds"] is None) not in keys] + rows
        rows.sort(key=lambda r: (r["seconds"] is None, bool(r["chunk"]), r["tasks"]))
    Path(args.out).write_text(json.dumps({
        "rows": rows, "repeats": args.repeats, "warmup": args.warmup, "config": args.config,
        "machine": {"platform": platform.platform(), "device": str(jax.devices()[0]),
                    "jax": jax.__version__}}, indent=1))


if __name__ == "__main__":
    main()
