"""Q-learning targets, TD losses and target-network updates (rlax style: one transition,
vmapped by the caller; targets carry ``stop_gradient`` explicitly).

Sources: DQN (Mnih et al. 2015: target network, Huber loss), Double DQN (van Hasselt et al.
2016: the online network picks the next action, the target network scores it), Polyak
averaging of target parameters (Lillicrap et al. 2016).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def q_learning_target(reward: jax.Array, discount: jax.Array, q_next_target: jax.Array
                      ) -> jax.Array:
    """``r + discount * max_a Q_target(s', a)``; ``discount`` is ``gamma * (1 - terminated)``."""
    return jax.lax.stop_gradient(reward + discount * jnp.max(q_next_target, axis=-1))


def double_q_target(reward: jax.Array, discount: jax.Array, q_next_target: jax.Array,
                    q_next_online: jax.Array) -> jax.Array:
    """Double DQN: ``r + discount * Q_target(s', argmax_a Q_online(s', a))``."""
    best = jnp.argmax(q_next_online, axis=-1)
    value = jnp.take_along_axis(q_next_target, best[..., None], axis=-1)[..., 0]
    return jax.lax.stop_gradient(reward + discount * value)


def td_loss(q: jax.Array, action: jax.Array, target: jax.Array, huber_delta: float | None = 1.0
            ) -> jax.Array:
    """Loss of ``Q(s, a)`` against ``target``: Huber with threshold ``huber_delta`` (DQN), or
    half the squared error when ``huber_delta`` is None."""
    q_taken = jnp.take_along_axis(q, action[..., None].astype(jnp.int32), axis=-1)[..., 0]
    error = q_taken - target
    if huber_delta is None:
        return 0.5 * error**2
    return optax.huber_loss(error, delta=huber_delta)


def polyak_update(online, target, tau: float):
    """``theta_target <- tau * theta + (1 - tau) * theta_target`` on every leaf."""
    return jax.tree.map(lambda o, t: tau * o + (1.0 - tau) * t, online, target)


def periodic_update(online, target, step: jax.Array, period: int):
    """Hard update: copy ``online`` into ``target`` when ``step % period == 0``."""
    copy = step % period == 0
    return jax.tree.map(lambda o, t: jnp.where(copy, o, t), online, target)
