"""Checkpoints with orbax: atomic saves of an algorithm's state (any flax struct dataclass
such as ``MetaState`` or ``RL2State``), restored into a template of the same structure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp
from flax import serialization

State = Any  # a flax struct dataclass of arrays


def _as_tree(state: State) -> dict[str, Any]:
    return serialization.to_state_dict(state)


def manager(directory: str | Path, max_to_keep: int = 3) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    return ocp.CheckpointManager(Path(directory).absolute(), options=options)


def save(mngr: ocp.CheckpointManager, step: int, state: State) -> None:
    """Saves ``state`` as checkpoint ``step``; orbax writes to a temporary directory and
    renames it, so an interrupted save never corrupts an earlier checkpoint."""
    mngr.save(step, args=ocp.args.StandardSave(_as_tree(state)))


def restore(directory: str | Path, template: State, step: int | None = None) -> State:
    """Restores the latest (or given) checkpoint into the structure of ``template``."""
    mngr = manager(directory)
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise FileNotFoundError(f"no checkpoint found under {directory}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _as_tree(template))
    tree = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
    mngr.close()
    return serialization.from_state_dict(template, tree)
