"""Writes benchmarks/RESULTS.md from the JSON files under benchmarks/results/; the speed and
locomotion sections live in report_speed.py and report_locomotion.py.

    python benchmarks/report.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from report_locomotion import locomotion_section  # benchmarks/ is the script's dir
from report_speed import (agents_vs_torch_section, devices_section, env_throughput_section,
                          large_batch_section, maml_vs_torch_section, scaling_section,
                          speed_section, sweep_section)

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


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
