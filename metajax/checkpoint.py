"""Verified checkpoints with orbax: atomic saves of an algorithm's state (any flax struct
dataclass such as ``MetaState`` or ``RL2State``), restored into a template of the same
structure, and never restored unless verified.

Every save writes, after orbax has committed the arrays, a digest file beside the checkpoint
directory (``<checkpoints>.digests/<step>.json``): a SHA-256 of every array (path, dtype,
shape, bytes) and the fingerprint of the config the state belongs to. A restore recomputes the
hash of what it read and refuses a checkpoint whose digest is missing (its save never
finished) or differs (its files were changed), that holds a NaN or an infinity, or that
belongs to another config. :func:`restore_verified` falls back to the newest checkpoint that
verifies and moves the rejected ones aside (``<checkpoints>.rejected/<step>``, kept, not
deleted), so the run continues from the good one and orbax's pruning never counts them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Sequence

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import serialization

from metajax.guards import host_value, nonfinite_leaves
from metajax.jsonio import write_json_atomic

State = Any  # a flax struct dataclass of arrays


class CheckpointError(ValueError):
    """A missing, corrupt, partial, unverifiable or incompatible checkpoint."""


def _as_tree(state: State) -> dict[str, Any]:
    """The state's nested dict of arrays, its zero-size arrays as ``None`` (orbax refuses to
    store them, and they hold no values; e.g. a brax physics state's actuator activations)."""
    return jax.tree.map(lambda x: None if getattr(x, "size", 1) == 0 else x,
                        serialization.to_state_dict(state))


def _with_empty(tree: Any, template: Any) -> Any:
    """``tree`` (restored) with the zero-size arrays :func:`_as_tree` left out taken back from
    ``template``'s state dict."""
    leaves, treedef = jax.tree.flatten(template)
    restored = jax.tree.leaves(tree, is_leaf=lambda x: x is None)
    return jax.tree.unflatten(treedef, [t if r is None else r for t, r in zip(leaves, restored)])


