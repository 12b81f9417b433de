"""Speed of one MAML-TRPO meta-iteration at the pytorch-maml-rl reference configuration
(20 tasks x 20 trajectories x 100 steps, before and after adaptation: 80k env steps; TRPO with
10 CG iterations and the line search, all inside one compiled step).

Reports compile time separately, the median (and spread) of repeated iterations, environment
steps per second, and the achieved FLOP/s as a fraction of a large float32 matmul measured in
the same run. FLOPs come from XLA's cost analysis; because XLA counts a while-loop body once,
the loop bodies (one rollout step, one line-search evaluation, and one Fisher-vector product
when CG is a loop, ``maml.cg_unroll=false``) are compiled and counted on their own and
multiplied by their trip counts.

Each task layout in ``--task-groups`` (``maml.task_groups``: 1 is one vmap over the tasks, 20
runs the post-adaptation objective as 20 concurrent per-task subgraphs) is compiled and timed
in the same run, iterations interleaved, so their ratio is not skewed by the machine's load.

    python benchmarks/speed.py [--iterations 10] [--task-groups 1,20] [--config FILE] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from metajax.config import build_algorithm, load_config
from metajax.rollouts import rollout

HERE = Path(__file__).parent


def flops(compiled) -> float:
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    return float(analysis["flops"])


def timed(fn, *args, repeats: int):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return times


def matmul_timer(n: int = 2048, repeats: int = 3):
    """``() -> FLOP/s`` of ``repeats`` timed ``n x n`` float32 matmuls (their median): called
    between the meta-iterations, so both see the same state of a shared machine."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    matmul = jax.jit(lambda x, y: x @ y).lower(a, a).compile()
    jax.block_until_ready(matmul(a, a))
    return lambda: 2 * n**3 / statistics.median(timed(matmul, a, a, repeats=repeats))


