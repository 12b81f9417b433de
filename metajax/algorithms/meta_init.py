"""Meta-learned initialisations for whole-run learners (DQN, PPO, A2C) by Reptile.

Reptile (Nichol et al. 2018) on a task distribution: each meta-iteration runs the learner's
``train(key, params, task)`` from the current initialisation on a batch of tasks (vmapped, so
one XLA program trains every task) and moves the initialisation toward the mean of the final
parameters, ``theta <- theta + outer_lr * (mean_i theta_i' - theta)``. The whole meta-training
is one ``lax.scan``. First-order, so it never differentiates through the inner run (which
samples environments and a replay buffer).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from metajax import checks
from metajax.algorithms.learner import mean_return
from metajax.envs.base import TaskEnvironment

TrainFn = Callable[..., tuple[Any, dict[str, jax.Array]]]  # train(key, params, task)
EvaluateFn = Callable[..., jax.Array]  # evaluate(params, key, num_episodes, task) -> returns


@dataclasses.dataclass(frozen=True)
class ReptileConfig:
    tasks_per_iteration: int = 8
    outer_lr: float = 0.5
    anneal: bool = True  # outer step size decays linearly to zero (Nichol et al.)
    eval_episodes: int = 10  # greedy episodes per task scoring each inner run's final params

    def __post_init__(self):
        checks.positive("tasks_per_iteration", self.tasks_per_iteration, integer=True)
        checks.in_interval("outer_lr", self.outer_lr, 1e-12, 1.0)
        checks.positive("eval_episodes", self.eval_episodes, integer=True)


def make_reptile_step(train: TrainFn, env: TaskEnvironment, config: ReptileConfig,
                      num_iterations: int, evaluate: EvaluateFn | None = None):
    """``step((params, iteration), key) -> ((params, iteration + 1), metrics)``: one Reptile
    meta-iteration, annealed over ``num_iterations``. Metrics: ``inner_return`` (mean return
    of the inner runs' episodes) and, given ``evaluate(params, key, num_episodes, task)``,
    ``adapted_return`` (mean greedy return of the inner runs' final params on their tasks)."""

    def step(carry, key):
        params, iteration = carry
        task_key, run_key, eval_key = jax.random.split(key, 3)
        tasks = env.sample_tasks(task_key, config.tasks_per_iteration)
        states, metrics = jax.vmap(train, (0, None, 0))(
            jax.random.split(run_key, config.tasks_per_iteration), params, tasks)
        lr = config.outer_lr
        if config.anneal:
            lr = lr * (1.0 - iteration / num_iterations)
        new_params = jax.tree.map(lambda p, q: p + lr * (q.mean(0) - p), params, states.params)
        out = {"inner_return": mean_return(metrics)}
        if evaluate is not None:
            returns = jax.vmap(evaluate, (0, 0, None, 0))(
                states.params, jax.random.split(eval_key, config.tasks_per_iteration),
                config.eval_episodes, tasks)
            out["adapted_return"] = jnp.mean(returns)
        return (new_params, iteration + 1), out

    return step


def make_reptile(train: TrainFn, env: TaskEnvironment, config: ReptileConfig,
                 num_iterations: int):
    """``meta_train(key, init_params) -> (meta-learned params, per-iteration metrics)``: all
    ``num_iterations`` Reptile steps as one ``lax.scan``."""
    step = make_reptile_step(train, env, config, num_iterations)

    def meta_train(key: jax.Array, init_params):
        (params, _), metrics = jax.lax.scan(
            step, (init_params, jnp.zeros(())), jax.random.split(key, num_iterations))
        return params, metrics

    return meta_train
