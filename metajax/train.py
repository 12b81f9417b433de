"""The meta-training loop: config -> compiled meta-step -> metrics, plot, checkpoints,
then the meta-test, all under ``runs/<name>/``."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from metajax import checkpoint
from metajax.config import ConfigError, TrainConfig, build_algorithm
from metajax.evaluate import (describe_meta_test, format_meta_test, meta_test, report_style,
                              write_json_atomic)
from metajax.plotting import plot_learning_curves


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    state: Any  # the algorithm's final state (MetaState, RL2State, LearnerRunState, ...)
    records: list[dict]
    meta_test_returns: np.ndarray
    compile_seconds: float
    seconds_per_iteration: float


def resolve_run_dir(config: TrainConfig) -> Path:
    """``runs_dir/run_name`` (default name: env, algo and a timestamp); an existing directory
    is an error, so a new run never overwrites an earlier one."""
    name = config.run_name or f"{config.env}-{config.algo}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.runs_dir) / name
    if run_dir.exists():
        raise ConfigError(f"run directory {run_dir} already exists; choose another run_name")
    return run_dir


def train(config: TrainConfig, console: Console | None = None) -> TrainResult:
    """Meta-trains per ``config`` and meta-tests the result; see the module docstring."""
    console = console or Console()
    algo = build_algorithm(config)  # every config error is raised before anything is written
    run_dir = resolve_run_dir(config)
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / "config.json", config.to_dict())

    init_key, key = jax.random.split(jax.random.key(config.seed))
    state = algo.init(init_key)
    start = time.perf_counter()
    step = jax.jit(algo.step).lower(state, key).compile()
    compile_seconds = time.perf_counter() - start
    console.print(f"[bold]metajax[/] {config.algo} on {config.env}: run dir {run_dir}, "
                  f"meta-step compiled in {compile_seconds:.1f} s")

    ckpt = checkpoint.manager(run_dir / "checkpoints")
    records, durations = [], []
    n = config.num_iterations
    log_every = max(1, n // 10)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("{task.fields[returns]}"), TimeRemainingColumn(),
        console=console, disable=not console.is_terminal,
    )
    with progress, open(run_dir / "metrics.jsonl", "a") as metrics_file:
        bar = progress.add_task("meta-training", total=n, returns="")
        for i in range(n):
            key, step_key = jax.random.split(key)
            start = time.perf_counter()
            state, metrics = step(state, step_key)
            record = {k: float(v) for k, v in jax.device_get(metrics).items()}
            durations.append(time.perf_counter() - start)
            record = {"iteration": i + 1, **record, "seconds": durations[-1]}
            records.append(record)
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
            pre, post = algo.score_names
            returns = f"{pre} {record[pre]:8.3f}  {post} {record[post]:8.3f}"
            progress.update(bar, advance=1, returns=returns)
            if not console.is_terminal and ((i + 1) % log_every == 0 or i == 0):
                console.print(f"iteration {i + 1:5d}/{n}  {returns}  ({durations[-1]:.2f} s)")
            if (i + 1) % config.checkpoint_every == 0 or i + 1 == n:
                checkpoint.save(ckpt, i + 1, state)
    ckpt.wait_until_finished()
    ckpt.close()

    style = report_style(algo)
    console.print(describe_meta_test(algo, config.meta_test))
    returns = meta_test(algo, state.meta_params, config.meta_test)
    console.print(format_meta_test(algo, returns))
    seconds_per_iteration = statistics.median(durations)
    write_json_atomic(run_dir / "meta_test.json", {
        "protocol": config.to_dict()["meta_test"], "iteration": n,
        "returns": [float(r) for r in returns],
    })
    write_json_atomic(run_dir / "summary.json", {
        "compile_seconds": compile_seconds,
        "median_seconds_per_iteration": seconds_per_iteration,
        "final": records[-1],
    })
    plot_learning_curves(records, run_dir / "learning_curves.png",
                         f"{config.algo} on {config.env}", meta_test=list(returns),
                         names=algo.score_names, ylabel=style["ylabel"],
                         labels=style["labels"], test_xlabel=style["index"],
                         first=style["first"])
    console.print(f"wrote {run_dir}/{{metrics.jsonl, learning_curves.png, config.json, "
                  "meta_test.json, checkpoints/}")
    return TrainResult(run_dir, state, records, returns, compile_seconds, seconds_per_iteration)
