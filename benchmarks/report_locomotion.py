"""RESULTS.md's locomotion section, from the ``results/`` files of the locomotion benchmarks
(imported by report.py): throughput, Ant's termination against C MuJoCo, the long MAML-TRPO
runs on HalfCheetahVel and HalfCheetahDir beside the published figures, the CPU-sized runs of MAML-TRPO, ProMP and
RL^2, the comparison with PyTorch on C MuJoCo, and memory and time per task."""

from __future__ import annotations

from typing import Callable

from locomotion_notes import (PUBLISHED, RUN_NOTES, STOPPED_RUNS,  # benchmarks/: the script's dir
                              SUMMARY_NOTES)

Loader = Callable[[str], "dict | None"]
BLOWN_UP = 1e3  # a mean return beyond this in magnitude: an episode blew up (old physics)
LONG_RUN_ENVS = {"long_run_halfcheetah_vel": "HalfCheetahVel",
                 "long_run_halfcheetah_dir": "HalfCheetahDir",
                 "long_run_halfcheetah_vel_reference": "HalfCheetahVel"}
RUNS = ("locomotion_halfcheetahdir", "locomotion_halfcheetahdir_promp_diagnostics",
        "locomotion_halfcheetahdir_promp_lr3e-4",
        "locomotion_halfcheetahdir_promp_solver1", "locomotion_halfcheetahdir_rl2",
        "locomotion_halfcheetahdir_rl2_full500",
        "locomotion_halfcheetahvel", "locomotion_antdir", "locomotion_antdir_spring",
        "locomotion_antvel_spring", "locomotion_antvel_spring_long",
        "locomotion_antvel_spring_500", "locomotion_antgoal_spring")


def locomotion_section(load: Loader) -> list[str]:
    lines = ["## Locomotion on brax: HalfCheetah and Ant task distributions", ""]
    lines += throughput_lines(load("locomotion_throughput"))
    lines += termination_lines(load("locomotion_termination"))
    lines += probe_lines(load("env_batch_probe"))
    long_runs = {name: data for name in LONG_RUN_ENVS if (data := load(name)) is not None}
    for name, data in long_runs.items():
        lines += fidelity_lines(data, name)
    lines += ["Published figures to set beside these (none is at this budget and horizon):",
              ""] + [f"- {p}" for p in PUBLISHED] + [""]
    runs = [run | {"note": RUN_NOTES.get(name)} for name in RUNS
            if (run := load(name)) is not None]
    lines += summary_lines(long_runs, runs)
    for run in runs:
        lines += run_lines(run)
    lines += versus_torch_lines(load("locomotion_vs_torch"))
    lines += scaling_lines(load("scaling_halfcheetah_vel"), load("locomotion_vs_torch"))
    return lines


def throughput_lines(data: dict | None) -> list[str]:
    if data is None:
        return []
    a = data["args"]
    lines = [
        f"Command: `python benchmarks/locomotion_throughput.py` ({data['device']}, "
        f"{data['cpus']} device): env steps per second with random actions, "
        f"{a['tasks']} tasks x {a['episodes']} episodes in one vmapped call for "
        f"{a['steps']} steps (jit of a scan of a vmap, resets included), median of "
        f"{a['repeats']}; Gymnasium's C MuJoCo envs stepped from Python beside them. `mjx` "
        "runs the reference's models (every body geom collides with the floor; Ant with RK4, "
        "as Gymnasium's `ant.xml`), so its Ant costs four force evaluations per physics step.",
        "", "| env | physics | envs per call | steps / s | compile (s) |", "|---|---|---|---|---|"]
    for r in data["rows"]:
        compile_s = f"{r['compile_seconds']:.1f}" if r["compile_seconds"] else "-"
        lines.append(f"| {r['env']} | {r['backend']} | {r['envs_per_call']} | "
                     f"{r['steps_per_second']:,.0f} | {compile_s} |")
    return lines + [""]


