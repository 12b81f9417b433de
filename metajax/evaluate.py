"""Meta-test on fresh tasks from a held-out seed: the mean return after 0..k adaptation steps
(gradient-based methods), or of each episode of one trial (RL^2, which adapts in memory), with
its standard error over tasks; ``evaluate_run`` meta-tests any checkpoint of a run."""

from __future__ import annotations

import dataclasses
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import numpy as np

from metajax import checkpoint, sweep
from metajax.jsonio import write_json_atomic
from metajax.config import (ConfigError, MetaTestConfig, TrainConfig, build_algorithm, from_dict,
                            merge, parse_overrides, sweep_points)
from metajax.meta_learner import MetaLearner


def meta_test(algo: MetaLearner, meta, protocol: MetaTestConfig) -> np.ndarray:
    """The mean over ``protocol.num_tasks`` held-out tasks of ``algo.meta_test``: the return
    after 0..``num_steps`` adaptation steps (MAML family), of each episode of a trial (RL^2),
    before and after fine-tuning (meta-init), or the greedy return (one environment).
    ``protocol`` must be resolved (``TrainConfig.meta_test_protocol``)."""
    return meta_test_tasks(algo, meta, protocol)[0]


def meta_test_tasks(algo: MetaLearner, meta,
                    protocol: MetaTestConfig) -> tuple[np.ndarray, np.ndarray]:
    """:func:`meta_test`'s means and the per-task values behind them (``[tasks, k]``): tasks
    from the first half of the protocol's seed, the test's randomness from the second."""
    task_key, run_key = jax.random.split(jax.random.key(protocol.seed))
    tasks = algo.sample_tasks(task_key, protocol.num_tasks)
    per_task = np.asarray(_compiled_meta_test(algo)(meta, tasks, run_key, protocol.plan()))
    return per_task.mean(0), per_task


@lru_cache(maxsize=32)
def _compiled_meta_test(algo: MetaLearner):
    """One jitted meta-test per learner: protocols that differ only in step sizes, seeds or
    task count reuse it (the plan's step sizes are traced) instead of re-tracing."""
    return jax.jit(algo.meta_test)


def describe_meta_test(algo: MetaLearner, config: TrainConfig) -> str:
    """One line saying what the meta-test measures, and where its step size and episodes per
    step come from (the training's inner loop or ``meta_test``)."""
    line = algo.describe_test(config.meta_test_protocol(), config.meta_test_from_training())
    if "maml.inner_lr" in config.sweep and "lr" in config.meta_test_from_training():
        line += " (maml.inner_lr is swept: each point tests with its own)"
    return line


def format_table(returns: Sequence[float], published: Sequence[float] | None = None,
                 header: str = "mean return", index: str = "adaptation steps",
                 first: int = 0, errors: Sequence[float] | None = None) -> str:
    """A markdown table with one row per adaptation step (or per episode, from ``first``),
    with a standard-error column when ``errors`` are given."""
    columns = [index, header] + ["s.e."] * (errors is not None) + ["published"] * bool(published)
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for i, value in enumerate(returns):
        cells = [str(i + first), f"{value:.2f}"]
        if errors is not None:
            cells.append("n/a" if np.isnan(errors[i]) else f"{errors[i]:.2f}")
        if published:
            cells.append(f"{published[i]:.1f}" if i < len(published) else "")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


class MetaTestResult(NamedTuple):
    """A run's meta-test: the mean over seeds, each seed's, the standard error over tasks (NaN
    with a single task) and that of the gain over the first column (paired over tasks)."""

    returns: np.ndarray  # [k]
    per_seed: np.ndarray  # [seeds or sweep points, k]
    errors: np.ndarray  # [k]; NaN with a single task
    gain_errors: np.ndarray  # [k]; of returns[j] - returns[0]; 0 for the first column
    member_errors: np.ndarray | None = None  # a sweep: each point's own, [points, k]


