"""Will the compiled step fit? XLA's own memory plan of a compiled program against the memory
the device has free, checked before the first iteration so that a run too large for the
machine is refused in one line instead of failing (or swapping) after its set-up."""

from __future__ import annotations

import os

import jax


def planned_bytes(compiled) -> int | None:
    """Arguments, outputs and temporaries of ``compiled`` (a ``jax.stages.Compiled``) as
    XLA plans them, donated buffers counted once; None when the backend reports no plan."""
    analysis = compiled.memory_analysis()
    if analysis is None:
        return None
    return (analysis.argument_size_in_bytes + analysis.output_size_in_bytes
            + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes)


def available_bytes(device: jax.Device) -> int | None:
    """Free memory on ``device``: an accelerator's allocator limit less what is in use, the
    host's available memory (Linux ``MemAvailable``) for a CPU; None when unknown."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"
