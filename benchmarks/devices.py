"""Time per MAML-TRPO meta-iteration (reference configuration, 40 tasks so that every device
count divides the meta-batch) with the task axis sharded over 1, 2, 4 and 8 forced CPU
devices (``XLA_FLAGS=--xla_force_host_platform_device_count=8``, each count in its own
process). On a machine with fewer cores than devices this measures the sharding overhead,
not a speed-up; on a GPU host, pass ``--platform gpu`` to use its devices instead.

    python benchmarks/devices.py [--counts 1 2 4 8] [--iterations 5] [--tasks 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

WORKER = r"""
import json, statistics, sys, time
import jax
from metajax.config import build_algorithm, load_config
devices, tasks, iterations = (int(x) for x in sys.argv[1:4])
algo = build_algorithm(load_config(None, [f"devices={devices}", f"maml.num_tasks={tasks}"]))
key = jax.random.key(0)
state = algo.init(key)
start = time.perf_counter()
step = jax.jit(algo.step).lower(state, key).compile()
compile_seconds = time.perf_counter() - start
times = []
for i in range(iterations + 1):
    start = time.perf_counter()
    state, metrics = jax.block_until_ready(step(state, jax.random.key(i + 1)))
    times.append(time.perf_counter() - start)
print(json.dumps({"devices": devices, "compile_seconds": compile_seconds,
                  "seconds": statistics.median(times[1:]), "times": times[1:],
                  "device_kind": str(jax.devices()[0])}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--platform", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--out", default=str(HERE / "results" / "devices.json"))
    args = parser.parse_args()
    env = dict(os.environ, JAX_PLATFORMS=args.platform)
    if args.platform == "cpu":
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={max(args.counts)}"
    rows = []
    for count in args.counts:
        proc = subprocess.run([sys.executable, "-c", WORKER, str(count), str(args.tasks),
                               str(args.iterations)], capture_output=True, text=True, env=env,
                              check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"| {count} | {r['seconds']:.3f} | {r['compile_seconds']:.1f} |", flush=True)
    Path(args.out).write_text(json.dumps({
        "tasks": args.tasks, "iterations": args.iterations, "platform": args.platform,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
