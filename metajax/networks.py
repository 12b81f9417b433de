"""flax linen networks: an MLP torso with a Gaussian or categorical policy head, and
Q-networks (single or an ensemble of vmapped members).

A :class:`Policy` bundles a linen module (params -> distribution parameters) with its
:mod:`metajax.distributions` functions, so algorithms see only pure functions of pytrees.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from metajax import checks
from metajax.distributions import Categorical, DiagGaussian, Distribution, for_action_space

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
}

_dense = dict(kernel_init=nn.initializers.xavier_uniform(), bias_init=nn.initializers.zeros)


class MLP(nn.Module):
    """Fully connected torso; Xavier-uniform weights and zero biases as in pytorch-maml-rl."""

    hidden_sizes: Sequence[int]
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for size in self.hidden_sizes:
            x = act(nn.Dense(size, **_dense)(x))
        return x


def with_context(module: nn.Module, x: jax.Array, context_dim: int) -> jax.Array:
    """CAVIA (Zintgraf et al. 2019): append a ``context`` parameter vector (zeros at init) to
    every input; the inner loop adapts only it."""
    if not context_dim:
        return x
    context = module.param("context", nn.initializers.zeros, (context_dim,))
    return jnp.concatenate([x, jnp.broadcast_to(context, x.shape[:-1] + (context_dim,))], -1)


class GaussianHead(nn.Module):
    """Mean from the torso, log-std a learned state-independent vector."""

    hidden_sizes: Sequence[int]
    action_dim: int
    activation: str = "tanh"
    init_std: float = 1.0
    context_dim: int = 0

    @nn.compact
    def __call__(self, obs: jax.Array) -> dict[str, jax.Array]:
        obs = with_context(self, obs, self.context_dim)
        mean = nn.Dense(self.action_dim, **_dense)(MLP(self.hidden_sizes, self.activation)(obs))
        log_std = self.param(
            "log_std", nn.initializers.constant(math.log(self.init_std)), (self.action_dim,)
        )
        return {"mean": mean, "log_std": log_std}


class CategoricalHead(nn.Module):
    """Logits over ``num_actions`` discrete actions."""

    hidden_sizes: Sequence[int]
    num_actions: int
    activation: str = "tanh"
    context_dim: int = 0

    @nn.compact
    def __call__(self, obs: jax.Array) -> dict[str, jax.Array]:
        obs = with_context(self, obs, self.context_dim)
        torso = MLP(self.hidden_sizes, self.activation)(obs)
        return {"logits": nn.Dense(self.num_actions, **_dense)(torso)}


class Regressor(nn.Module):
    """MLP regressor ``R^d -> R^out`` (the MAML sinusoid network is 40-40 ReLU)."""

    hidden_sizes: Sequence[int] = (40, 40)
    activation: str = "relu"
    out_dim: int = 1
    context_dim: int = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = with_context(self, x, self.context_dim)
        return nn.Dense(self.out_dim, **_dense)(MLP(self.hidden_sizes, self.activation)(x))


class QNetwork(nn.Module):
    """``Q(s, .)``: an MLP torso and one output per discrete action."""

    hidden_sizes: Sequence[int]
    num_actions: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        torso = MLP(self.hidden_sizes, self.activation)(obs)
        return nn.Dense(self.num_actions, **_dense)(torso)


class EnsembleQ(nn.Module):
    """``Q = sum_k alpha_k Q_k`` over ``num_members`` Q-networks with stacked (vmapped) params
    under ``members``. ``alpha`` is uniform and fixed, or, with ``learn_weights``, a softmax of
    learned logits (zeros at init). Drop-in for a :class:`QNetwork`."""

    hidden_sizes: Sequence[int]
    num_actions: int
    num_members: int = 5
    activation: str = "relu"
    learn_weights: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        members = nn.vmap(QNetwork, variable_axes={"params": 0}, split_rngs={"params": True},
                          in_axes=None, axis_size=self.num_members)
        q = members(self.hidden_sizes, self.num_actions, self.activation,
                    name="members")(obs)  # [K, ..., A]
        if self.learn_weights:
            logits = self.param("alpha_logits", nn.initializers.zeros, (self.num_members,))
            alpha = jax.nn.softmax(logits)
        else:
            alpha = jnp.full(self.num_members, 1.0 / self.num_members)
        return jnp.tensordot(alpha, q, axes=1)


def actor_critic_heads(module: nn.Module, actor: jax.Array, critic: jax.Array,
                       action_dim: int, discrete: bool) -> tuple[dict[str, jax.Array], jax.Array]:
    """The policy head (logits, or a mean with a learned state-independent log-std; small
    orthogonal init so the first policy is near uniform) and the scalar value head, for use
    inside ``module``'s compact ``__call__``."""
    head = nn.Dense(action_dim, kernel_init=nn.initializers.orthogonal(0.01))(actor)
    if discrete:
        dist = {"logits": head}
    else:
        dist = {"mean": head,
                "log_std": module.param("log_std", nn.initializers.zeros, (action_dim,))}
    value = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))(critic)[..., 0]
    return dist, value


