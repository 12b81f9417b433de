"""The meta-training loop: config -> compiled meta-step -> metrics, plot, checkpoints,
then the meta-test, all under ``runs/<name>/``.

Iteration ``i`` draws its key as ``fold_in(loop_key, i)``, so a run resumed from a checkpoint
(``resume``) continues with exactly the keys, and ends on exactly the params, of an
uninterrupted run. SIGINT/SIGTERM stop the loop at the next iteration boundary after a final
checkpoint. Updates with a non-finite metric or state are skipped inside the jitted step;
``max_nonfinite`` of them in a row stop the run with a report, and nothing non-finite is ever
checkpointed. The step is compiled, and its memory plan checked against the device, before
the run directory exists; the run holds its directory's lock for its life; ``resume`` restores
the newest checkpoint that verifies (``metajax.checkpoint``).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from metajax import checkpoint, memory, sweep
from metajax.config import ConfigError, TrainConfig, build_algorithm
from metajax.meta_learner import MetaLearner
from metajax.evaluate import (describe_meta_test, finite_or_none, format_meta_test,
                              load_run_config, meta_test_seeds, result_record, state_template)
from metajax.guards import (NONFINITE, Interrupted, guard_nonfinite, nonfinite_leaves,
                            stop_on_signals)
from metajax.jsonio import write_json_atomic
from metajax.metrics_log import MetricsLog
from metajax.plotting import plot_learning_curves
from metajax.run_lock import run_lock


class NonFiniteError(RuntimeError):
    """Too many non-finite updates in a row; the last good checkpoint is kept."""


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
        raise ConfigError(f"run directory {run_dir} already exists; choose another run_name "
                          "(or continue it with --resume)")
    return run_dir


def _keys(config: TrainConfig) -> tuple[jax.Array, jax.Array]:
    """Init and loop keys; with several members, stacked: seed ``s`` gets those of a
    single-seed run with ``seed + s``, and every point of a sweep those of ``seed``."""
    offsets = [0] * config.members if config.sweep else range(config.seeds)  # a sweep: one seed
    pairs = [jax.random.split(jax.random.key(config.seed + s)) for s in offsets]
    if config.members == 1:
        return pairs[0][0], pairs[0][1]
    return jnp.stack([p[0] for p in pairs]), jnp.stack([p[1] for p in pairs])


def _init(algo: MetaLearner, config: TrainConfig):
    init_keys = _keys(config)[0]
    if config.sweep:
        return sweep.init_members(algo, config, init_keys)
    return algo.init(init_keys) if config.seeds == 1 else jax.vmap(algo.init)(init_keys)


def _is_main() -> bool:
    """Process 0 writes the run's files; in a multi-process run the others only compute."""
    return jax.process_index() == 0


def train(config: TrainConfig, console: Console | None = None) -> TrainResult:
    """Meta-trains per ``config`` and meta-tests the result; see the module docstring."""
    algo = build_algorithm(config)  # every config error is raised before anything is written
    if jax.process_count() > 1 and config.run_name is None:
        raise ConfigError("a run over several processes needs run_name=NAME (the same in "
                          "every process)")
    state = _init(algo, config)
    if bad := nonfinite_leaves(state):  # nothing non-finite is trained from or saved
        raise ConfigError(f"the initial state has non-finite values in {', '.join(bad[:5])}; "
                          "check the config's scales (policy.init_std, ...)")
    # compiled (and its memory checked) before the run directory exists; over several
    # processes, process 0 creates the directory first, as the others expect
    compiled = _compile(algo, config, state) if jax.process_count() == 1 else None
    if not _is_main():
        run_dir = Path(config.runs_dir) / config.run_name
        return _run(algo, config, run_dir, state, 0, [], console or Console(),
                    _compile(algo, config, state))
    run_dir = resolve_run_dir(config)
    try:
        run_dir.mkdir(parents=True)
    except OSError as err:
        raise ConfigError(f"cannot create the run directory {run_dir}: {err.strerror} "
                          f"(runs_dir={config.runs_dir})") from None
    with run_lock(run_dir):
        try:
            write_json_atomic(run_dir / "config.json", config.to_dict())
            compiled = compiled or _compile(algo, config, state)
            return _run(algo, config, run_dir, state, 0, [], console or Console(), compiled)
        except BaseException as err:
            if isinstance(err, Interrupted) or not isinstance(err, Exception):  # a signal
                err.add_note(f"continue with: metajax train --resume {run_dir}")
            raise


