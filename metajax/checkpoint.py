"""Checkpoints with orbax: atomic saves of the meta-state, restore into a template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from metajax.algorithms.maml import MetaState


def _as_tree(state: MetaState) -> dict[str, Any]:
    return {"params": state.params, "inner": state.inner, "opt_state": state.opt_state,
            "iteration": state.iteration}


def manager(directory: str | Path, max_to_keep: int = 3) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    return ocp.CheckpointManager(Path(directory).absolute(), options=options)


def save(mngr: ocp.CheckpointManager, step: int, state: MetaState) -> None:
    """Saves ``state`` as checkpoint ``step``; orbax writes to a temporary directory and
    renames it, so an interrupted save never corrupts an earlier checkpoint."""
    mngr.save(step, args=ocp.args.StandardSave(_as_tree(state)))


def restore(directory: str | Path, template: MetaState, step: int | None = None) -> MetaState:
    """Restores the latest (or given) checkpoint into the structure of ``template``."""
    mngr = manager(directory)
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise FileNotFoundError(f"no checkpoint found under {directory}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _as_tree(template))
    tree = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
    mngr.close()
    return MetaState(tree["params"], tree["inner"], tree["opt_state"], tree["iteration"])
