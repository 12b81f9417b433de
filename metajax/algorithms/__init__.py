"""Meta-learning algorithms, each built from the shared pure pieces."""

from metajax.algorithms.maml import MAML, MAMLConfig, MetaState, maml

__all__ = ["MAML", "MAMLConfig", "MetaState", "maml"]
