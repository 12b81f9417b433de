"""Hyperparameter sweeps in one program: ``metajax train sweep.maml.inner_lr=[0.05,0.1,0.2]``.

The swept hyperparameters (``config.SWEEPABLE``) only enter traced arithmetic, so every point
of the sweep is the same program with other numbers: the run stacks one learner state per
point and trains them all with one ``jax.vmap`` of the step, compiled once, the point's values
passed in as arrays. Every point draws the keys of a single run with the config's seed, so
member ``i`` is the run ``config.member(i)`` (equal up to float rounding: batched kernels).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from metajax.config import TrainConfig, sweep_points
from metajax.meta_learner import MetaLearner


def point_values(config: TrainConfig) -> dict[str, jax.Array]:
    """Each swept key's value at every point, ``{key: float32 [points]}``."""
    points = sweep_points(config.sweep)
    return {key: jnp.asarray([p[key] for p in points], jnp.float32) for key in config.sweep}


def learner_at(learner: MetaLearner, point: dict[str, jax.Array]) -> MetaLearner:
    """``learner`` with its config's swept fields set to ``point``'s (traced) values. The
    values were checked when the sweep was (one config per point), so the copy skips the
    config's validation, which needs concrete numbers."""
    section = copy.copy(learner.config)
    for key, value in point.items():
        object.__setattr__(section, key.split(".")[1], value)
    return dataclasses.replace(learner, config=section)


def init_members(learner: MetaLearner, config: TrainConfig, keys: jax.Array):
    """The stacked initial states of every point (``keys``: one per point)."""
    return jax.vmap(lambda key, point: learner_at(learner, point).init(key))(
        keys, point_values(config))


def member_step(learner: MetaLearner, config: TrainConfig,
                wrap: Callable[[Callable], Callable]) -> tuple[Callable, Any]:
    """``(step(states, keys) -> (states, metrics))`` over every point at once, each point's
    step wrapped by ``wrap`` (the non-finite guard), and the wrapped function (its names)."""
    wrapped = wrap(lambda state, key, point: learner_at(learner, point).step(state, key))
    values = point_values(config)
    return (lambda states, keys: jax.vmap(wrapped)(states, keys, values)), wrapped
