"""Writes benchmarks/RESULTS.md from the JSON results of speed.py and fidelity.py.

    python benchmarks/report.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from report_locomotion import locomotion_section  # benchmarks/ is the script's dir

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def speed_section(speed: dict) -> list[str]:
    m = speed["machine"]
    layouts = speed.get("layouts", [speed])

    def row(name, cell, target=""):
        return f"| {name} | " + " | ".join(cell(r) for r in layouts) + f" | {target} |"

    seconds = lambda r: r["seconds_per_iteration"]
    return [
        "## Speed: one MAML-TRPO meta-iteration at the pytorch-maml-rl reference configuration",
        "",
        f"Machine: {m['platform']}, {m['cpu_count']} cores, device `{m['device']}`, "
        f"jax {m['jax']}. Command: `python benchmarks/speed.py` "
        f"({len(layouts[0]['seconds_per_iteration']['all'])} timed iterations after warm-up, "
        "the layouts interleaved). Columns: `maml.task_groups` (1: one vmap over the tasks; "
        "20: the post-adaptation objective as 20 concurrent per-task subgraphs).",
        "",
        "| measure | " + " | ".join(f"task_groups={r.get('task_groups', 1)}" for r in layouts)
        + " | target |",
        "|---|" + "---|" * len(layouts) + "---|",
        row("seconds per meta-iteration (median)", lambda r: f"{seconds(r)['median']:.3f}",
            "<= 0.8"),
        row("spread (min - max)", lambda r: f"{seconds(r)['min']:.3f} - {seconds(r)['max']:.3f}"),
        row("compile time (s, separately)", lambda r: f"{r['compile_seconds']:.1f}"),
        row("env steps per second", lambda r: f"{r['env_steps_per_second']:,.0f}"),
        row("GFLOP per iteration (XLA cost analysis, loop trips included)",
            lambda r: f"{r['flops']['total_per_iteration'] / 1e9:.2f}"),
        row("achieved GFLOP/s", lambda r: f"{r['achieved_flops_per_second'] / 1e9:.1f}"),
        row("fraction of the matmul FLOP/s", lambda r: f"{100 * r['fraction_of_matmul']:.1f}%",
            ">= 30%"),
        "",
        f"Same run: {speed['env_steps_per_iteration']:,} environment steps per iteration; "
        "CG iterations / line-search steps (mean) " + ", ".join(
            f"{r['mean_cg_iterations']:.1f} / {r['mean_line_search_steps']:.1f}"
            for r in layouts) + "; 2048x2048 float32 matmul "
        f"{speed['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s.",
        "",
    ]


def fidelity_section(fid: dict) -> list[str]:
    pub = fid["published"]
    budget = fid.get("budget", 100)
    rows = ["## Fidelity: MAML paper 2D navigation (Finn et al. 2017)", "",
            "Configuration `benchmarks/configs/maml_paper.yaml` (policy (100, 100) ReLU, 40 tasks x "
            f"20 trajectories, inner lr 0.5, TRPO max-KL 0.01, {budget} meta-iterations, rllab "
            "action scaling). Meta-test: 40 fresh tasks, 40 trajectories (4000 steps) per VPG "
            f"step; mean +- standard error over {fid['test_seeds']} independent sets of 40 tasks. "
            "Command: `python benchmarks/fidelity.py`. Reproduction row: the step sizes of the "
            "paper's test script (cbfinn/maml_rl `test_maml_point.py`: 0.5, then 0.25); the "
            "other rows are a sensitivity study. Target: within 15% of the published return "
            "after 1 step, at least as good after 2 and 3 steps.", "",
            "| test step sizes | 0 steps | 1 step | 2 steps | 3 steps | target met |",
            "|---|---|---|---|---|---|",
            "| published (MAML paper) | " + " | ".join(f"{p:.1f}" for p in pub) + " | |"]

    def row(name, p, bold=False):
        cells = " | ".join(f"{m:.2f} +- {s:.2f}" for m, s in zip(p["mean"], p["sem"]))
        label = f"**{name}**" if bold else name
        return f"| {label} | {cells} | {'yes' if p['meets_target'] else 'no'} |"

    reproduction = fid.get("reproduction", next(iter(fid["protocols"])))
    for name, p in fid["protocols"].items():
        rows.append(row(name, p, bold=name == reproduction))
    first = fid["protocols"][reproduction]["mean"]
    rows += ["", f"After 1 step: {100 * (first[1] - pub[1]) / abs(pub[1]):+.1f}% from the "
             f"published figure. Seconds per meta-iteration at this (larger) configuration: "
             f"{fid['seconds_per_iteration']:.2f}; compile {fid['compile_seconds']:.1f} s.", ""]
    if fid.get("gap_study"):
        rows += ["### The gap after 2 and 3 steps: one change at a time", "",
                 "Every row: the reproduction protocol (0.5, 0.25, 0.25); mean +- standard error "
                 f"over {fid['test_seeds']} samplings.", "",
                 "| change | 0 steps | 1 step | 2 steps | 3 steps | target met |",
                 "|---|---|---|---|---|---|",
                 row(f"none (reproduction row, {budget} it., fresh tasks)",
                     fid["protocols"][reproduction])]
        rows += [row(name, p) for name, p in fid["gap_study"].items()] + [""]
    return rows


def long_run_section(runs: dict[str, dict]) -> list[str]:
    """Post-adaptation meta-test returns over whole runs, both loss weightings
    (``long_run.py``), one table per configuration."""
    from long_run import table

    rows = ["## Long runs: does MAML-TRPO keep improving? (loss weighting)", "",
            "Each run meta-tested on the same held-out tasks at fixed iterations: the mean "
            "return after one adaptation step, +- its standard error over the tasks. "
            "`episode`: losses averaged within each episode, then over episodes "
            "(pytorch-maml-rl); `step`: over all steps (rllab, ProMP). 'keeps improving': no "
            "meta-test after 100 iterations is worse than the best earlier one by more than 2 "
            "standard errors.", ""]
    for name, data in runs.items():
        protocol = data["runs"][0]["protocol"]
        commands = "; ".join(f"`{c}`" for c in data["commands"])
        rows += [f"### {name}", "",
                 f"Commands: {commands}. Meta-test: {protocol['tasks']} tasks, one step "
                 f"of {protocol['episodes']} episodes at step size {protocol['lr']}. "
                 f"Device: {data['device']}.", "", table(data["runs"], data.get("peer")), "",
                 f"![{name}](results/{name}.png)", ""]
    return rows


def sinusoid_section(data: dict) -> list[str]:
    rows = ["## Few-shot sinusoid regression (MAML family on the shared core)", "",
            "Command: `python benchmarks/sinusoid.py` (MAML paper setup, 70,000 meta-iterations "
            "per row; 600 fresh tasks x 100 query points; +- is the 95% interval). Published: "
            "Meta-SGD paper (Li et al. 2017), Table 1. Target: MAML at least as good as "
            "published, Meta-SGD better than MAML.", "",
            "| shots | algorithm | MSE before | MSE after 1 step | after 10 steps | published (1 step) "
            "| train time (s) |", "|---|---|---|---|---|---|---|"]
    for r in data["results"]:
        pub = f"{r['published_1']:.2f}" if r["published_1"] else "-"
        after_10 = (f"{r['mse_10']:.3f}" if r["mse_10"] is not None and math.isfinite(r["mse_10"])
                    else "diverged")
        rows.append(f"| {r['shots']} | {r['algo']} | {r['mse_0']:.3f} | {r['mse_1']:.3f} +- "
                    f"{r['ci95_1']:.3f} | {after_10} | {pub} | {r['seconds']:.0f} |")
    return rows + ["", "'diverged': Meta-SGD's per-parameter step sizes are meta-learned for "
                   "the one adaptation step of training; applied 10 times they overshoot and "
                   "the error overflows (a property of the learned rule, not a number to "
                   "compare).", ""]


def rl_family_section(data: dict) -> list[str]:
    rows = ["## The meta-RL family with one shared budget", "",
            "Command: `python benchmarks/rl_family.py` (per environment the same meta-iterations, "
            "20 tasks x 20 trajectories, policy and inner step size for every algorithm; each "
            "algorithm's preset otherwise). Meta-test: 40 held-out tasks, one adaptation step "
            "of 20 trajectories. Optimal: best arm / finite-horizon value iteration.", "",
            "| environment | algorithm | iterations | before | after 1 step | % of optimal "
            "| train time (s) |", "|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        frac = f"{100 * r['post'] / r['optimal']:.0f}%" if r["optimal"] else "-"
        rows.append(f"| {r['env']} | {r['algo']} | {r['iterations']} | {r['pre']:.2f} | "
                    f"{r['post']:.2f} | {frac} | {r['seconds']:.0f} |")
    return rows + ["", "![ProMP vs MAML-TRPO](promp_vs_maml_navigation.png)", ""]


def bandit_estimators_section(data: dict) -> list[str]:
    rows = ["### MAML's inner estimator on bandits: VPG or LVC", "",
            "Command: `python benchmarks/bandit_estimators.py` (the family table's budget, "
            f"seeds {', '.join(map(str, data['rows'][0]['seeds']))}; return per pull on 40 "
            "held-out tasks after one adaptation step).", "",
            "| environment | inner estimator | before (per seed) | after 1 step (per seed) | "
            "mean after | optimal |", "|---|---|---|---|---|---|"]
    for r in data["rows"]:
        rows.append(f"| {r['env']} | {r['label']} | {', '.join(f'{x:.2f}' for x in r['pre'])} "
                    f"| {', '.join(f'{x:.2f}' for x in r['post'])} | "
                    f"{sum(r['post']) / len(r['post']):.2f} | {r['optimal']:.2f} |")
    return rows + [""]


RL2_AGENTS = ["rl2", "random", "gittins", "ts", "ots", "ucb1", "epsilon_greedy", "greedy",
              "psrl", "optimal", "expected_optimum"]


def rl2_paper_section(data: dict) -> list[str]:
    rows = ["## RL^2: the paper's Tables 1 and 2 beside our RL^2 and classic agents", "",
            "Command: `python benchmarks/rl2_paper.py --maml` (one RL^2 learner per row, PPO, "
            "one seed; every agent on the same 1000 held-out tasks; total reward over the "
            "trial, mean ± 95% interval); a row alone: `--rows mdp-n10` (the MDP and 100-pull "
            "rows use the separate-critic settings listed with them). Published: Duan et al. 2016, Tables 1-2 (1000 tasks "
            f"each). Device: `{data.get('machine', {}).get('device', '?')}`.", ""]
    for r in data["rows"]:
        c = r["config"]
        rows += [f"### {r['row']}: RL^2 trained {c['updates']} updates "
                 f"({r['train_seconds'] / 60:.1f} min, +{r['compile_seconds']:.0f} s compile; "
                 f"settings {', '.join(f'{k}={v}' for k, v in c.items() if k != 'updates')})",
                 "", "| agent | ours | published |", "|---|---|---|"]
        for name in RL2_AGENTS:
            if name in r["results"]:
                v = r["results"][name]
                rows.append(f"| {name} | {v['mean']:.2f} ± {v['ci95']:.2f} | "
                            f"{r['published'].get(name, '')} |")
        per_episode = ", ".join(f"{x:.2f}" for x in r["rl2_per_episode"][:10])
        rows += ["", f"RL^2 mean return per episode of the trial (first 10): {per_episode}", ""]
    if data.get("maml_vs_rl2"):
        rows += ["### MAML vs RL^2 on the same tasks", "",
                 "Per-episode return on the same 1000 held-out tasks. MAML-TRPO and ProMP (inner "
                 "step 0.5, policy [32], 300 meta-iterations of 20 tasks) sample the row's n "
                 "episodes with the pre-update policy, take one VPG step, and are scored per "
                 "episode after it; RL^2's counterparts are its first and last episode of a "
                 "trial of n.", "",
                 "| row | method | pre | post | RL^2 first | RL^2 last | optimal | "
                 "iterations (s) |", "|---|---|---|---|---|---|---|---|"]
        for c in data["maml_vs_rl2"]:
            rows.append(f"| {c['row']} | {c.get('algo', 'maml')} | {c['maml_pre']:.2f} | "
                        f"{c['maml_post']:.2f} | "
                        f"{c['rl2_first']:.2f} | {c['rl2_last']:.2f} | "
                        f"{c['optimal_per_episode']:.2f} | {c['maml_iterations']} "
                        f"({c['maml_seconds']:.0f}) |")
        rows.append("")
    return rows


def meta_init_section(data: dict) -> list[str]:
    rows = ["## Meta-initialised vs from-scratch learners on CartPole dynamics", "",
            "Command: `python benchmarks/meta_init_cartpole.py` (Reptile over "
            "`CartPoleDynamics-v0`, 8 tasks per meta-iteration, each inner run the learner's "
            "whole fine-tuning budget; then 20 held-out tasks fine-tuned for that budget from "
            "each initialisation; greedy return over 20 episodes per task, mean ± s.e. over "
            "tasks).", "",
            "| learner | Reptile iterations (s) | fine-tuning steps | meta-init | from scratch |",
            "|---|---|---|---|---|"]
    for r in data["results"]:
        m, sc = r["meta"], r["scratch"]
        rows.append(f"| {r['learner']} | {r['meta_iterations']} ({r['meta_seconds']:.0f}) | "
                    f"{r['inner_steps']:,} | {m['greedy_return']:.1f} ± "
                    f"{m['greedy_return_se']:.1f} | {sc['greedy_return']:.1f} ± "
                    f"{sc['greedy_return_se']:.1f} |")
    return rows + ["", "![meta-init vs scratch](meta_init_cartpole.png)", ""]


def agents_vs_torch_section(data: dict) -> list[str]:
    m = data["machine"]
    rows = ["## DQN and PPO on CartPole-v1: metajax vs PyTorch (CleanRL style)", "",
            f"Command: `python benchmarks/agents_vs_torch.py --compile` on {m['platform']}, "
            f"{m['cpu_count']} cores, jax {m['jax']}, torch {m['torch']} "
            f"({m['torch_threads']} threads). One seed, {data['steps']:,} environment steps, "
            "same hyperparameters and env spec on both sides (`benchmarks/torch_baselines/`). "
            "metajax: median of the timed runs, compile time apart; PyTorch eager and "
            "`torch.compile` of the update (compile time included); greedy evaluation time "
            "excluded. Steps to solve: first greedy evaluation (every "
            f"{data['eval_every']:,} steps, 100 episodes) at >= 475, and the first from which "
            "every later one stays there.", "",
            "| learner | implementation | seconds | compile (s) | PyTorch / metajax | "
            "greedy return | steps to solve | to stay solved |", "|---|---|---|---|---|---|---|---|"]
    for name, r in data["results"].items():
        base = r["metajax"]["seconds"]
        for variant, label in (("metajax", "metajax"), ("torch", "PyTorch eager"),
                               ("torch_compile", "PyTorch + torch.compile")):
            if variant not in r:
                continue
            v = r[variant]
            compile_s = f"{v['compile_seconds']:.1f}" if "compile_seconds" in v else "-"
            ratio = "1.0" if variant == "metajax" else f"{v['seconds'] / base:.1f}x"
            solved, stays = (f"{v[k]:,}" if v[k] else "not within run"
                             for k in ("steps_to_solve", "steps_to_stay_solved"))
            rows.append(f"| {name} | {label} | {v['seconds']:.1f} | {compile_s} | {ratio} | "
                        f"{v['greedy_return']:.1f} | {solved} | {stays} |")
    rows += ["", "Many seeds in one program (metajax `jax.jit(jax.vmap(train))`):", "",
             "| learner | 1 seed (s) | seeds | all seeds (s) | per seed (s) | compile (s) | "
             "seeds solved (greedy >= 475) |", "|---|---|---|---|---|---|---|"]
    for name, r in data["results"].items():
        v = r["metajax"]
        rows.append(f"| {name} | {v['seconds']:.1f} | {v['seeds']} | {v['seeds_seconds']:.1f} | "
                    f"{v['seeds_seconds'] / v['seeds']:.2f} | {v['seeds_compile_seconds']:.1f} | "
                    f"{v['seeds_solved']}/{v['seeds']} |")
    return rows + ["", "![metajax vs PyTorch learning curves](agents_vs_torch.png)", ""]


def large_batch_section(versus: dict, title: str, speed: dict | None = None) -> list[str]:
    """B1 at a large meta-batch, both implementations side by side on the same device."""
    m = versus["machine"]
    torch_median = versus["summary"]["torch"]["median_seconds"]
    torch_device = m.get("torch_device", "cpu")
    command = versus.get("command") or (
        f"python benchmarks/maml_vs_torch.py --tasks {versus['tasks']} --iterations "
        f"{versus['iterations']} --torch-device {torch_device}")
    on_gpu = torch_device != "cpu"
    rows = [f"## {title}", "",
            f"Device: {m.get('gpu') or m['device']} ({m['platform']}, jax {m['jax']}, torch "
            f"{m['torch']}, PyTorch on `{torch_device}`). Command: "
            f"`{command}`" + (" with `XLA_PYTHON_CLIENT_PREALLOCATE=false` (both share the "
                               "GPU)" if on_gpu else "") + ". Reference configuration with "
            f"{versus['tasks']} tasks; returns averaged over the last {versus['last']} "
            "iterations." + (" Target: at least 10x." if on_gpu else ""), "",
            "| implementation | s / meta-iteration (median) | spread | env steps / s | "
            "pre-adaptation | post-adaptation | PyTorch / metajax |",
            "|---|---|---|---|---|---|---|"]
    for name, r in versus["summary"].items():
        ratio = "" if name == "torch" else f"**{torch_median / r['median_seconds']:.1f}x**"
        rows.append(f"| {name} | {r['median_seconds']:.3f} | {r['min_seconds']:.3f} - "
                    f"{r['max_seconds']:.3f} | {r['env_steps_per_second']:,.0f} | "
                    f"{r['pre_return']:.2f} | {r['post_return']:.2f} | {ratio} |")
    if speed is not None:
        rows += ["", f"`python benchmarks/speed.py --task-groups 1 maml.num_tasks="
                 f"{speed['config']['maml']['num_tasks']}` on the same device: "
                 f"{speed['seconds_per_iteration']['median']:.3f} s per iteration, "
                 f"{speed['flops']['total_per_iteration'] / 1e12:.2f} TFLOP per iteration, "
                 f"{speed['achieved_flops_per_second'] / 1e12:.1f} TFLOP/s, "
                 f"{100 * speed['fraction_of_matmul']:.1f}% of a 2048^2 float32 matmul "
                 f"({speed['matmul_flops_per_second'] / 1e12:.1f} TFLOP/s, XLA's default "
                 f"precision); compile {speed['compile_seconds']:.1f} s."]
    return rows + [""]


def maml_vs_torch_section(runs: list[dict]) -> list[str]:
    m = runs[0]["machine"]
    rows = ["## B1/B2: MAML-TRPO, metajax vs PyTorch", "",
            f"Command: `python benchmarks/maml_vs_torch.py --env navigation|bandit|mdp` on "
            f"{m['platform']}, jax {m['jax']}, torch {m['torch']} ({m['torch_threads']} "
            "threads). pytorch-maml-rl reference configuration (20 tasks x 20 episodes, one "
            "inner VPG step, TRPO), same number of meta-iterations for both, one seed. "
            "Returns: mean of the last iterations' sampled episodes. B2 (bandit, MDP) has "
            "short episodes, so per-task overhead dominates.", "",
            "| env | implementation | iterations | s / meta-iteration (median) | spread | "
            "env steps / s | pre-adaptation | post-adaptation | PyTorch / metajax |",
            "|---|---|---|---|---|---|---|---|---|"]
    for data in runs:
        torch_median = data["summary"]["torch"]["median_seconds"]
        for name, r in data["summary"].items():
            ratio = "" if name == "torch" else f"**{torch_median / r['median_seconds']:.1f}x**"
            rows.append(f"| {data.get('env', 'Navigation2D-v0')} | {name} | "
                        f"{data['iterations']} | {r['median_seconds']:.3f} | "
                        f"{r['min_seconds']:.3f} - {r['max_seconds']:.3f} | "
                        f"{r['env_steps_per_second']:,.0f} | {r['pre_return']:.2f} | "
                        f"{r['post_return']:.2f} | {ratio} |")
    rows += ["", "Compile time (metajax) and the first iteration (PyTorch) are excluded from "
             "the medians: " + "; ".join(
                 f"{d.get('env', 'Navigation2D-v0')} "
                 + " / ".join(f"{run['compile_seconds']:.1f}" for name, run in d["runs"].items()
                              if name != "torch") + " s / "
                 f"{d['runs']['torch']['warmup_seconds']:.1f} s" for d in runs) + ".", "",
             "![MAML-TRPO metajax vs PyTorch](maml_vs_torch.png)", ""]
    return rows


def scaling_section(data: dict) -> list[str]:
    m = data["machine"]
    counts = sorted({len(r["times"]) for r in data["rows"] if r["seconds"] is not None})
    timed = "-".join(map(str, sorted({counts[0], counts[-1]})))  # e.g. "2", or "1-2" if merged
    rows = ["## B3: meta-batch scaling, MAML-TRPO on Navigation2D", "",
            f"Command: `python benchmarks/scaling.py` on {m['platform']}, jax {m['jax']}, "
            f"device `{m['device']}`. Reference configuration with 20, 100, 500 and 2000 tasks "
            f"(20 episodes x 100 steps each, before and after adaptation); median of "
            f"{timed} timed iterations per row after {data.get('warmup', 0)} untimed, compile "
            "apart. Memory: what XLA plans for the compiled step (arguments, outputs and "
            "temporaries, `memory_analysis()`). Chunked: `maml.task_chunk`, the task axis "
            "in chunks one after another (`lax.scan`), every Fisher-vector product "
            "re-linearised chunk by chunk (see NOTES.md).", "",
            "| tasks | chunk | compile (s) | s / iteration | ms / task | planned memory (GiB) |",
            "|---|---|---|---|---|---|"]
    for r in data["rows"]:
        timing = (f"{r['seconds']:.2f} | {1000 * r['seconds_per_task']:.1f}"
                  if r["seconds"] is not None else "compiled only | -")
        rows.append(f"| {r['tasks']} | {r['chunk'] or '-'} | {r['compile_seconds']:.1f} | "
                    f"{timing} | {r['planned_bytes'] / 2**30:.2f} |")
    return rows + [""]


def devices_section(data: dict) -> list[str]:
    m = data["machine"]
    rows = ["## Task axis sharded over devices", "",
            f"Command: `python benchmarks/devices.py` on {m['platform']} ({m['cpu_count']} "
            f"cores), {data['platform']} devices ({data['rows'][0]['device_kind']}). MAML-TRPO "
            f"reference configuration with {data['tasks']} tasks, median of "
            f"{data['iterations']} iterations after one warm-up, compile apart. Every count "
            "runs in a process started with the largest forced device count, so all rows share one "
            "XLA CPU setup; with 2 cores, more devices than cores cannot buy more than the "
            "cores give, and the rows show how the sharded program shares them (a plain "
            "1-device process runs this in about 2.8 s).",
            "", "| devices | s / iteration | compile (s) |", "|---|---|---|"]
    for r in data["rows"]:
        rows.append(f"| {r['devices']} | {r['seconds']:.3f} | {r['compile_seconds']:.1f} |")
    return rows + [""]


def env_throughput_section(data: dict) -> list[str]:
    m = data["machine"]
    rows = ["## B4: environment throughput, random policy", "",
            f"Command: `python benchmarks/env_throughput.py` on {m['platform']}, jax {m['jax']}, "
            f"gymnasium {m['gymnasium']}. {data['steps']:,} steps of every environment, median "
            f"of {data['repeats']} runs, compile apart (auto-resets and action sampling "
            "included).", "",
            "| environment | implementation | envs | M steps / s | compile (s) |",
            "|---|---|---|---|---|"]
    for r in data["rows"]:
        compile_s = f"{r['compile_seconds']:.1f}" if "compile_seconds" in r else "-"
        rows.append(f"| {r['env']} | {r['implementation']} | {r['num_envs']} | "
                    f"{r['steps_per_second'] / 1e6:.1f} | {compile_s} |")
    return rows + [""]


def sweep_section(data: dict) -> list[str]:
    gaps = data["max_param_difference_per_iteration"]
    return [
        "## A hyperparameter sweep in one program vs separate runs",
        "",
        f"Command: `python benchmarks/sweep.py` ({data['device']}, jax {data['jax']}): MAML-TRPO "
        f"at the reference configuration (Navigation2D, 20 tasks x 20 episodes) with "
        f"`maml.inner_lr` swept over {data['inner_lr']}: one vmapped step compiled once, "
        f"against one compiled step per value; {data['iterations']} iterations each, "
        "interleaved; every point and its separate run draw the same keys.",
        "",
        "| points | compile (s): sweep / separate | s per iteration, all points: sweep / "
        "separate | sweep speed-up | max param difference after 1 / last iteration |",
        "|---|---|---|---|---|",
        f"| {data['points']} | {data['sweep_compile_s']:.1f} / {data['separate_compile_s']:.1f} "
        f"| {data['sweep_s_per_iteration']:.2f} / {data['separate_s_per_iteration']:.2f} | "
        f"{data['separate_s_per_iteration'] / data['sweep_s_per_iteration']:.2f}x | "
        f"{gaps[0]:.1e} / {gaps[-1]:.1e} |",
        "",
    ]


def main() -> None:
    lines = ["# metajax benchmark results", "",
             "Generated by `python benchmarks/report.py` from `benchmarks/results/*.json`; "
             "notes on each figure below the tables.", ""]
    if (speed := _load("speed")) is not None:
        lines += speed_section(speed)
    if (fid := _load("fidelity")) is not None:
        lines += fidelity_section(fid)
    long_runs = {name: d for name in ("long_run_reference", "long_run_promp",
                                      "long_run_maml_paper") if (d := _load(name)) is not None}
    if long_runs:
        lines += long_run_section(long_runs)
    if (sin := _load("sinusoid")) is not None:
        lines += sinusoid_section(sin)
    if (rl := _load("rl_family")) is not None:
        lines += rl_family_section(rl)
    if (estimators := _load("bandit_estimators")) is not None:
        lines += bandit_estimators_section(estimators)
    if (rl2 := _load("rl2_paper")) is not None:
        lines += rl2_paper_section(rl2)
    if (meta := _load("meta_init_cartpole")) is not None:
        lines += meta_init_section(meta)
    maml_runs = [d for name in ("maml_vs_torch", "maml_vs_torch_bandit", "maml_vs_torch_mdp")
                 if (d := _load(name)) is not None]
    if maml_runs:
        lines += maml_vs_torch_section(maml_runs)
    if (cpu100 := _load("maml_vs_torch_cpu_100")) is not None:
        lines += large_batch_section(cpu100, "B1 at 100 tasks on the CPU, metajax vs PyTorch")
        lines += ["![MAML-TRPO, 100 tasks, CPU](maml_vs_torch_cpu_100.png)", ""]
    if (gpu := _load("maml_vs_torch_gpu_1000")) is not None:
        lines += large_batch_section(gpu, "B1 on a GPU: MAML-TRPO at a large meta-batch, "
                                     "metajax vs PyTorch", _load("speed_gpu_1000"))
        lines += ["![MAML-TRPO on the GPU](maml_vs_torch_gpu_1000.png)", ""]
    if (b3 := _load("scaling")) is not None:
        lines += scaling_section(b3)
    if (dev := _load("devices")) is not None:
        lines += devices_section(dev)
    if (b4 := _load("env_throughput")) is not None:
        lines += env_throughput_section(b4)
    if (agents := _load("agents_vs_torch")) is not None:
        lines += agents_vs_torch_section(agents)
    if (swept := _load("sweep")) is not None:
        lines += sweep_section(swept)
    lines += locomotion_section(_load)
    notes = HERE / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text().strip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
