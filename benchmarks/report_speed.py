"""RESULTS.md's speed sections, from the ``results/`` files of the speed benchmarks (imported by
report.py): one meta-iteration's time and FLOPs, metajax beside PyTorch (MAML-TRPO and the
CartPole agents), meta-batch scaling, sharding over devices, environment throughput and a
hyperparameter sweep in one program."""

from __future__ import annotations


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