def resume(run_dir: str | Path, console: Console | None = None) -> TrainResult:
    """Continues the run in ``run_dir`` from its latest checkpoint (from iteration 0 when it
    was stopped before its first), with its own config; its metrics after that checkpoint are
    dropped and recomputed."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    algo = build_algorithm(config)
    if not _is_main():
        return _continue(run_dir, config, algo, console)
    with run_lock(run_dir):
        return _continue(run_dir, config, algo, console)


def _continue(run_dir: Path, config: TrainConfig, algo: MetaLearner,
              console: Console | None) -> TrainResult:
    if checkpoint.saved_steps(run_dir / "checkpoints"):
        state, done, rejected = checkpoint.restore_verified(
            run_dir / "checkpoints", state_template(algo, config), config.state_fingerprint())
        if rejected:
            print(f"metajax: {len(rejected)} newer checkpoint(s) failed verification and were "
                  f"moved to checkpoints.rejected/ ({rejected[0]}); resuming from iteration "
                  f"{done}", file=sys.stderr)
    else:  # stopped before its first checkpoint (during set-up or compile): start again
        state, done = _init(algo, config), 0
    metrics_path = run_dir / "metrics.jsonl"
    records = [r for r in _read_metrics(metrics_path) if r["iteration"] <= done]
    tmp = metrics_path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(metrics_path)
    compiled = _compile(algo, config, state)
    return _run(algo, config, run_dir, state, done, records, console or Console(), compiled)


def _read_metrics(path: Path) -> list[dict]:
    """The records of ``metrics.jsonl``; a last line cut off by a crash is dropped (its
    iteration is recomputed), a malformed line elsewhere is a one-line error."""
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    records = []
    for k, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("iteration"), int):
                raise ValueError
        except ValueError:
            if k == len(lines) - 1:
                break
            raise ConfigError(f"{path} line {k + 1} is not a metrics record; fix or remove "
                              "the line, then resume") from None
        records.append(record)
    return records


def _record(i: int, metrics: dict, flags: np.ndarray, names: list[str], seconds: float,
            members_key: str = "per_seed") -> dict:
    """A JSON-safe metrics line: non-finite values become null, plus ``skipped`` (how many
    members skipped the update) and the names of the non-finite quantities. With several
    members (seeds, or a sweep's points) each metric is their mean, with ``<name>_std`` and
    the values under ``members_key`` (``per_seed`` or ``per_member``)."""
    record: dict[str, Any] = {"iteration": i + 1}
    per_seed = {}
    for k, v in metrics.items():
        if k == NONFINITE:
            continue
        v = np.asarray(v, dtype=np.float64)
        if v.ndim:
            per_seed[k] = [finite_or_none(x) for x in v]
            record[f"{k}_std"] = finite_or_none(v.std())
        record[k] = finite_or_none(v.mean())
    record["skipped"] = int(flags.any(axis=1).sum())
    if flags.any():
        record["nonfinite"] = [name for name, bad in zip(names, flags.any(axis=0)) if bad]
    if per_seed:
        record[members_key] = per_seed
    record["seconds"] = seconds
    return record


class CompiledStep(NamedTuple):
    step: Any  # the compiled (guarded, and over seeds vmapped) meta-step
    step_key: Callable[[int], jax.Array]  # iteration -> its key
    names: list[str]  # the quantities the guard checks
    seconds: float  # compile time


def _compile(algo: MetaLearner, config: TrainConfig, state) -> CompiledStep:
    """Compiles the guarded step, then checks XLA's memory plan against the device's free
    memory: a run that cannot fit is refused here, before its first iteration."""
    loop_key = _keys(config)[1]
    start = time.perf_counter()
    guarded = guard_nonfinite(algo.step)
    if config.members == 1:
        step_key = lambda i: jax.random.fold_in(loop_key, i)  # noqa: E731
        step = jax.jit(guarded).lower(state, loop_key).compile()
    elif config.sweep:  # one vmapped program trains every point, each with its own values
        step_key = lambda i: jax.vmap(jax.random.fold_in, (0, None))(loop_key, i)  # noqa: E731
        swept, guarded = sweep.member_step(algo, config, guard_nonfinite)
        step = jax.jit(swept).lower(state, loop_key).compile()
    else:  # one vmapped program trains every seed
        step_key = lambda i: jax.vmap(jax.random.fold_in, (0, None))(loop_key, i)  # noqa: E731
        step = jax.jit(jax.vmap(guarded)).lower(state, loop_key).compile()
    seconds = time.perf_counter() - start
    # one process only: over several, XLA's plan is not each process's share
    single = jax.process_count() == 1
    planned = memory.planned_bytes(step) if single else None
    device = jax.devices()[0]
    available = memory.available_bytes(device) if single else None
    if planned is not None and available is not None and planned > available:
        raise ConfigError(
            f"the compiled step needs {memory.gib(planned)} but {device.platform} has "
            f"{memory.gib(available)} free; use fewer tasks or episodes, or set "
            f"maml.task_chunk (tasks per sequential chunk) to bound the memory")
    return CompiledStep(step, step_key, guarded.names, seconds)


def _run(algo: MetaLearner, config: TrainConfig, run_dir: Path, state, first: int,
         records: list[dict], console: Console, compiled: CompiledStep) -> TrainResult:
    step, step_key, names, compile_seconds = compiled
    action = "resumed at iteration " + str(first) if first else "meta-step"
    console.print(f"[bold]metajax[/] {config.algo} on {config.env}: run dir {run_dir}, "
                  f"{action} compiled in {compile_seconds:.1f} s")

    ckpt = checkpoint.manager(run_dir / "checkpoints", keep=config.checkpoint_at)
    fingerprint = config.state_fingerprint()
    durations, in_a_row = [], np.zeros(config.members, int)
    n = config.num_iterations
    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("{task.fields[returns]}"), TimeRemainingColumn(),
        console=console, disable=not console.is_terminal,
    )
    try:
        with stop_on_signals() as signals, progress, \
                MetricsLog(run_dir, config.to_dict(), config.wandb_project, _is_main(),
                           first + 1) as log:
            bar = progress.add_task("meta-training", total=n, completed=first, returns="")
            for i in range(first, n):
                start = time.perf_counter()
                state, metrics = step(state, step_key(i))
                metrics = jax.device_get(metrics)
                flags = np.asarray(metrics[NONFINITE]).reshape(config.members, -1)  # [members, q]
                durations.append(time.perf_counter() - start)
                record = _record(i, metrics, flags, names, durations[-1],
                                 "per_member" if config.sweep else "per_seed")
                records.append(record)
                log.write(record)
                in_a_row = np.where(flags.any(axis=1), in_a_row + 1, 0)
                if in_a_row.max() >= config.max_nonfinite:
                    checkpoint.save(ckpt, i + 1, state, fingerprint)  # the last finite one
                    raise NonFiniteError(
                        f"stopped at iteration {i + 1}: {in_a_row.max()} non-finite updates "
                        f"in a row (non-finite: {', '.join(record['nonfinite'])}); the last finite "
                        f"state is checkpointed in {run_dir / 'checkpoints'}")
                pre, post = algo.score_names
                returns = f"{pre} {_fmt(record[pre])}  {post} {_fmt(record[post])}"
                progress.update(bar, advance=1, returns=returns)
                if not console.is_terminal and ((i + 1) % config.log_every == 0 or i == first):
                    console.print(f"iteration {i + 1:5d}/{n}  {returns}  "
                                  f"({durations[-1]:.2f} s)")
                if ((i + 1) % config.checkpoint_every == 0 or i + 1 in config.checkpoint_at
                        or i + 1 == n or signals):
                    checkpoint.save(ckpt, i + 1, state, fingerprint)
                if signals:
                    ckpt.wait_until_finished()
                    console.print(f"stopped after iteration {i + 1}; checkpoint written, "
                                  f"continue with: metajax train --resume {run_dir}")
                    raise Interrupted(signals[0])
    finally:
        ckpt.wait_until_finished()
        ckpt.close()
    return _finish(algo, config, run_dir, state, records, durations, compile_seconds, console)


def _fmt(value: float | None) -> str:
    return "     nan" if value is None else f"{value:8.3f}"


def _local(tree):
    """This process's copy of replicated arrays that span several processes."""
    return jax.tree.map(lambda x: x if x.is_fully_addressable else x.addressable_data(0), tree)


def _finish(algo, config, run_dir, state, records, durations, compile_seconds, console):
    curves = algo.curves
    console.print(describe_meta_test(algo, config))
    result = meta_test_seeds(algo, _local(state.meta_params), config)
    returns = result.returns
    console.print(format_meta_test(algo, result, config))
    seconds_per_iteration = statistics.median(durations) if durations else float("nan")
    if not _is_main():
        return TrainResult(run_dir, state, records, returns, compile_seconds,
                           seconds_per_iteration)
    write_json_atomic(run_dir / "meta_test.json",
                      result_record(config, result, config.num_iterations))
    write_json_atomic(run_dir / "summary.json", {
        "compile_seconds": compile_seconds,
        "median_seconds_per_iteration": seconds_per_iteration,
        "final": records[-1] if records else None,
    })
    plot_learning_curves(records, run_dir / "learning_curves.png",
                         f"{config.algo} on {config.env}", meta_test=list(returns),
                         names=algo.score_names, ylabel=curves.ylabel,
                         labels=curves.labels, test_xlabel=curves.index, first=curves.first)
    console.print(f"wrote {run_dir}/{{metrics.jsonl, tensorboard/, learning_curves.png, "
                  "config.json, meta_test.json, checkpoints/}")
    return TrainResult(run_dir, state, records, returns, compile_seconds, seconds_per_iteration)
