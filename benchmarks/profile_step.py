"""Where the time of one MAML-TRPO meta-iteration goes on the CPU: XLA's own per-operation
trace (``jax.profiler`` with ``--xla_cpu_enable_xprof_traceme``), summed over XLA's threads and
grouped by kind of operation (library matrix products and fusions, plain dots, layout copies,
elementwise fusions, loop control), against the untraced wall time the threads had. Tracing
adds a little to every operation, so programs with many small operations read high.

    python benchmarks/profile_step.py [--task-groups 1] [--repeats 3] [key=value ...]
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_cpu_enable_xprof_traceme=true").strip()

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

from metajax.config import build_algorithm, load_config  # noqa: E402

HERE = Path(__file__).parent
KINDS = [("matrix products (YNNPACK fusions)", r"^ynn_fusion"), ("matrix products (dot)", r"^dot"),
         ("layout copies and transposes", r"copy|transpose"),
         ("loops and waiting", r"^while|Await|^conditional"), ("elementwise fusions", r"fusion"),
         ("other", r"")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(HERE / "configs" / "reference.yaml"))
    parser.add_argument("--task-groups", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "profile_step.json"))
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()

    algo = build_algorithm(load_config(args.config, args.overrides
                                       + [f"maml.task_groups={args.task_groups}"]))
    key = jax.random.key(0)
    state = algo.init(key)
    step = jax.jit(algo.step).lower(state, key).compile()
    jax.block_until_ready(step(state, key))
    start = time.perf_counter()
    for _ in range(args.repeats):
        jax.block_until_ready(step(state, key))
    wall = (time.perf_counter() - start) / args.repeats  # untraced
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir):
            for _ in range(args.repeats):
                jax.block_until_ready(step(state, key))
        trace = next(Path(trace_dir).rglob("*.xplane.pb"))
        profile = jax.profiler.ProfileData.from_file(str(trace))
        per_op, threads = collections.Counter(), set()
        for plane in profile.planes:
            for line in plane.lines:
                if not line.name.startswith("tf_XLAEigen"):
                    continue
                for event in line.events:
                    if event.name.startswith("ThunkExecutor") or event.name.startswith("end:"):
                        continue
                    threads.add(line.name)
                    per_op[event.name] += event.duration_ns / 1e9 / args.repeats
    by_kind = collections.Counter()
    for name, seconds in per_op.items():
        kind = next(k for k, pattern in KINDS if re.search(pattern, name))
        by_kind[kind] += seconds
    busy = sum(by_kind.values())
    capacity = wall * max(len(threads), 1)
    print(f"\nOne meta-iteration (task_groups={args.task_groups}): {wall:.3f} s wall (untraced), "
          f"{len(threads)} XLA threads, {busy:.3f} s of traced operations "
          f"({100 * busy / capacity:.0f}% of the threads' time; tracing adds to each)")
    for kind, seconds in by_kind.most_common():
        print(f"  {kind:<36} {seconds:7.3f} s  {100 * seconds / busy:5.1f}%")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "task_groups": args.task_groups, "wall_seconds": wall, "threads": len(threads),
        "busy_seconds": busy, "by_kind": dict(by_kind.most_common()),
        "top_operations": dict(per_op.most_common(20)), "device": str(jax.devices()[0])},
        indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