class ActorCritic(nn.Module):
    """Policy and value network: separate MLP torsos, or one ``shared_torso``. The policy head
    is categorical (``discrete``) or Gaussian with a learned state-independent log-std."""

    hidden_sizes: Sequence[int]
    action_dim: int
    discrete: bool = True
    activation: str = "tanh"
    shared_torso: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        actor = MLP(self.hidden_sizes, self.activation, name="actor_torso")(obs)
        critic = actor if self.shared_torso else MLP(self.hidden_sizes, self.activation,
                                                     name="critic_torso")(obs)
        return actor_critic_heads(self, actor, critic, self.action_dim, self.discrete)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A stochastic policy as pure functions: ``init(key) -> params``,
    ``apply(params, obs) -> distribution parameters``, plus the distribution's functions."""

    module: nn.Module
    distribution: Distribution
    obs_shape: tuple[int, ...]

    def init(self, key: jax.Array):
        return self.module.init(key, jnp.zeros(self.obs_shape))["params"]

    def apply(self, params, obs: jax.Array):
        return self.module.apply({"params": params}, obs)

    def sample(self, key: jax.Array, params, obs: jax.Array) -> jax.Array:
        return self.distribution.sample(key, self.apply(params, obs))

    def log_prob(self, params, obs: jax.Array, action: jax.Array) -> jax.Array:
        return self.distribution.log_prob(self.apply(params, obs), action)


POLICY_KINDS = ("auto", "gaussian", "categorical")


def check_policy_args(kind: str, hidden_sizes: Sequence[int], activation: str,
                      init_std: float, context_dim: int) -> None:
    """The one set of checks on a policy's settings (the config checks them with these):
    ``ValueError`` naming the setting and what is allowed."""
    checks.one_of("kind", kind, POLICY_KINDS)
    checks.one_of("activation", activation, ACTIVATIONS)
    if not hidden_sizes:
        raise ValueError("hidden_sizes must be a non-empty list of positive integers")
    for size in hidden_sizes:
        checks.positive("hidden_sizes", size, integer=True)
    checks.positive("init_std", init_std)
    checks.non_negative_int("context_dim", context_dim)


def make_policy(
    kind: str,
    obs_shape: Sequence[int],
    action_space: spaces.Space,
    hidden_sizes: Sequence[int] = (64, 64),
    activation: str = "tanh",
    init_std: float = 1.0,
    context_dim: int = 0,
) -> Policy:
    """Builds a policy for an action space (``kind="auto"``: Gaussian for a Box, categorical
    for a Discrete space); raises ``ValueError`` on a mismatch."""
    check_policy_args(kind, hidden_sizes, activation, init_std, context_dim)
    if kind == "auto":
        kind = "categorical" if isinstance(for_action_space(action_space)[0], Categorical) \
            else "gaussian"
    if kind == "gaussian":
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(
                f"kind 'gaussian' needs a 1-D Box action space, the env has {action_space}; "
                "use kind 'categorical' (or 'auto') for discrete actions"
            )
        module = GaussianHead(tuple(hidden_sizes), action_space.shape[0], activation, init_std,
                              context_dim)
        return Policy(module, DiagGaussian(), tuple(obs_shape))
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(
            f"kind 'categorical' needs a Discrete action space, the env has {action_space}; "
            "use kind 'gaussian' (or 'auto') for continuous actions"
        )
    module = CategoricalHead(tuple(hidden_sizes), int(action_space.n), activation, context_dim)
    return Policy(module, Categorical(), tuple(obs_shape))
