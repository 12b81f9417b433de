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

from metajax.distributions import Categorical, DiagGaussian, Distribution
from metajax.networks import actor_critic_heads


class GRUActorCritic(nn.Module):
    """Dense embedding -> GRU -> policy head and value head."""

    hidden_size: int
    action_dim: int
    discrete: bool
    embed_size: int = 64

    @nn.compact
    def __call__(self, hidden: jax.Array, obs: jax.Array, reset: jax.Array):
        hidden = jnp.where(reset, jnp.zeros_like(hidden), hidden)
        x = nn.relu(nn.Dense(self.embed_size, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(obs))
        hidden, y = nn.GRUCell(self.hidden_size)(hidden, x)
        dist, value = actor_critic_heads(self, y, y, self.action_dim, self.discrete)
        return hidden, dist, value


@dataclasses.dataclass(frozen=True)
class RecurrentPolicy:
    """A recurrent actor-critic as pure functions of a params pytree."""

    module: GRUActorCritic
    distribution: Distribution
    obs_shape: tuple[int, ...]

    @property
    def hidden_size(self) -> int:
        return self.module.hidden_size

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
                          embed_size: int = 64) -> RecurrentPolicy:
    """A GRU actor-critic for a Discrete (categorical) or 1-D Box (Gaussian) action space."""
    if not isinstance(hidden_size, int) or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
    if isinstance(action_space, spaces.Discrete):
        module = GRUActorCritic(hidden_size, int(action_space.n), True, embed_size)
        return RecurrentPolicy(module, Categorical(), tuple(obs_shape))
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        module = GRUActorCritic(hidden_size, int(action_space.shape[0]), False, embed_size)
        return RecurrentPolicy(module, DiagGaussian(), tuple(obs_shape))
    raise ValueError(f"need a Discrete or 1-D Box action space, got {action_space}")
