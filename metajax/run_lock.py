"""One writer per run directory: an exclusive ``flock`` on ``<run>/.lock`` held for the run's
life. A second ``train --resume`` (or a ``train`` racing for the same name) is refused in one
line naming the holder's pid, before it reads or writes anything else. The kernel drops the
lock when its process dies, however it dies, so a killed run never leaves a stale lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator


class RunLocked(Exception):
    """The run directory is held by another process."""


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Holds ``run_dir``'s lock for the ``with`` block; raises :class:`RunLocked` at once
    when another process holds it. The file holds the holder's pid while held, nothing after."""
    path = Path(run_dir) / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunLocked(f"run directory {run_dir} is in use by another metajax process "
                            f"(pid {holder}); wait for it to end") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