def termination_lines(data: dict | None) -> list[str]:
    if data is None:
        return []
    lines = [
        "### Ant: how often episodes terminate, brax beside C MuJoCo", "",
        "Command: `python benchmarks/locomotion_termination.py`: the share of "
        f"{data['rows'][0]['episodes']} episodes of {data['horizon']} steps that end early "
        "(torso height outside [0.2, 1.0]) under uniform random controls and under a freshly "
        "initialised MAML policy (N(0, 1) in the policy's [-10, 10] space). `brax mjx` runs the "
        "reference's model (every body geom collides with the floor, RK4, start at `qpos0`). "
        "The last rows are the same measurement on brax's own Ant model, as shipped before: "
        "only its feet touched the floor, so a fallen torso sank through it and 16% of the "
        "initial policy's episodes ended, against 0% in C MuJoCo (the flipped-ant test in "
        "`tests/test_locomotion.py` fails on that model).", "",
        "| actions | physics | terminated | mean length |", "|---|---|---|---|"]
    for r in data["rows"]:
        lines.append(f"| {r['actions']} | {r['physics']} | {100 * r['terminated']:.0f}% | "
                     f"{r['mean_length']:.1f} |")
    return lines + [""]


def probe_lines(data: dict | None) -> list[str]:
    if data is None:
        return []
    lines = ["### MJX env batches that deadlock XLA:CPU", "",
             "Command: `python benchmarks/env_batch_probe.py --envs 1024 2048 --solver-iterations"
             " 1 2 --calls 4 --timeout 300`, then the same with `--envs 800 --merge` (jaxlib "
             f"{data['jaxlib']}, the machine otherwise idle): {data['steps']} steps of random "
             "actions per call, each case in a child process that counts as hung when no call "
             "finishes within the timeout. Above 823 HalfCheetahs per call jaxlib runs the "
             "batch's Cholesky factorisations on XLA's thread pool, where they can wait on each "
             "other for ever (`metajax.xla_cpu`; `gdb` on hung cases: both pool threads in "
             "`ParallelBatchMap` under `lapack_spotrf_ffi`); at 800 they stay on the calling "
             "thread. metajax refuses batches above the limit before a run starts.", "",
             "| env | envs per call | Newton iterations | calls done | hung |",
             "|---|---|---|---|---|"]
    rows = sorted(data["rows"], key=lambda r: (r["solver_iterations"], r["envs_per_call"]))
    lines += [f"| {r['env']} | {r['envs_per_call']} | {r['solver_iterations']} | "
              f"{r['calls_done']} of {r['calls']} | {'yes' if r['hung'] else 'no'} |"
              for r in rows]
    return lines + [""]


