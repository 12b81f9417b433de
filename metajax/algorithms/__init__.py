"""Meta-learning algorithms, each built from the shared pure pieces. The names below are
imported on first use (PEP 562), so importing one algorithm's module loads no other."""

from __future__ import annotations

import importlib
from typing import Any

# (the `maml(env, policy, **config)` builder is `metajax.maml`: here `maml` is the submodule)
_EXPORTS = {"MAML": "maml", "MAMLConfig": "maml", "MetaState": "outer"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'metajax.algorithms' has no attribute {name!r}")
    module = importlib.import_module(f"metajax.algorithms.{_EXPORTS[name]}")
    value = getattr(module, name)
    globals()[name] = value
    return value
