"""Meta-test on fresh tasks from a held-out seed: the mean return after 0..k adaptation steps
(gradient-based methods), or of each episode of one trial (RL^2, which adapts in memory)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from metajax import checkpoint
from metajax.algorithms.agent_runs import MetaInitRun, SingleTaskRun
from metajax.algorithms.rl2 import RL2
from metajax.config import (Algorithm, ConfigError, MetaTestConfig, TrainConfig, build_algorithm,
                            from_dict, merge, parse_overrides)


def meta_test(algo: Algorithm, meta, protocol: MetaTestConfig) -> np.ndarray:
    """Mean return over ``protocol.num_tasks`` held-out tasks after 0..``num_steps`` steps;
    for RL^2, the mean return of each episode of a trial; for a deep-RL learner, its greedy
    return after training (one environment) or before and after fine-tuning (meta-init)."""
    key = jax.random.key(protocol.seed)
    if isinstance(algo, (SingleTaskRun, MetaInitRun)):
        run = _compiled_agent_test(algo, protocol.num_tasks, protocol.num_episodes)
        return np.asarray(run(meta, key))
    task_key, run_key = jax.random.split(key)
    if isinstance(algo, RL2):
        tasks = algo.env.env.sample_tasks(task_key, protocol.num_tasks)
        return np.asarray(_compiled_trial_test(algo)(meta, tasks, run_key))
    tasks = algo.env.sample_tasks(task_key, protocol.num_tasks)
    lrs = jnp.asarray(protocol.schedule, jnp.float32).reshape(protocol.num_steps)
    run = _compiled_meta_test(algo, protocol.num_steps, protocol.num_episodes)
    return np.asarray(run(meta, tasks, run_key, lrs))


@lru_cache(maxsize=32)
def _compiled_meta_test(algo, num_steps: int, num_episodes: int):
    """One jitted meta-test per (algorithm, steps, episodes): protocols that differ only in
    step sizes, seeds or task count reuse it instead of re-tracing."""
    jitted = jax.jit(algo.meta_test, static_argnums=(3, 4))
    return lambda meta, tasks, key, lrs: jitted(meta, tasks, key, num_steps, num_episodes, lrs)


@lru_cache(maxsize=8)
def _compiled_trial_test(algo: RL2):
    return jax.jit(algo.meta_test)


@lru_cache(maxsize=8)
def _compiled_agent_test(algo: SingleTaskRun | MetaInitRun, num_tasks: int, num_episodes: int):
    return jax.jit(lambda meta, key: algo.meta_test(meta, key, num_tasks, num_episodes))


def describe_meta_test(algo: Algorithm, protocol: MetaTestConfig) -> str:
    """One line saying what the meta-test measures."""
    if isinstance(algo, SingleTaskRun):
        return (f"test: greedy policy over {protocol.num_episodes} episodes "
                f"(seed {protocol.seed}):")
    where = f"{protocol.num_tasks} held-out tasks (seed {protocol.seed}"
    if isinstance(algo, MetaInitRun):
        return (f"meta-test on {where}): greedy return over {protocol.num_episodes} episodes "
                "before and after one fine-tuning run of the inner budget:")
    if isinstance(algo, RL2):
        return f"meta-test on {where}, one trial of {algo.env.num_episodes} episodes each):"
    return (f"meta-test on {where}, {protocol.num_episodes} episodes per step, step sizes "
            f"{protocol.schedule}):")


def format_table(returns: Sequence[float], published: Sequence[float] | None = None,
                 header: str = "mean return", index: str = "adaptation steps",
                 first: int = 0) -> str:
    """A markdown table with one row per adaptation step (or per episode, from ``first``)."""
    header = f"| {index} | {header} |" + (" published |" if published else "")
    rule = "|---|---|" + ("---|" if published else "")
    rows = [header, rule]
    for i, value in enumerate(returns):
        row = f"| {i + first} | {value:.2f} |"
        if published:
            row += f" {published[i]:.1f} |" if i < len(published) else " |"
        rows.append(row)
    return "\n".join(rows)


def report_style(algo) -> dict:
    """How tables and plots name an algorithm's two training curves and meta-test axis."""
    ylabel = "mean squared error" if algo.score_names[0].endswith("mse") else "mean return"
    if isinstance(algo, SingleTaskRun):
        return {"labels": ("training episodes", "greedy policy"), "index": "training runs",
                "first": 1, "ylabel": ylabel}
    if isinstance(algo, MetaInitRun):
        return {"labels": ("inner runs: training episodes", "inner runs: final greedy policy"),
                "index": "fine-tuning runs", "first": 0, "ylabel": ylabel}
    if isinstance(algo, RL2):
        return {"labels": ("first episode of a trial", "last episode of a trial"),
                "index": "episode of the trial", "first": 1, "ylabel": ylabel}
    return {"labels": ("pre-adaptation", "post-adaptation"), "index": "adaptation steps",
            "first": 0, "ylabel": ylabel}


def format_meta_test(algo, returns: Sequence[float]) -> str:
    """The meta-test table with the algorithm's own row and column names."""
    style = report_style(algo)
    return format_table(returns, header=style["ylabel"], index=style["index"],
                        first=style["first"])


def write_json_atomic(path: Path, data) -> None:
    """Writes JSON via a temporary file and a rename: a crash never leaves a half file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def load_run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a metajax run directory (no config.json)")
    data = json.loads(path.read_text())
    return from_dict(TrainConfig, merge(data, parse_overrides(overrides)))


def meta_test_seeds(algo: Algorithm, meta, config: TrainConfig) -> np.ndarray:
    """:func:`meta_test` of each seed's params (``[seeds, ...]``; a run with ``seeds`` > 1
    stacks them on a leading axis)."""
    if config.seeds == 1:
        return meta_test(algo, meta, config.meta_test)[None]
    return np.stack([meta_test(algo, jax.tree.map(lambda x: x[s], meta), config.meta_test)
                     for s in range(config.seeds)])


def state_template(algo: Algorithm, config: TrainConfig):
    """A state with the structure of the run's checkpoints (stacked over seeds)."""
    keys = jax.random.split(jax.random.key(0), config.seeds)
    return algo.init(keys[0]) if config.seeds == 1 else jax.vmap(algo.init)(keys)


class RunEvaluation(NamedTuple):
    returns: np.ndarray
    table: str


def evaluate_run(run_dir: str | Path, overrides: Sequence[str] = ()) -> RunEvaluation:
    """Restores a run's latest checkpoint and meta-tests it with its (overridden)
    ``meta_test`` protocol; writes ``meta_test.json`` in the run directory."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir, overrides)
    algo = build_algorithm(config)
    state, step = checkpoint.restore_latest(run_dir / "checkpoints",
                                            state_template(algo, config))
    per_seed = meta_test_seeds(algo, state.meta_params, config)
    returns = per_seed.mean(0)
    write_json_atomic(run_dir / "meta_test.json", {
        "protocol": config.to_dict()["meta_test"],
        "iteration": step,
        "returns": [float(r) for r in returns],
        **({"per_seed": per_seed.tolist()} if config.seeds > 1 else {}),
    })
    return RunEvaluation(returns, format_meta_test(algo, returns))