def loop_body_flops(algo, params, key) -> dict[str, float]:
    """FLOPs of the while-loop bodies XLA counts only once: a one-step rollout of every task,
    one Fisher-vector product and one surrogate/KL evaluation."""
    c = algo.config
    tasks = algo.env.sample_tasks(key, c.num_tasks)
    keys = jax.random.split(key, c.num_tasks)
    one_step = jax.jit(jax.vmap(
        lambda task, k: rollout(algo.env, algo.policy, params["params"], task, k,
                                c.num_episodes, 1)
    )).lower(tasks, keys).compile()

    train, valid, *_ = jax.jit(algo.sample_meta_batch)(params, key)

    def products(p, n):
        fvp = algo.post_adaptation(train, valid).fisher_vector_product(p)[1]
        v = p
        for _ in range(n):
            v = fvp(v)
        return v

    fvp1 = jax.jit(lambda p: products(p, 1)).lower(params).compile()
    fvp2 = jax.jit(lambda p: products(p, 2)).lower(params).compile()
    post = algo.post_adaptation(train, valid)
    old = jax.lax.stop_gradient(post.dist(params))
    evaluate = jax.jit(lambda p: post.surrogate(p, old)).lower(params).compile()
    return {"rollout_step": flops(one_step), "fvp": flops(fvp2) - flops(fvp1),
            "line_search_eval": flops(evaluate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(HERE / "configs" / "reference.yaml"))
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--task-groups", default="1,20",
                        help="comma-separated maml.task_groups layouts to time side by side")
    parser.add_argument("--out", default=str(HERE / "results" / "speed.json"))
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()

    layouts = [int(g) for g in args.task_groups.split(",")]
    config = load_config(args.config, args.overrides)
    algos = {g: build_algorithm(load_config(args.config, args.overrides
                                            + [f"maml.task_groups={g}"])) for g in layouts}
    algo = algos[layouts[0]]
    c = algo.config
    key = jax.random.key(0)
    state = algo.init(key)

    compiled, compile_seconds = {}, {}
    for g, a in algos.items():
        start = time.perf_counter()
        compiled[g] = jax.jit(a.step).lower(state, key).compile()
        compile_seconds[g] = time.perf_counter() - start

    keys = iter(jax.random.split(jax.random.key(1), args.warmup + args.iterations))
    states = {g: state for g in layouts}
    for _ in range(args.warmup):
        k = next(keys)
        for g in layouts:
            states[g], metrics = compiled[g](states[g], k)
    jax.block_until_ready(states)
    times = {g: [] for g in layouts}
    ls_steps, cg_iters = {g: [] for g in layouts}, {g: [] for g in layouts}
    matmul, matmul_rates = matmul_timer(), []
    for _ in range(args.iterations):
        k = next(keys)
        matmul_rates.append(matmul())
        for g in layouts:
            start = time.perf_counter()
            states[g], metrics = compiled[g](states[g], k)
            jax.block_until_ready((states[g], metrics))
            times[g].append(time.perf_counter() - start)
            ls_steps[g].append(int(metrics["line_search_steps"]))
            cg_iters[g].append(int(metrics["cg_iterations"]))
    env_steps = c.num_tasks * c.num_episodes * algo.env.max_steps_in_episode * (c.inner_steps + 1)

    body = loop_body_flops(algo, states[layouts[0]].meta_params, key)
    peak = statistics.median(matmul_rates)

    def layout_result(g):
        median = statistics.median(times[g])
        step_flops = flops(compiled[g])
        mean_ls, mean_cg = float(np.mean(ls_steps[g])), float(np.mean(cg_iters[g]))
        # the step's count has each loop body once; add the remaining trips (CG in a loop:
        # cg_iterations products; unrolled, all cg_iters products are in the count already;
        # the step length reuses CG's residual)
        cg_uncounted = 0.0 if algos[g].config.cg_unroll else mean_cg - 1
        total_flops = (step_flops
                       + (algo.env.max_steps_in_episode - 1) * (c.inner_steps + 1) * body["rollout_step"]
                       + cg_uncounted * body["fvp"]
                       + (mean_ls - 1) * body["line_search_eval"])
        return {
            "task_groups": g,
            "compile_seconds": compile_seconds[g],
            "mean_line_search_steps": mean_ls, "mean_cg_iterations": mean_cg,
            "seconds_per_iteration": {"median": median, "min": min(times[g]),
                                      "max": max(times[g]), "all": times[g]},
            "env_steps_per_second": env_steps / median,
            "flops": {"step_as_counted_by_xla": step_flops, "loop_bodies": body,
                      "total_per_iteration": total_flops},
            "achieved_flops_per_second": total_flops / median,
            "fraction_of_matmul": total_flops / median / peak,
        }

    results = [layout_result(g) for g in layouts]
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "device": str(jax.devices()[0]),
                    "jax": jax.__version__},
        "config": config.to_dict(),
        "env_steps_per_iteration": env_steps,
        "matmul_flops_per_second": peak,
        "matmul_flops_per_second_all": matmul_rates,
        **results[0],  # the first layout, as before
        "layouts": results,
    }
    rows = [("task_groups", lambda r: f"{r['task_groups']}"),
            ("compile time (s)", lambda r: f"{r['compile_seconds']:.1f}"),
            ("seconds / meta-iteration (median)",
             lambda r: f"{r['seconds_per_iteration']['median']:.3f}"),
            ("  spread (min - max)", lambda r: f"{r['seconds_per_iteration']['min']:.3f} - "
                                               f"{r['seconds_per_iteration']['max']:.3f}"),
            ("env steps / second", lambda r: f"{r['env_steps_per_second']:,.0f}"),
            ("CG iterations / line-search steps",
             lambda r: f"{r['mean_cg_iterations']:.1f} / {r['mean_line_search_steps']:.1f}"),
            ("GFLOP / iteration (XLA cost analysis)",
             lambda r: f"{r['flops']['total_per_iteration'] / 1e9:.2f}"),
            ("achieved GFLOP/s", lambda r: f"{r['achieved_flops_per_second'] / 1e9:.1f}"),
            ("fraction of matmul FLOP/s", lambda r: f"{100 * r['fraction_of_matmul']:.1f}%")]
    width = max(len(r[0]) for r in rows)
    print(f"\nMAML-TRPO meta-iteration, {config.env}, {c.num_tasks} tasks x {c.num_episodes} "
          f"episodes, policy {list(config.policy.hidden_sizes)} {config.policy.activation} "
          f"on {jax.devices()[0].platform} ({os.cpu_count()} cores); {env_steps} env steps, "
          f"matmul 2048^2 {peak / 1e9:.1f} GFLOP/s")
    for name, cell in rows:
        print(f"  {name:<{width}}  " + "  ".join(f"{cell(r):>16}" for r in results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
