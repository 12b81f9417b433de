"""metajax: meta-reinforcement learning in JAX from pure functions."""

from metajax import inner
from metajax.algorithms import MAML, MAMLConfig, MetaState, maml
from metajax.algorithms.regression import FewShotRegression
from metajax.envs.sinusoid import Sinusoid
from metajax.batch import Batch, make_batch
from metajax.envs import (BernoulliBandit, Navigation2D, TabularMDP, TaskEnvironment, make,
                          register, registered_envs, value_iteration)
from metajax.networks import Policy, make_policy
from metajax.rollout import Trajectory, rollout

__version__ = "0.1.0"

__all__ = [
    "MAML", "MAMLConfig", "MetaState", "maml", "Batch", "make_batch", "Navigation2D",
    "BernoulliBandit", "TabularMDP", "value_iteration",
    "TaskEnvironment", "make", "register", "registered_envs", "Policy", "make_policy",
    "Trajectory", "rollout", "inner", "FewShotRegression", "Sinusoid",
]