def fidelity_lines(data: dict, name: str) -> list[str]:
    run = data["runs"][0]
    p = run["protocol"]
    config = data["config"]
    env = LONG_RUN_ENVS[name]
    done = len(run["curve"])
    batch = (f"at a CPU-sized meta-batch ({' '.join(data['overrides'])}: a quarter of the "
             "reference's 40 x 20 env steps)" if data["overrides"]
             else "as they are, the reference's meta-batch of 40 tasks x 20 episodes included")
    complete = run.get("complete", True)
    stopped = None if complete else STOPPED_RUNS.get(name)  # why it will not go on
    heading = "over a whole run" + (
        "" if complete else f", stopped at {done} of {run['iterations']} iterations" if stopped
        else f", in progress ({done} of {run['iterations']} iterations)")
    lines = [
        f"### Fidelity: MAML-TRPO on {env} {heading}", "",
        f"Command: `{data['commands'][0]}` ({data['device']}). The reference's settings "
        f"(`{config}`) {batch}, for "
        f"{run['iterations']} meta-iterations, the reference's count. Meta-test on "
        f"{p['tasks']} held-out tasks: the mean return (100 steps) before and after one step "
        f"of {p['episodes']} episodes at step size {p['lr']}, +- its standard error over tasks.",
        "", "| iteration | before adaptation | after 1 step | gain |", "|---|---|---|---|"]
    for t in run["tests"]:
        lines.append(f"| {t['iteration']} | {t['pre']:.1f} +- {t['pre_se']:.1f} | "
                     f"{t['post']:.1f} +- {t['post_se']:.1f} | {t['post'] - t['pre']:.1f} |")
    if "physics_note" in data:
        lines += ["", data["physics_note"]]
    verdict = data["verdicts"][0]
    so_far = "" if complete else " so far"
    lines += ["", f"Keeps improving{so_far} (no meta-test after 100 iterations worse than the "
              f"best earlier one by more than 2 s.e.): "
              f"**{'yes' if verdict['keeps_improving'] else 'no'}**"
              f". {run['seconds_per_iteration']:.1f} s per iteration (median, shared machine)."]
    if run.get("resumed_at"):
        at = run["resumed_at"]
        lines[-1] += (f" Continued from its checkpoint{'s' * (len(at) > 1)} at iteration"
                      f"{'s' * (len(at) > 1)} {', '.join(map(str, at))} (the same numbers as an "
                      "unbroken run).")
    if stopped:
        return lines + ["", stopped, ""]
    if not complete:
        return lines + ["", "It runs in parts, one session at a time: with `--checkpoints DIR` "
                        "the same command continues it from its last checkpoint, to the "
                        "numbers of an unbroken run, and this table grows as it goes.", ""]
    return lines + ["", f"![MAML-TRPO on {env}](results/{name}.png)", ""]


def summary_lines(long_runs: dict[str, dict], runs: list[dict]) -> list[str]:
    """One row per MAML-TRPO run (the whole runs at their last meta-test, the CPU-sized ones at
    their end): does adapting beat not adapting, on every task distribution? Held out, and in
    training's last 10 iterations (each iteration's post- minus pre-adaptation return, over
    the same tasks)."""
    rows = []
    for name, data in long_runs.items():
        if not data["overrides"]:  # the reference's meta-batch has its own section
            continue
        run = data["runs"][0]
        last = run["tests"][-1]
        physics = "mjx" + (" (1 solver iteration)" if "1 iteration" in data.get("physics_note", "")
                           else "")
        rows.append((LONG_RUN_ENVS[name] + "-v0", physics, last["iteration"], last["pre"],
                     last["pre_se"], last["post"], last["post_se"], last.get("gain_se"),
                     [(c["pre"], c["post"]) for c in run["curve"][-10:]]))
    for r in runs:
        if r.get("algo", "maml") == "maml" and not r.get("args", {}).get("set"):
            rows.append((r["env"], r["backend"], r["args"]["iterations"], r["meta_test_pre"],
                         r["meta_test_se"][0], r["meta_test_post"], r["meta_test_se"][-1],
                         r.get("meta_test_gain_se"),
                         list(zip(r["pre_return"][-10:], r["post_return"][-10:]))))
    if not rows:
        return []
    lines = ["### MAML-TRPO on every task distribution", "",
             "Every MAML-TRPO run in this section at 20 tasks x 10 episodes (commands in their "
             "own sections), side by side. Held out: the meta-test on 40 held-out tasks before "
             "and after one inner step, ± the standard error over tasks; the gain's standard "
             "error is paired over tasks where the run recorded it (it leaves out the spread "
             "between tasks that both means share: large on AntVel and AntGoal, where tasks "
             "differ in how much return they allow). Training: the mean over the last 10 "
             "meta-iterations of the post- minus the pre-adaptation return on the same "
             f"sampled tasks, ± its standard error over those iterations (leaving out "
             f"iterations with a blown-up episode, a mean return beyond {BLOWN_UP:.0e} in "
             "magnitude). `spring` is brax's "
             "approximate pipeline on brax's own Ant (a quick run: its dynamics differ from "
             "MuJoCo's); `mjx` is MuJoCo's physics on the reference's model.", "",
             "| env | physics | meta-iterations | held out: before adaptation | after 1 step | "
             "gain | training gain, last 10 iterations |", "|---|---|---|---|---|---|---|"]
    for env, physics, iterations, pre, pre_se, post, post_se, gain_se, pairs in rows:
        gains = [b - a for a, b in pairs if max(abs(a), abs(b)) <= BLOWN_UP]
        blown = len(pairs) - len(gains)
        mean = sum(gains) / len(gains)
        spread = (sum((g - mean) ** 2 for g in gains) / (len(gains) - 1) / len(gains)) ** 0.5
        lines.append(f"| {env} | {physics} | {iterations} | {pre:.1f} ± {pre_se:.1f} | "
                     f"{post:.1f} ± {post_se:.1f} | {post - pre:.1f}"
                     + (f" ± {gain_se:.1f}" if gain_se is not None else "")
                     + f" | {mean:.1f} ± {spread:.1f}"
                     + (f" ({blown} blown-up iteration{'s' * (blown > 1)} left out)" if blown
                        else "") + " |")
    return lines + [""] + [f"- {note}" for note in SUMMARY_NOTES] + [""]


