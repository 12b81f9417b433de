"""Checkpoints with orbax: atomic saves of an algorithm's state (any flax struct dataclass
such as ``MetaState`` or ``RL2State``), restored into a template of the same structure."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import jax
import orbax.checkpoint as ocp
from flax import serialization

from metajax.guards import nonfinite_leaves

State = Any  # a flax struct dataclass of arrays


def _as_tree(state: State) -> dict[str, Any]:
    return serialization.to_state_dict(state)


def manager(directory: str | Path, max_to_keep: int = 3,
            keep: Sequence[int] = ()) -> ocp.CheckpointManager:
    """A manager that keeps the latest ``max_to_keep`` checkpoints and every step in
    ``keep``."""
    policies = ocp.checkpoint_managers
    preserve = policies.LatestN(n=max_to_keep)
    if keep:
        preserve = policies.AnyPreservationPolicy([preserve, policies.CustomSteps(steps=keep)])
    options = ocp.CheckpointManagerOptions(preservation_policy=preserve, create=True)
    return ocp.CheckpointManager(Path(directory).absolute(), options=options)


def save(mngr: ocp.CheckpointManager, step: int, state: State) -> None:
    """Saves ``state`` as checkpoint ``step``; orbax writes to a temporary directory and
    renames it, so an interrupted save never corrupts an earlier checkpoint. A state with a
    NaN or an infinity is never saved (:class:`CheckpointError`)."""
    if bad := nonfinite_leaves(state):
        raise CheckpointError(f"refusing to save checkpoint {step}: non-finite values in "
                              f"{', '.join(bad[:5])}")
    mngr.save(step, args=ocp.args.StandardSave(_as_tree(state)))


class CheckpointError(ValueError):
    """A missing, corrupt, partial or incompatible checkpoint."""


def saved_steps(directory: str | Path) -> list[int]:
    """The steps checkpointed under ``directory`` (none when it does not exist)."""
    if not Path(directory).is_dir():
        return []
    mngr = manager(directory)
    try:
        return sorted(mngr.all_steps())
    finally:
        mngr.close()


def restore_latest(directory: str | Path, template: State) -> tuple[State, int]:
    """The latest checkpoint under ``directory`` restored into ``template``'s structure, and
    its step; see :func:`restore`."""
    return restore(directory, template)


def restore(directory: str | Path, template: State,
            step: int | None = None) -> tuple[State, int]:
    """Checkpoint ``step`` (default: the latest) under ``directory`` restored into
    ``template``'s structure, and its step; any failure, a missing step included, is a
    one-line :class:`CheckpointError` (nothing is written)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoints/ directory in {directory.parent}")
    mngr = manager(directory)
    try:
        steps = sorted(mngr.all_steps())
        if not steps:
            raise CheckpointError(f"no checkpoint found under {directory}")
        if step is None:
            step = steps[-1]
        elif step not in steps:
            raise CheckpointError(f"no checkpoint at step {step} under {directory}; "
                                  f"available: {', '.join(map(str, steps))}")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _as_tree(template))
        try:
            tree = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
            state = serialization.from_state_dict(template, tree)
        except Exception as err:  # orbax/tensorstore raise many types for bad files
            # the whole message on one line (orbax puts the mismatching keys after a newline)
            detail = " ".join(str(err).split())[:400] or type(err).__name__
            raise CheckpointError(f"checkpoint {step} under {directory} is corrupt, partial or "
                                  f"incompatible with this run's config: {detail}") from None
    finally:
        mngr.close()
    return state, int(step)

