"""Task distributions: gymnax environments whose ``EnvParams`` carry the task."""

from metajax.envs.bandit import BernoulliBandit
from metajax.envs.base import TaskEnvironment
from metajax.envs.navigation import Navigation2D
from metajax.envs.tabular_mdp import TabularMDP, value_iteration
from metajax.envs.registry import make, register, registered_envs

__all__ = ["TaskEnvironment", "Navigation2D", "BernoulliBandit", "TabularMDP", "value_iteration", "make", "register", "registered_envs"]
