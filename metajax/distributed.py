"""Scaling out over devices: the task axis of a meta-batch sharded over a 1-D device mesh.

Every per-task computation (rollouts, baselines, adaptation, the post-adaptation surrogate)
is vmapped over tasks, so constraining the sampled tasks and keys to ``P("tasks")`` lets XLA
(GSPMD) split all of it across devices; means over tasks become all-reduces, so the
meta-gradient and the TRPO step (on replicated params) are those of one device. On CPU,
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` makes N devices (one thread each).
Across processes or hosts, :func:`initialize` joins them first; the mesh then spans every
process's devices and each process runs the same program.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

TASK_AXIS = "tasks"


def task_mesh(num_devices: int | None = None) -> Mesh:
    """A mesh over the first ``num_devices`` devices (default: all) with axis ``tasks``."""
    devices = jax.devices()
    n = len(devices) if num_devices is None else num_devices
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices must be between 1 and {len(devices)} (the devices "
                         f"available), got {n}")
    return Mesh(np.asarray(devices[:n]), (TASK_AXIS,))


def shard_tasks(tree: Any, mesh: Mesh | None) -> Any:
    """``tree`` (leading axis = tasks) constrained to be split over the mesh's devices; a
    no-op without a mesh."""
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, NamedSharding(mesh, PartitionSpec(TASK_AXIS)))


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
    """Joins a multi-process (multi-host) run with ``jax.distributed.initialize``; arguments
    not given come from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES`` and
    ``JAX_PROCESS_ID``. Returns False (and does nothing) when no coordinator is set. On CPU,
    cross-process collectives use gloo. Afterwards ``jax.devices()`` lists every process's
    devices, so :func:`task_mesh` spans them all."""
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if not coordinator:
        return False
    num_processes = num_processes if num_processes is not None else _env_int("JAX_NUM_PROCESSES")
    process_id = process_id if process_id is not None else _env_int("JAX_PROCESS_ID")
    if num_processes is None or process_id is None:
        raise ValueError("a multi-process run needs --num-processes and --process-id (or "
                         "JAX_NUM_PROCESSES and JAX_PROCESS_ID) beside the coordinator")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process id must be in [0, {num_processes}), got {process_id}")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes, process_id)
    return True


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
