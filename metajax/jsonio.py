"""Strict JSON files: non-finite floats become null (and are listed), and every file is
written through a temporary file and a rename, so a crash never leaves half a file."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def strict_json(data, path: str = "") -> tuple[Any, list[str]]:
    """``data`` with every NaN or infinite float replaced by None (strict JSON has neither),
    and the paths of what was replaced (``"returns[2]"``)."""
    if isinstance(data, dict):
        pairs = [(k, strict_json(v, f"{path}.{k}" if path else str(k))) for k, v in data.items()]
        return {k: v for k, (v, _) in pairs}, [p for _, (_, ps) in pairs for p in ps]
    if isinstance(data, (list, tuple)):
        items = [strict_json(v, f"{path}[{i}]") for i, v in enumerate(data)]
        return [v for v, _ in items], [p for _, ps in items for p in ps]
    if isinstance(data, float) and not math.isfinite(data):
        return None, [path]
    return data, []


def write_json_atomic(path: Path, data) -> None:
    """Writes strict JSON via a temporary file and a rename: a crash never leaves a half
    file. Non-finite floats are written as null and, in a dict, listed under
    ``"nonfinite"``."""
    data, replaced = strict_json(data)
    if replaced and isinstance(data, dict):
        data = {**data, "nonfinite": sorted(set(data.get("nonfinite") or []) | set(replaced))}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False))
    os.replace(tmp, path)
