"""XLA:CPU's batched LAPACK deadlock, and the guard against it.

From jaxlib 0.10.0 on, a batch of matrices factorised on a CPU (Cholesky, LU, QR, triangular
solves: ``jaxlib/cpu/lapack_kernels.cc``) is split over XLA's intra-op thread pool once the
batch's estimated FLOPs reach :data:`LAPACK_SERIAL_FLOPS`, and the calling thread blocks until
the parts finish. When as many such calls run at once as the pool has threads, every thread
waits for parts queued behind the others, for ever (seen with MJX's Cholesky factorisations
at 1024 HalfCheetahs per call on 2 cores, and with batched solves in metajax's baseline fit,
which now solves one matrix at a time: :func:`metajax.baselines.solve`). Below that size a
batch runs on the calling thread and cannot deadlock, so envs whose physics factorises
matrices declare the largest safe batch (``TaskEnvironment.max_envs_per_call``) and learners
refuse larger ones before anything runs (:func:`check_env_batch`).
"""

from __future__ import annotations

import os
import re
from typing import Any

import jax
import jaxlib

LAPACK_SERIAL_FLOPS = 200_000  # jaxlib's kMinWorkPerTask: smaller batches stay on one thread
PARALLEL_FROM_JAXLIB = (0, 10, 0)  # the first jaxlib that splits batches over the pool
# set to 1 to step env batches beyond an env's ``max_envs_per_call()`` anyway (a compile-only
# memory plan, or a jaxlib known to run these kernels serially)
ALLOW_LARGE_ENV_BATCHES = "METAJAX_ALLOW_LARGE_ENV_BATCHES"


def serial_batch_limit(flops_per_matrix: int) -> int | None:
    """The largest batch of matrices of ``flops_per_matrix`` (jaxlib's own estimate, e.g.
    ``n^3 // 3`` for an ``n x n`` Cholesky) that runs on the calling thread on the default
    backend; ``None`` where nothing limits it (not a CPU, or a jaxlib before 0.10)."""
    if jax.default_backend() != "cpu" or _version(jaxlib.__version__) < PARALLEL_FROM_JAXLIB:
        return None
    return (LAPACK_SERIAL_FLOPS - 1) // flops_per_matrix


def check_env_batch(what: str, envs: int, env: Any, remedy: str) -> None:
    """A one-line ``ValueError`` where ``envs`` envs stepped in one call exceed
    ``env.max_envs_per_call()``; ``remedy`` says which setting to change.
    :data:`ALLOW_LARGE_ENV_BATCHES` in the environment lifts the limit."""
    limit = env.max_envs_per_call() if hasattr(env, "max_envs_per_call") else None
    if limit is not None and envs > limit and os.environ.get(ALLOW_LARGE_ENV_BATCHES) != "1":
        raise ValueError(
            f"{what} steps {envs} {env.name} envs in one call, and on this CPU at most {limit} "
            f"are safe (above that, jaxlib runs the physics' batched matrix factorisations on "
            f"XLA's thread pool, where they can deadlock); {remedy} (or set "
            f"{ALLOW_LARGE_ENV_BATCHES}=1 to risk it)")


def _version(text: str) -> tuple[int, ...]:
    """``"0.10.2"`` -> ``(0, 10, 2)``."""
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])