def format_meta_test(algo, result: MetaTestResult, config: TrainConfig | None = None) -> str:
    """The meta-test table with the algorithm's own row and column names, and with several
    seeds their spread; for a sweep, one row per point."""
    curves = algo.curves
    if config is not None and config.sweep:
        first = curves.first
        columns = list(config.sweep) + [str(first + j) for j in range(result.per_seed.shape[1])]
        rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for point, values, errors in zip(sweep_points(config.sweep), result.per_seed,
                                         result.member_errors):
            cells = [f"{v:g}" for v in point.values()] + [
                f"{v:.2f}" + ("" if np.isnan(e) else f" ± {e:.2f}") for v, e in zip(values, errors)]
            rows.append("| " + " | ".join(cells) + " |")
        return (f"({curves.ylabel} ± s.e. over tasks; columns: {curves.index})\n"
                + "\n".join(rows))
    table = format_table(result.returns, header=curves.ylabel, index=curves.index,
                         first=curves.first, errors=result.errors)
    if len(result.per_seed) == 1:
        return table
    return (f"{table}\n(mean over {len(result.per_seed)} seeds; spread (std): "
            f"{', '.join(f'{x:.2f}' for x in result.per_seed.std(0))})")


def standard_error(per_task: np.ndarray) -> np.ndarray:
    """The standard error over tasks of the mean over seeds and tasks of ``[seeds, tasks,
    k]`` values (each seed's std over tasks, ddof 1, over sqrt(tasks)); NaN with one task."""
    seeds, tasks = per_task.shape[:2]
    if tasks < 2:
        return np.full(per_task.shape[2:], np.nan)
    per_seed = per_task.std(1, ddof=1) / np.sqrt(tasks)
    return np.sqrt((per_seed**2).sum(0)) / seeds


def gain_standard_error(per_task: np.ndarray) -> np.ndarray:
    """:func:`standard_error` of each column's gain over the first (``[seeds, tasks, k]``),
    paired over tasks: the error of "adapting helps", without the spread between tasks that
    both columns share (large where tasks differ in how much return they allow)."""
    return standard_error(per_task - per_task[..., :1])


def finite_or_none(value) -> float | None:
    """``value`` as a float, or None (JSON null) when it is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def json_values(values) -> list:
    """An array as (nested) lists of floats, NaN and infinities as None (JSON null)."""
    return [json_values(v) if np.ndim(v) else finite_or_none(v) for v in values]


def result_record(config: TrainConfig, result: MetaTestResult, iteration: int) -> dict:
    """The JSON record of a meta-test (NaN written as null): the protocol in effect, which of
    its fields follow the training, the checkpoint's iteration and the results."""
    protocol = config.meta_test_protocol()
    return {
        "protocol": dataclasses.asdict(protocol),
        "from_training": list(config.meta_test_from_training()),
        "iteration": iteration,
        "num_tasks": protocol.num_tasks,
        "returns": json_values(result.returns),
        "standard_errors": json_values(result.errors),
        "gain_standard_errors": json_values(result.gain_errors),
        **({"per_seed": json_values(result.per_seed)} if config.seeds > 1 else {}),
        **({"sweep": sweep_points(config.sweep), "per_member": json_values(result.per_seed),
            "standard_errors_per_member": json_values(result.member_errors)}
           if config.sweep else {}),
    }



