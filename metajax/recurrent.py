"""A GRU actor-critic whose hidden state is the agent's memory of the current task (RL^2).

Written for one step of one stream: ``step(params, hidden, obs, reset)``; ``unroll`` scans it
over time and callers vmap over streams. ``reset`` marks the first step of a new trial: the
hidden state goes back to zeros there and nowhere else, so memory persists across the
episodes of a trial and never leaks from one task into the next.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from metajax.distributions import Categorical, Distribution, for_action_space
from metajax.networks import actor_critic_heads


class LayerNormGRUCell(nn.Module):
    """A GRU cell with layer normalisation on each input and hidden projection (Ba et al.
    2016), the reset gate applied after the hidden projection, a ReLU candidate and an update
    gate biased towards keeping memory (``sigmoid(z - forget_bias)``), as in the RL^2
    reimplementation that reproduces Duan et al.'s tabular-MDP rows (lucaslingle/pytorch_rl2).
    Returns ``(new_hidden, new_hidden)`` like flax's cells."""

    features: int
    forget_bias: float = 1.0

    @nn.compact
    def __call__(self, hidden: jax.Array, x: jax.Array):
        h = self.features
        glorot = nn.initializers.glorot_normal()

        def projected(inputs, size, init, name):
            return nn.LayerNorm(name=f"{name}_ln")(
                nn.Dense(size, use_bias=False, kernel_init=init, name=name)(inputs))

        gates = (projected(x, 2 * h, glorot, "x_gates")
                 + projected(hidden, 2 * h, glorot, "h_gates"))
        update, reset = jnp.split(gates, 2, axis=-1)
        update = nn.sigmoid(update - self.forget_bias)
        candidate = nn.relu(projected(x, h, glorot, "x_candidate") + nn.sigmoid(reset)
                            * projected(hidden, h, nn.initializers.orthogonal(), "h_candidate"))
        hidden = (1.0 - update) * hidden + update * candidate
        return hidden, hidden


class GRUActorCritic(nn.Module):
    """(Dense embedding ->) GRU -> policy head and value head.

    ``separate_critic`` gives the value its own embedding and GRU, so the value loss never
    shapes the policy's memory (the hidden state is then the two GRUs' states side by side,
    ``[2 * hidden_size]``); ``layer_norm`` uses :class:`LayerNormGRUCell`; ``embed_size=0``
    feeds the observation to the GRU directly."""

    hidden_size: int
    action_dim: int
    discrete: bool
    embed_size: int = 64
    layer_norm: bool = False
    separate_critic: bool = False

    def _torso(self, hidden: jax.Array, obs: jax.Array):
        x = obs
        if self.embed_size:
            x = nn.relu(nn.Dense(self.embed_size,
                                 kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(obs))
        cell = (LayerNormGRUCell(self.hidden_size) if self.layer_norm
                else nn.GRUCell(self.hidden_size))
        return cell(hidden, x)

    @nn.compact
    def __call__(self, hidden: jax.Array, obs: jax.Array, reset: jax.Array):
        hidden = jnp.where(reset, jnp.zeros_like(hidden), hidden)
        if not self.separate_critic:
            hidden, y = self._torso(hidden, obs)
            dist, value = actor_critic_heads(self, y, y, self.action_dim, self.discrete)
            return hidden, dist, value
        actor_hidden, critic_hidden = jnp.split(hidden, 2, axis=-1)
        actor_hidden, actor = self._torso(actor_hidden, obs)
        critic_hidden, critic = self._torso(critic_hidden, obs)
        dist, value = actor_critic_heads(self, actor, critic, self.action_dim, self.discrete)
        return jnp.concatenate([actor_hidden, critic_hidden], -1), dist, value


@dataclasses.dataclass(frozen=True)
class RecurrentPolicy:
    """A recurrent actor-critic as pure functions of a params pytree."""

    module: GRUActorCritic
    distribution: Distribution
    obs_shape: tuple[int, ...]

    @property
    def hidden_size(self) -> int:
        """The size of the recurrent state carried between steps (both GRUs' with a separate
        critic)."""
        return self.module.hidden_size * (2 if self.module.separate_critic else 1)

    def initial_hidden(self) -> jax.Array:
        return jnp.zeros(self.hidden_size)

    def init(self, key: jax.Array):
        return self.module.init(key, self.initial_hidden(), jnp.zeros(self.obs_shape),
                                jnp.array(True))["params"]

    def step(self, params, hidden: jax.Array, obs: jax.Array, reset: jax.Array):
        """One step: ``(hidden, distribution params, value)``."""
        return self.module.apply({"params": params}, hidden, obs, reset)

    def unroll(self, params, hidden: jax.Array, obs: jax.Array, reset: jax.Array):
        """Scans :meth:`step` over a ``[T]`` sequence; returns the last hidden state and the
        per-step distribution params and values (leading axis ``T``)."""

        def body(h, inputs):
            h, dist, value = self.step(params, h, *inputs)
            return h, (dist, value)

        hidden, (dists, values) = jax.lax.scan(body, hidden, (obs, reset))
        return hidden, dists, values


def make_recurrent_policy(obs_shape, action_space: spaces.Space, hidden_size: int = 128,
                          embed_size: int = 64, layer_norm: bool = False,
                          separate_critic: bool = False) -> RecurrentPolicy:
    """A GRU actor-critic for a Discrete (categorical) or 1-D Box (Gaussian) action space;
    see :class:`GRUActorCritic` for the options."""
    if not isinstance(hidden_size, int) or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
    if not isinstance(embed_size, int) or embed_size < 0:
        raise ValueError(f"embed_size must be a non-negative integer, got {embed_size!r}")
    options = dict(embed_size=embed_size, layer_norm=layer_norm, separate_critic=separate_critic)
    distribution, size = for_action_space(action_space)
    module = GRUActorCritic(hidden_size, size, isinstance(distribution, Categorical), **options)
    return RecurrentPolicy(module, distribution, tuple(obs_shape))
