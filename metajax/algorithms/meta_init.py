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
from metajax.envs.base import TaskEnvironment

TrainFn = Callable[..., tuple[Any, dict[str, jax.Array]]]  # train(key, params, task)


@dataclasses.dataclass(frozen=True)
class ReptileConfig:
    meta_iterations: int = 50
    tasks_per_iteration: int = 8
    outer_lr: float = 0.5
    anneal: bool = True  # outer step size decays linearly to zero (Nichol et al.)

    def __post_init__(self):
        checks.positive("meta_iterations", self.meta_iterations, integer=True)
        checks.positive("tasks_per_iteration", self.tasks_per_iteration, integer=True)
        checks.in_interval("outer_lr", self.outer_lr, 1e-12, 1.0)


def mean_return(metrics: dict[str, jax.Array]) -> jax.Array:
    """Mean return of the episodes that ended during a run (its metrics summed over time)."""
    return jnp.sum(metrics["episode_return_sum"]) / jnp.maximum(jnp.sum(metrics["episodes"]), 1)


def make_reptile(train: TrainFn, env: TaskEnvironment, config: ReptileConfig):
    """``meta_train(key, init_params) -> (meta-learned params, per-iteration metrics)``."""

    def meta_step(carry, key):
        params, iteration = carry
        task_key, run_key = jax.random.split(key)
        tasks = env.sample_tasks(task_key, config.tasks_per_iteration)
        states, metrics = jax.vmap(train, (0, None, 0))(
            jax.random.split(run_key, config.tasks_per_iteration), params, tasks)
        lr = config.outer_lr
        if config.anneal:
            lr = lr * (1.0 - iteration / config.meta_iterations)
        params = jax.tree.map(lambda p, q: p + lr * (q.mean(0) - p), params, states.params)
        return (params, iteration + 1), {"inner_return": mean_return(metrics)}

    def meta_train(key: jax.Array, init_params):
        (params, _), metrics = jax.lax.scan(
            meta_step, (init_params, jnp.zeros(())), jax.random.split(key, config.meta_iterations))
        return params, metrics

    return meta_train