def load_run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a metajax run directory (no config.json)")
    try:
        data = json.loads(path.read_text())
    except (ValueError, OSError) as err:
        raise ConfigError(f"{path} is not a readable JSON config: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return from_dict(TrainConfig, merge(data, parse_overrides(overrides)))


def meta_test_seeds(algo: MetaLearner, meta, config: TrainConfig) -> MetaTestResult:
    """:func:`meta_test` of each seed's params (a run with ``seeds`` > 1 stacks them on a
    leading axis) under the run's effective protocol, with the standard error over tasks."""
    if config.sweep:
        return _meta_test_sweep(meta, config)
    protocol = config.meta_test_protocol()
    seeds = [meta] if config.seeds == 1 else [jax.tree.map(lambda x: x[s], meta)
                                               for s in range(config.seeds)]
    runs = [meta_test_tasks(algo, params, protocol) for params in seeds]
    per_seed = np.stack([means for means, _ in runs])
    per_task = np.stack([per_task for _, per_task in runs])
    return MetaTestResult(per_seed.mean(0), per_seed, standard_error(per_task),
                          gain_standard_error(per_task))


def _meta_test_sweep(meta, config: TrainConfig) -> MetaTestResult:
    """Each sweep point's params meta-tested as its own run (``config.member(i)``: its learner
    and protocol, e.g. a swept ``maml.inner_lr`` is also that point's test step size)."""
    runs = []
    for i in range(config.members):
        member = config.member(i)
        params = jax.tree.map(lambda x: x[i], meta)
        runs.append(meta_test_tasks(build_algorithm(member), params,
                                    member.meta_test_protocol()))
    per_member = np.stack([means for means, _ in runs])
    member_errors = np.stack([standard_error(per_task[None]) for _, per_task in runs])
    gain_errors = np.stack([gain_standard_error(per_task[None]) for _, per_task in runs])
    return MetaTestResult(per_member.mean(0), per_member, member_errors.mean(0),
                          gain_errors.mean(0), member_errors)


def state_template(algo: MetaLearner, config: TrainConfig):
    """A state with the structure of the run's checkpoints (stacked over seeds or points)."""
    if config.sweep:
        return sweep.init_members(algo, config, jax.random.split(jax.random.key(0),
                                                                 config.members))
    keys = jax.random.split(jax.random.key(0), config.seeds)
    return algo.init(keys[0]) if config.seeds == 1 else jax.vmap(algo.init)(keys)


class RunEvaluation(NamedTuple):
    result: MetaTestResult
    iteration: int
    path: Path  # the evaluations/ file written
    report: str  # the protocol line, the checkpoint's iteration and the table


def evaluate_run(run_dir: str | Path, overrides: Sequence[str] = (),
                 step: int | None = None) -> RunEvaluation:
    """Restores checkpoint ``step`` of a run (default: the latest) and meta-tests it with its
    (overridden) effective protocol; writes ``evaluations/step_<N>[_<k>].json``, a new file
    for every evaluation (the training's ``meta_test.json`` is left alone)."""
    run_dir = Path(run_dir)
    for item in overrides:
        if not item.startswith("meta_test."):
            raise ConfigError(f"evaluate takes meta_test.* overrides only (the run's training "
                              f"config is fixed by its checkpoints); got {item!r}")
    config = load_run_config(run_dir, overrides)
    algo = build_algorithm(config)
    state, iteration = checkpoint.restore(run_dir / "checkpoints",
                                          state_template(algo, config), step,
                                          config.state_fingerprint())
    result = meta_test_seeds(algo, state.meta_params, config)
    path = _new_evaluation_path(run_dir, iteration)
    write_json_atomic(path, {**result_record(config, result, iteration),
                             "overrides": list(overrides)})
    report = (f"{describe_meta_test(algo, config)}\ncheckpoint: iteration {iteration} of "
              f"{config.num_iterations}\n{format_meta_test(algo, result, config)}")
    return RunEvaluation(result, iteration, path, report)


def _new_evaluation_path(run_dir: Path, iteration: int) -> Path:
    """The first free ``evaluations/step_<N>[_<k>].json``, claimed by creating it, so that an
    evaluation never overwrites another (nor a concurrent one)."""
    folder = run_dir / "evaluations"
    folder.mkdir(exist_ok=True)
    k = 1
    while True:
        path = folder / (f"step_{iteration}.json" if k == 1 else f"step_{iteration}_{k}.json")
        try:
            path.open("x").close()
            return path
        except FileExistsError:
            k += 1