def run_lines(run: dict) -> list[str]:
    a = run["args"]
    algo = run.get("algo", "maml")
    names = {"maml": "MAML-TRPO", "promp": "ProMP", "rl2": "RL^2"}
    before, after = (("first episode", "last episode") if algo == "rl2"
                     else ("pre-adaptation", "post-adaptation (1 step)"))
    pre, post = run["pre_return"], run["post_return"]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    command = run.get("command") or (
        f"python benchmarks/locomotion_maml.py --env {run['env']} --tasks {a['tasks']} "
        f"--episodes {a['episodes']} --iterations {a['iterations']} --chunk {a['chunk']}"
        + (f" --set {' '.join(a['set'])}" if a.get("set") else ""))
    size = (f"{a['tasks']} trials of 2 episodes per PPO update" if algo == "rl2" else
            f"{a['tasks']} tasks x {a['episodes']} episodes of 100 steps per meta-iteration, "
            "one inner step of 0.1, [64, 64] tanh (the pytorch-maml-rl reference has 40 x 20 and "
            "500 iterations)")
    solver = " (1 solver iteration)" if "1 iteration" in run.get("physics_note", "") else ""
    if run["backend"] != "mjx":
        solver += f" ({run['backend']} physics)"
    if a["iterations"] != 100:
        solver += f", {a['iterations']} iterations"
    lines = [
        f"### {names.get(algo, algo)} on {run['env']}, CPU-sized{solver}"
        + (f" ({', '.join(a['set'][2:])})" if algo == "promp" and len(a.get("set", [])) > 2
           else ""), "",
        f"Command: `{command}` ({run['device']}, physics `{run['backend']}`): {size}.", "",
        f"| | {before} | {after} |", "|---|---|---|",
        f"| training, first 10 iterations | {mean(pre[:10]):.1f} | {mean(post[:10]):.1f} |",
        f"| training, last 10 iterations | {mean(pre[-10:]):.1f} | {mean(post[-10:]):.1f} |",
        f"| meta-test, 40 held-out tasks (± s.e.) | {run['meta_test_pre']:.1f} ± "
        f"{run['meta_test_se'][0]:.1f} | {run['meta_test_post']:.1f} ± "
        f"{run['meta_test_se'][-1]:.1f} |"]
    if run.get("meta_test_gain_se") is not None:
        lines.append(f"| meta-test gain (± s.e. paired over tasks) | | "
                     f"{run['meta_test_post'] - run['meta_test_pre']:.1f} ± "
                     f"{run['meta_test_gain_se']:.1f} |")
    lines.append("")
    timing = (f"Time: {run['seconds_per_iteration']:.1f} s per iteration "
              f"({run['env_steps_per_iteration']:,} env steps), compile "
              f"{run['compile_seconds']:.0f} s")
    if "sample_seconds" in run:
        timing += (f"; sampling the meta-batch (physics, policy and the inner step) takes "
                   f"{run['sample_seconds']:.1f} s of a {run['step_seconds']:.1f} s step "
                   f"({100 * run['sample_seconds'] / run['step_seconds']:.0f}%)")
    notes = [line for key in ("physics_note", "note") if run.get(key) for line in (run[key], "")]
    return (lines + [timing + ".", ""] + notes + promp_lines(run)
            + [f"![{algo} on {run['env']}]({run['plot']})", ""])