def array_digest(tree: Any) -> str:
    """SHA-256 over every leaf's path, shape and values, in tree order. Values are widened
    (floats to float64, integers to int64, PRNG keys to their key data) so that a leaf saved
    as a float32 array and restored as a Python float (gymnax's params) hash alike."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype,
                                                                jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        array = host_value(leaf)
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        elif np.issubdtype(array.dtype, np.integer):
            array = array.astype(np.int64)
        array = np.ascontiguousarray(array)
        h.update(f"{jax.tree_util.keystr(path)}|{array.dtype.kind}|{array.shape}|".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def _digest_path(directory: str | Path, step: int) -> Path:
    directory = Path(directory).absolute()
    return directory.parent / f"{directory.name}.digests" / f"{step}.json"


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


def save(mngr: ocp.CheckpointManager, step: int, state: State, fingerprint: str = "") -> None:
    """Saves ``state`` as checkpoint ``step`` and, once orbax has committed it (written to a
    temporary directory and renamed, so an interrupted save never touches an earlier
    checkpoint), its digest. A state with a NaN or an infinity is never saved
    (:class:`CheckpointError`). ``fingerprint`` names the config the state belongs to."""
    if bad := nonfinite_leaves(state):
        raise CheckpointError(f"refusing to save checkpoint {step}: non-finite values in "
                              f"{', '.join(bad[:5])}")
    tree = _as_tree(state)
    mngr.save(step, args=ocp.args.StandardSave(tree))
    if jax.process_count() == 1:  # over several processes orbax coordinates its own commits
        mngr.wait_until_finished()
    if jax.process_index() == 0:
        path = _digest_path(mngr.directory, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"step": step, "arrays_sha256": array_digest(tree),
                                 "config": fingerprint})


def saved_steps(directory: str | Path) -> list[int]:
    """The steps checkpointed under ``directory`` (none when it does not exist)."""
    if not Path(directory).is_dir():
        return []
    mngr = manager(directory)
    try:
        return sorted(mngr.all_steps())
    finally:
        mngr.close()


def restore_latest(directory: str | Path, template: State,
                   fingerprint: str | None = None) -> tuple[State, int]:
    """The latest checkpoint under ``directory``, verified, restored into ``template``'s
    structure, and its step; see :func:`restore`."""
    return restore(directory, template, None, fingerprint)


def restore(directory: str | Path, template: State, step: int | None = None,
            fingerprint: str | None = None) -> tuple[State, int]:
    """Checkpoint ``step`` (default: the latest) under ``directory`` restored into
    ``template``'s structure and verified (its digest; and, unless ``fingerprint`` is None,
    its config), and its step. Any failure, a missing step included, is a one-line
    :class:`CheckpointError` (nothing is written)."""
    directory = Path(directory)
    steps = _steps_or_error(directory)
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise CheckpointError(f"no checkpoint at step {step} under {directory}; "
                              f"available: {', '.join(map(str, steps))}")
    return _restore_step(directory, template, step, fingerprint), step


def restore_verified(directory: str | Path, template: State,
                     fingerprint: str | None = None) -> tuple[State, int, list[str]]:
    """The newest checkpoint under ``directory`` that verifies, its step, and one line per
    newer checkpoint that did not (each moved to ``<directory>.rejected/<step>``). Raises
    :class:`CheckpointError` when none verifies (then nothing is moved)."""
    directory = Path(directory)
    rejected: list[tuple[int, str]] = []
    for step in reversed(_steps_or_error(directory)):
        try:
            state = _restore_step(directory, template, step, fingerprint)
        except CheckpointError as err:
            rejected.append((step, str(err)))
            continue
        aside = directory.parent / f"{directory.name}.rejected"
        for bad, _ in rejected if jax.process_index() == 0 else []:  # one process moves
            aside.mkdir(exist_ok=True)
            shutil.move(str(directory / str(bad)), str(aside / str(bad)))
        return state, step, [reason for _, reason in rejected]
    raise CheckpointError(f"no checkpoint under {directory} verifies: "
                          + " | ".join(reason for _, reason in rejected))


def _steps_or_error(directory: Path) -> list[int]:
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoints/ directory in {directory.parent}")
    steps = saved_steps(directory)
    if not steps:
        raise CheckpointError(f"no checkpoint found under {directory}")
    return steps


def _restore_step(directory: Path, template: State, step: int,
                  fingerprint: str | None) -> State:
    mngr = manager(directory)
    try:
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _as_tree(template))
        try:
            tree = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
            full = _with_empty(tree, serialization.to_state_dict(template))
            state = serialization.from_state_dict(template, full)
        except Exception as err:  # orbax/tensorstore raise many types for bad files
            # the whole message on one line (orbax puts the mismatching keys after a newline)
            detail = " ".join(str(err).split())[:400] or type(err).__name__
            raise CheckpointError(f"checkpoint {step} under {directory} is corrupt, partial or "
                                  f"incompatible with this run's config: {detail}") from None
    finally:
        mngr.close()
    problem = _verification_problem(directory, step, tree, state, fingerprint)
    if problem:
        raise CheckpointError(f"checkpoint {step} under {directory} failed verification: "
                              f"{problem}")
    return state


def _verification_problem(directory: Path, step: int, tree: Any, state: State,
                          fingerprint: str | None) -> str | None:
    path = _digest_path(directory, step)
    try:
        digest = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no readable digest (its save did not finish, or it predates verification)"
    if digest.get("arrays_sha256") != array_digest(tree):
        return "its arrays differ from what was saved (the files were changed or damaged)"
    if fingerprint is not None and digest.get("config") != fingerprint:
        return "it belongs to another config"
    if bad := nonfinite_leaves(state):
        return f"non-finite values in {', '.join(bad[:5])}"
    return None
