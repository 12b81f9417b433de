"""Does XLA:CPU deadlock on a batch of MJX envs stepped in one call? (``metajax.xla_cpu``.)

Each case runs in a child process: random actions, ``--steps`` steps per call, ``--calls``
calls; a child that finishes no call within ``--timeout`` seconds after its last one hung
(jaxlib's batched LAPACK calls waiting on each other: its CPU time stops growing). It is a
race, so a case that finishes proves little; one that hangs is the deadlock. Re-run it after a
jaxlib upgrade to see whether ``metajax.xla_cpu``'s limit can be lifted.

    python benchmarks/env_batch_probe.py [--envs 1024 2048] [--solver-iterations 1 2] [--merge]
"""

from __future__ import annotations

import argparse
import json
import platform
import select
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def child(env_id: str, envs: int, steps: int, calls: int, solver_iterations: int) -> None:
    """Steps ``envs`` envs ``calls`` times, printing ``call i`` after each (flushed)."""
    import jax

    import metajax
    from env_throughput import random_rollout  # benchmarks/ is the script's dir
    from metajax.envs import locomotion

    locomotion.MJX_SOLVER_ITERATIONS = solver_iterations  # read when the model is built
    env = metajax.make(env_id, backend="mjx", horizon=steps)[0]
    run = jax.jit(random_rollout(env, env.sample_tasks(jax.random.key(0), envs), envs, steps))
    for i in range(calls):
        jax.block_until_ready(run(jax.random.key(i)))
        print(f"call {i}", flush=True)


def probe(env_id: str, envs: int, steps: int, calls: int, solver_iterations: int,
          timeout: float) -> dict:
    """One case in a child process: the calls it finished, and whether it hung (no call
    finished within ``timeout`` seconds of the previous one, or of the start)."""
    command = [sys.executable, __file__, "--child", "--env", env_id, "--envs", str(envs),
               "--steps", str(steps), "--calls", str(calls),
               "--solver-iterations", str(solver_iterations)]
    start = time.perf_counter()
    done, hung = 0, False
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:
        while True:
            if not select.select([proc.stdout], [], [], timeout)[0]:
                hung = True
                proc.kill()
                break
            line = proc.stdout.readline()
            if not line:  # the child exited
                break
            done += line.startswith("call ")
    return {"env": env_id, "envs_per_call": envs, "solver_iterations": solver_iterations,
            "calls": calls, "calls_done": done, "hung": hung, "returncode": proc.returncode,
            "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetahVel-v0")
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--solver-iterations", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per call (compile included) before a case counts as hung")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--merge", action="store_true",
                        help="keep the results file's rows of other cases")
    parser.add_argument("--out", default=str(HERE / "results" / "env_batch_probe.json"))
    args = parser.parse_args()
    if args.child:
        return child(args.env, args.envs[0], args.steps, args.calls, args.solver_iterations[0])
    import jaxlib

    rows = []
    print("| env | envs per call | solver iterations | calls done | hung |\n"
          "|---|---|---|---|---|")
    for iterations in args.solver_iterations:
        for envs in args.envs:
            row = probe(args.env, envs, args.steps, args.calls, iterations, args.timeout)
            rows.append(row)
            print(f"| {args.env} | {envs} | {iterations} | {row['calls_done']} of "
                  f"{args.calls} | {'yes' if row['hung'] else 'no'} |", flush=True)
    if args.merge and Path(args.out).is_file():
        case = lambda r: (r["env"], r["envs_per_call"], r["solver_iterations"])  # noqa: E731
        new = {case(r) for r in rows}
        rows = [r for r in json.loads(Path(args.out).read_text())["rows"]
                if case(r) not in new] + rows
    Path(args.out).write_text(json.dumps(
        {"machine": platform.node(), "jaxlib": jaxlib.__version__, "steps": args.steps,
         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