def promp_lines(run: dict) -> list[str]:
    """What ProMP's own diagnostics say of its updates (runs that recorded them)."""
    m = run.get("metrics", {})
    if "outer_kl" not in m:
        return []
    kl = sorted(m["outer_kl"])
    big = [i + 1 for i, x in enumerate(m["outer_kl"]) if x > 0.5]
    worse = sum(a > b for a, b in zip(m["loss_after"], m["loss_before"]))
    return [f"ProMP's diagnostics per update (its {len(kl)} outer steps of "
            "5 Adam steps each): the adapted policies' KL to the ones that sampled "
            f"(`outer_kl`) has median {kl[len(kl) // 2]:.3f} (TRPO's trust region: 0.01) and "
            + (f"exceeds 0.5 at iterations {', '.join(map(str, big))}" if big else
               "never exceeds 0.5") + f" (largest {kl[-1]:.3f}); at most "
            f"{100 * max(m['clip_fraction']):.0f}% of the ratios are clipped in an update; in "
            f"{worse} of {len(kl)} updates the clipped objective ends worse than it started.", ""]


def versus_torch_lines(data: dict | None) -> list[str]:
    if data is None:
        return []
    a = data["args"]
    lines = [
        "### MAML-TRPO on HalfCheetahVel: metajax beside PyTorch on C MuJoCo", "",
        f"Command: `python benchmarks/locomotion_vs_torch.py --tasks {a['tasks']} --episodes "
        f"{a['episodes']} --iterations {a['iterations']} --chunk {a['chunk']}"
        + (f" --groups {a['groups']}" if a.get("groups", 1) > 1 else "")
        + (f" --layouts {' '.join(a['layouts'])}" if a.get("layouts") else "") + "` "
        f"({data['device']}, jax {data['jax']}, torch {data['torch']}), side by side in one "
        f"run: {data['env_steps_per_iteration']:,} env steps per meta-iteration. PyTorch: "
        "`benchmarks/torch_baselines/maml_trpo.py` on Gymnasium's `HalfCheetah-v5` with the "
        "same reward wrapper (`torch_baselines/locomotion.py`). Physics: the two rollouts of "
        "every episode (simulation and the policy's actions); learning: the rest (baselines, "
        "advantages, the inner step, meta-gradient, CG, line search). PyTorch's learning is "
        "its iteration less its sampling; metajax's is timed directly, one compiled function "
        "doing everything but the rollouts on their trajectories. Medians; metajax's "
        "compile time apart, PyTorch's first iteration apart.", "",
        "| | s / iteration | physics (s) | learning (s) | env steps / s |", "|---|---|---|---|---|"]
    for name, r in data["summary"].items():
        lines.append(f"| {name} | {r['seconds_per_iteration']:.2f} | {r['physics_seconds']:.2f} "
                     f"| {r['learning_seconds']:.2f} | {r['env_steps_per_second']:,.0f} |")
    ratio = data["pytorch_over_metajax"]
    return lines + [
        "", f"PyTorch / metajax: whole iteration **{ratio['seconds_per_iteration']:.2f}x**, "
        f"physics {ratio['physics_seconds']:.2f}x, learning **{ratio['learning_seconds']:.1f}x** "
        f"(target: at least 3x). metajax compile: {data['runs']['metajax']['compile_seconds']:.0f}"
        f" s; PyTorch warm-up iteration: {data['runs']['pytorch']['warmup_seconds']:.0f} s.", ""
    ] + layout_lines(data)


