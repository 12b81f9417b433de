"""The shape every whole-run learner (DQN, PPO, A2C) has: ``init`` a state, then ``update``
it ``num_updates`` times. ``whole_run`` scans the updates into one ``train(key)`` that jits
and vmaps (PureJaxRL style); the CLI runs the same updates in chunks to show progress."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

Metrics = dict[str, jax.Array]


class Learner(NamedTuple):
    init: Callable[..., Any]  # init(key, params=None, task=None) -> state
    update: Callable[[Any, jax.Array], tuple[Any, Metrics]]  # one update
    num_updates: int
    steps_per_update: int  # environment steps per update, over all parallel envs
    evaluate: Callable[..., jax.Array]  # evaluate(params, key, num_episodes, task) -> returns


def whole_run(learner: Learner) -> Callable[..., tuple[Any, Metrics]]:
    """``train(key, params=None, task=None) -> (final state, per-update metrics)``: one
    ``lax.scan`` over all updates, from ``params`` (default: a fresh init) on ``task``
    (default: the env params the learner was made with); both can be vmapped."""

    def train(key: jax.Array, params=None, task=None):
        init_key, run_key = jax.random.split(key)
        state = learner.init(init_key, params, task)
        return jax.lax.scan(learner.update, state,
                            update_keys(run_key, jnp.arange(learner.num_updates)))

    return train


def update_keys(run_key: jax.Array, indices: jax.Array) -> jax.Array:
    """The key of each update by its index in the run, so a run split into chunks draws
    exactly the randomness of the same run in one scan."""
    return jax.vmap(jax.random.fold_in, (None, 0))(run_key, indices)


def mean_return(metrics: Metrics) -> jax.Array:
    """Mean return of the episodes that ended during some updates (their metrics summed)."""
    return jnp.sum(metrics["episode_return_sum"]) / jnp.maximum(jnp.sum(metrics["episodes"]), 1)
