"""metajax: meta-reinforcement learning in JAX from pure functions.

The public names below are imported on first use (PEP 562), so ``import metajax.distributed``
touches no JAX backend: a multi-process run can call
``metajax.distributed.initialize`` before anything (gymnax included) starts one.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "MAML": "metajax.algorithms.maml", "MAMLConfig": "metajax.algorithms.maml",
    "MetaState": "metajax.algorithms.outer", "maml": "metajax.algorithms.maml",
    "FewShotRegression": "metajax.algorithms.regression", "Sinusoid": "metajax.envs.sinusoid",
    "Batch": "metajax.batch", "make_batch": "metajax.batch",
    "BernoulliBandit": "metajax.envs", "Navigation2D": "metajax.envs",
    "TabularMDP": "metajax.envs", "TaskEnvironment": "metajax.envs", "make": "metajax.envs",
    "register": "metajax.envs", "registered_envs": "metajax.envs",
    "value_iteration": "metajax.envs", "Policy": "metajax.networks",
    "make_policy": "metajax.networks", "Trajectory": "metajax.rollouts",
    "rollout": "metajax.rollouts", "inner": "metajax.inner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'metajax' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    value = module if name == "inner" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