def layout_lines(data: dict) -> list[str]:
    """metajax's learning part under other task layouts, timed on the same trajectories."""
    layouts = data.get("learning_by_layout")
    if not layouts:
        return []
    torch_learning = data["summary"]["pytorch"]["learning_seconds"]
    args = data["args"]
    layout = f"`maml.task_chunk={args['chunk']}`" + (
        f" and `maml.task_groups={args['groups']}`" if args.get("groups", 1) > 1 else "")
    lines = ["metajax's learning part by task layout (`--layouts`; the training's layout is "
             f"{layout}), on the same trajectories, interleaved:", "",
             "| layout | learning (s) | PyTorch / metajax | compile (s) |", "|---|---|---|---|"]
    for name, seconds in layouts.items():
        compile_s = data["runs"]["metajax"]["layouts"][name]["compile_seconds"]
        lines.append(f"| {name} | {seconds:.2f} | {torch_learning / seconds:.2f}x | "
                     f"{compile_s:.0f} |")
    if earlier := data.get("earlier_run"):
        torch_s = earlier["pytorch_learning_seconds"]
        lines += ["", f"An earlier run the same day (`{earlier['command']}`) timed PyTorch's "
                  f"learning at {torch_s:.2f} s and metajax's at " + ", ".join(
                      f"{s:.2f} s ({name}, {torch_s / s:.1f}x)"
                      for name, s in earlier["metajax_learning_seconds"].items())
                  + ": on this shared machine the ratio moves by about a quarter between runs."]
    return lines + [""]


PLAN_COMMAND = ("python benchmarks/scaling.py --config benchmarks/configs/halfcheetah_vel.yaml "
                "--sizes --chunked --chunk 10 --plan-only 40 200 1000 --chunked-plan-only 1000")


def scaling_lines(data: dict | None, measured: dict | None) -> list[str]:
    """Planned memory per meta-batch size and, where a size was not run, its time planned
    from the seconds per task measured at the reference meta-batch (the physics, which
    dominates on a CPU, is linear in the tasks)."""
    if data is None:
        return []
    per_task = None
    if measured is not None:
        per_task = (measured["summary"]["metajax"]["seconds_per_iteration"]
                    / measured["args"]["tasks"])
    lines = [
        "### Memory and time per task: MAML-TRPO on HalfCheetahVel", "",
        f"Command: `{data.get('command', PLAN_COMMAND)}`: "
        "20 episodes per task and per step, 100 steps. Memory: what XLA plans for the compiled "
        "meta-step (arguments, outputs and temporaries); chunked: `maml.task_chunk`, chunks of "
        "tasks one after another. These plans were compiled before the contact and solver "
        "changes above, which leave the arrays' sizes alone."
        + (f" Time: {per_task:.2f} s per task, measured at {measured['args']['tasks']} tasks "
           "(`locomotion_vs_torch.py`, chunks of 10); larger meta-batches planned linearly "
           "from it (on a CPU the rollouts are linear in the tasks)." if per_task else ""), "",
        "| tasks | chunk | compile (s) | planned s / iteration | planned memory (GiB) |",
        "|---|---|---|---|---|"]
    for r in data["rows"]:
        planned = f"{per_task * r['tasks']:.0f}" if per_task else "-"
        lines.append(f"| {r['tasks']} | {r['chunk'] or '-'} | {r['compile_seconds']:.0f} | "
                     f"{planned} | {r['planned_bytes'] / 2**30:.2f} |")
    return lines + [""]
