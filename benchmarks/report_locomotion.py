"""RESULTS.md's locomotion section, from ``results/locomotion_throughput.json`` and
``results/locomotion_<env>.json`` (imported by report.py)."""

from __future__ import annotations


def locomotion_section(throughput: dict | None, runs: list[dict]) -> list[str]:
    lines = ["## Locomotion on brax: HalfCheetah and Ant task distributions", ""]
    if throughput is not None:
        a = throughput["args"]
        lines += [
            f"Command: `python benchmarks/locomotion_throughput.py` ({throughput['device']}, "
            f"{throughput['cpus']} device): env steps per second with random actions, "
            f"{a['tasks']} tasks x {a['episodes']} episodes in one vmapped call for "
            f"{a['steps']} steps (jit of a scan of a vmap, resets included), median of "
            f"{a['repeats']}; Gymnasium's C MuJoCo envs stepped from Python beside them.", "",
            "| env | physics | envs per call | steps / s | compile (s) |", "|---|---|---|---|---|"]
        for r in throughput["rows"]:
            compile_s = f"{r['compile_seconds']:.1f}" if r["compile_seconds"] else "-"
            lines.append(f"| {r['env']} | {r['backend']} | {r['envs_per_call']} | "
                         f"{r['steps_per_second']:,.0f} | {compile_s} |")
        lines.append("")
    for run in runs:
        a = run["args"]
        pre, post = run["pre_return"], run["post_return"]
        last = slice(-10, None)
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        lines += [
            f"### MAML-TRPO on {run['env']}, CPU-sized", "",
            f"Command: `python benchmarks/locomotion_maml.py --env {run['env']} --tasks "
            f"{a['tasks']} --episodes {a['episodes']} --iterations {a['iterations']} --chunk "
            f"{a['chunk']}` ({run['device']}, physics `{run['backend']}`): {a['tasks']} tasks x "
            f"{a['episodes']} episodes of 100 steps per meta-iteration, one inner step of 0.1, "
            "TRPO max-KL 0.01, [64, 64] tanh (the pytorch-maml-rl reference has 40 x 20 and "
            "500 iterations).", "",
            "| | pre-adaptation | post-adaptation (1 step) |", "|---|---|---|",
            f"| training, first 10 iterations | {mean(pre[:10]):.1f} | {mean(post[:10]):.1f} |",
            f"| training, last 10 iterations | {mean(pre[last]):.1f} | {mean(post[last]):.1f} |",
            f"| meta-test, {40} held-out tasks (± s.e.) | {run['meta_test_pre']:.1f} ± "
            f"{run['meta_test_se'][0]:.1f} | {run['meta_test_post']:.1f} ± "
            f"{run['meta_test_se'][1]:.1f} |", "",
            f"Time: {run['seconds_per_iteration']:.1f} s per meta-iteration "
            f"({run['env_steps_per_iteration']:,} env steps), compile "
            f"{run['compile_seconds']:.0f} s; sampling the meta-batch (physics and policy) "
            f"takes {run['sample_seconds']:.1f} s of a {run['step_seconds']:.1f} s step "
            f"({100 * run['sample_seconds'] / run['step_seconds']:.0f}%).", "",
            f"![MAML-TRPO on {run['env']}]({run['plot']})", ""]
    return lines
