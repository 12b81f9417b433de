"""Q-learning targets and losses, target-network updates, and ensemble Q-networks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from metajax.networks import EnsembleQ, QNetwork
from metajax.qlearning import (double_q_target, periodic_update, polyak_update,
                               q_learning_target, td_loss)


def test_q_learning_and_double_q_targets_by_hand():
    q_target = jnp.array([[1.0, 3.0, 2.0], [0.5, 0.0, 4.0]])
    q_online = jnp.array([[0.0, 1.0, 5.0], [9.0, 0.0, 1.0]])
    reward, discount = jnp.array([1.0, -1.0]), jnp.array([0.9, 0.0])  # second: terminal
    np.testing.assert_allclose(q_learning_target(reward, discount, q_target), [1 + 0.9 * 3, -1])
    # online argmax picks actions 2 and 0; the target network scores them: 2.0 and 0.5
    np.testing.assert_allclose(double_q_target(reward, discount, q_target, q_online),
                               [1 + 0.9 * 2.0, -1.0])
    grad = jax.grad(lambda q: q_learning_target(reward, discount, q).sum())(q_target)
    assert not np.any(grad)  # targets never carry gradient


def test_td_loss_huber_and_squared():
    q = jnp.array([[1.0, 2.0], [0.0, 5.0]])
    action, target = jnp.array([1, 0]), jnp.array([2.5, 3.0])
    np.testing.assert_allclose(td_loss(q, action, target, None), [0.125, 4.5])
    np.testing.assert_allclose(td_loss(q, action, target, 1.0), [0.125, 2.5])  # |e|=3: 3 - 0.5
    np.testing.assert_allclose(td_loss(q, action, target, 1.0),
                               optax.huber_loss(jnp.array([-0.5, -3.0]), delta=1.0))


def test_polyak_and_periodic_target_updates():
    online = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(4.0)}
    target = {"w": jnp.array([3.0, 0.0]), "b": jnp.array(0.0)}
    mixed = polyak_update(online, target, 0.25)
    np.testing.assert_allclose(mixed["w"], [0.25 * 1 + 0.75 * 3, 0.25 * 2])
    np.testing.assert_allclose(mixed["b"], 1.0)
    kept = jax.jit(periodic_update, static_argnums=3)(online, target, jnp.array(7), 5)
    copied = jax.jit(periodic_update, static_argnums=3)(online, target, jnp.array(10), 5)
    np.testing.assert_allclose(kept["w"], target["w"])
    np.testing.assert_allclose(copied["w"], online["w"])


def test_ensemble_of_one_equals_the_plain_q_network():
    obs = jax.random.normal(jax.random.key(0), (7, 4))
    plain = QNetwork((16, 16), 3)
    params = plain.init(jax.random.key(1), obs)["params"]
    for learn in (False, True):
        ensemble = EnsembleQ((16, 16), 3, num_members=1, learn_weights=learn)
        e_params = ensemble.init(jax.random.key(2), obs)["params"]
        e_params = {**e_params, "members": jax.tree.map(lambda x: x[None], params)}
        np.testing.assert_allclose(ensemble.apply({"params": e_params}, obs),
                                   plain.apply({"params": params}, obs), rtol=1e-6)


def test_ensemble_combines_members_with_softmax_weights():
    obs = jnp.ones((2, 4))
    ensemble = EnsembleQ((8,), 2, num_members=3, learn_weights=True)
    params = ensemble.init(jax.random.key(0), obs)["params"]
    assert jax.tree.leaves(params["members"])[0].shape[0] == 3
    members = jax.vmap(lambda p: QNetwork((8,), 2).apply({"params": p}, obs))(params["members"])
    logits = jnp.array([1.0, -1.0, 0.5])
    q = ensemble.apply({"params": {**params, "alpha_logits": logits}}, obs)
    np.testing.assert_allclose(q, jnp.tensordot(jax.nn.softmax(logits), members, 1), rtol=1e-5)
    grads = jax.grad(lambda p: ensemble.apply({"params": p}, obs).sum())(params)
    assert np.any(grads["alpha_logits"] != 0)  # the weights are learned
