"""Outer rules of the MAML family as values in optax's shape: an :class:`OuterRule` is a pair
of pure functions ``init(meta) -> state`` and ``update(objective, state, meta) -> (meta,
state, metrics)``. :func:`trpo`, :func:`promp`, :func:`reptile` and :func:`optax_rule` (any
``optax.GradientTransformation``) are built once from their hyperparameters; a learner hands
each meta-iteration's :class:`MetaObjective` to whichever rule it was given.

A rule takes from the objective only what it needs, and only that is traced: the
meta-objective ``loss`` (gradient rules), the trust-region pieces at ``meta`` (TRPO: the
surrogate and KL, the Fisher-vector product and the surrogate's gradient, all from one
linearisation of the adaptation), ProMP's clipped objective, or the adapted params (Reptile).
As optax's ``scale_by_backtracking_linesearch`` receives a ``value_fn``, these arrive as
functions of the meta-params.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import optax
from flax import struct

from metajax import inner, optim

PyTree = Any
Metrics = dict[str, jax.Array]


@struct.dataclass
class MetaState:
    """What meta-training with an outer rule carries between iterations (a plain pytree,
    checkpointable): the meta-params ``{"params", "inner"}``, the rule's state, the count."""

    params: Any
    inner: Any  # the inner rule's meta-learned hyperparameters (Meta-SGD's step sizes)
    opt_state: Any
    iteration: jax.Array

    @property
    def meta_params(self) -> dict[str, Any]:
        """Everything the outer loop learns."""
        return {"params": self.params, "inner": self.inner}


class TrustRegion(NamedTuple):
    """TRPO's problem at the current meta-params: ``loss_and_kl(meta)`` (the surrogate and the
    mean KL to the current adapted policies), ``fvp`` (``v -> F v``, the KL's Hessian at the
    current meta-params) and the surrogate's value and gradient there."""

    loss_and_kl: Callable[[PyTree], tuple[jax.Array, jax.Array]]
    fvp: Callable[[PyTree], PyTree]
    loss_and_grads: tuple[jax.Array, PyTree]


class MetaObjective(NamedTuple):
    """What one meta-iteration offers an outer rule (all lazy: functions of the meta-params
    ``{"params", "inner"}``, traced only when a rule calls them).

    - ``loss(meta)``: the post-adaptation objective; ``jax.grad`` of it is the meta-gradient.
    - ``adapted``: every task's adapted params, ``[tasks, ...]``.
    - ``trust_region(meta)``: a :class:`TrustRegion` (None where there is no policy: regression).
    - ``clipped_loss(meta)``: ProMP's objective as a function of the meta-params, its old
      policies taken at ``meta``, returning ``(loss, diagnostics)`` (None where there is no
      policy).
    """

    loss: Callable[[PyTree], jax.Array]
    adapted: PyTree
    trust_region: Callable[[PyTree], TrustRegion] | None = None
    clipped_loss: Callable[[PyTree], Callable[[PyTree], tuple[jax.Array, Metrics]]] | None = None


class OuterRule(NamedTuple):
    """An outer update: ``init(meta) -> state``; ``update(objective, state, meta) -> (new
    meta, new state, metrics)``."""

    init: Callable[[PyTree], Any]
    update: Callable[[MetaObjective, Any, PyTree], tuple[PyTree, Any, Metrics]]


def _no_state(meta: PyTree) -> tuple:
    del meta
    return ()


def optax_rule(optimizer: optax.GradientTransformation) -> OuterRule:
    """Any optax optimiser on the meta-gradient of ``objective.loss``."""

    def update(objective: MetaObjective, state, meta):
        loss, grads = jax.value_and_grad(objective.loss)(meta)
        updates, state = optimizer.update(grads, state, meta)
        return (optax.apply_updates(meta, updates), state,
                {"loss_before": loss, "grad_norm": optax.tree.norm(grads)})

    return OuterRule(optimizer.init, update)


def trpo(max_kl: float, cg_iters: int = 10, cg_damping: float = 1e-5, ls_max_steps: int = 15,
         ls_backtrack_ratio: float = 0.8, cg_unroll: bool = True) -> OuterRule:
    """TRPO (Schulman et al. 2015) on the post-adaptation surrogate, as MAML-RL does: conjugate
    gradient on Fisher-vector products through the adaptation, a step scaled to ``max_kl``,
    then a backtracking line search (:func:`metajax.optim.trpo_step`). Stateless."""

    def update(objective: MetaObjective, state, meta):
        if objective.trust_region is None:
            raise ValueError("trpo needs a policy's trust region; this learner has none")
        region = objective.trust_region(meta)
        meta, info = optim.trpo_step(meta, region.loss_and_kl, region.fvp, max_kl, cg_iters,
                                     cg_damping, ls_max_steps, ls_backtrack_ratio,
                                     loss_and_grads=region.loss_and_grads, cg_unroll=cg_unroll)
        return meta, state, info._asdict()

    return OuterRule(_no_state, update)


def promp(optimizer: optax.GradientTransformation, steps: int) -> OuterRule:
    """ProMP's outer loop (Rothfuss et al. 2019): ``steps`` optimiser steps on its clipped
    objective, whose old policies stay those of the meta-params the update started from. Its
    metrics: the loss before and after, and the objective's diagnostics after the update."""

    def update(objective: MetaObjective, state, meta):
        if objective.clipped_loss is None:
            raise ValueError("promp needs a policy's clipped objective; this learner has none")
        loss_fn = objective.clipped_loss(meta)

        def one_step(carry, _):
            meta, state = carry
            (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(meta)
            updates, state = optimizer.update(grads, state, meta)
            return (optax.apply_updates(meta, updates), state), loss

        (meta, state), losses = jax.lax.scan(one_step, (meta, state), None, length=steps)
        loss_after, diagnostics = loss_fn(meta)
        return meta, state, {"loss_before": losses[0], "loss_after": loss_after, **diagnostics}

    return OuterRule(optimizer.init, update)


def reptile(lr: float) -> OuterRule:
    """Reptile (Nichol et al. 2018): move the params ``lr`` of the way to the mean adapted
    params (:func:`metajax.inner.reptile_update`); Meta-SGD's step sizes stay. Stateless."""

    def update(objective: MetaObjective, state, meta):
        params = inner.reptile_update(meta["params"], objective.adapted, lr)
        return {"params": params, "inner": meta["inner"]}, state, {}

    return OuterRule(_no_state, update)
