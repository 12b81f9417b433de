"""Task distributions: gymnax environments whose ``EnvParams`` carry the task."""

from metajax.envs.base import TaskEnvironment
from metajax.envs.navigation import Navigation2D
from metajax.envs.registry import make, register, registered_envs

__all__ = ["TaskEnvironment", "Navigation2D", "make", "register", "registered_envs"]
