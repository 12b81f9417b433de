"""RL^2's value options: a separate critic, the layer-normalised GRU, the Huber loss and
standardised value targets, each against its definition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import metajax
from metajax.algorithms.rl2 import RL2, RL2Config, make_rl2_policy
from metajax.envs.trials import Trials
from metajax.losses import huber_value_loss
from metajax.recurrent import LayerNormGRUCell
from metajax.running_stats import RunningStats


def tiny(**options):
    env = Trials(metajax.TabularMDP(num_states=3, num_actions=2, horizon=3), 2)
    options = {"embed_size": 8, **options}
    config = RL2Config(trial_episodes=2, num_envs=4, hidden_size=8, num_minibatches=2,
                       update_epochs=2, **options)
    return RL2(env, make_rl2_policy(env, config), config, num_updates=3)


def test_separate_critic_trains_only_its_own_torso():
    algo = tiny(separate_critic=True)
    params = algo.policy.init(jax.random.key(0))
    hidden = jax.random.normal(jax.random.key(1), (algo.policy.hidden_size,))
    assert algo.policy.hidden_size == 16  # the actor's and the critic's GRU states
    obs = jax.random.normal(jax.random.key(2), algo.env.obs_shape)

    def head(params, part):
        _, dist, value = algo.policy.step(params, hidden, obs, jnp.array(False))
        return jnp.sum(dist["logits"] ** 2) if part == "policy" else value

    policy_grad = jax.grad(head)(params, "policy")
    value_grad = jax.grad(head)(params, "value")
    # auto-named in call order: actor embedding, actor GRU, critic embedding, critic GRU,
    # then the policy and value heads
    actor, critic = ("Dense_0", "GRUCell_0", "Dense_2"), ("Dense_1", "GRUCell_1", "Dense_3")
    for name in actor:
        assert all(np.all(g == 0) for g in jax.tree.leaves(value_grad[name])), name
        assert any(np.any(g != 0) for g in jax.tree.leaves(policy_grad[name])), name
    for name in critic:
        assert all(np.all(g == 0) for g in jax.tree.leaves(policy_grad[name])), name
        assert any(np.any(g != 0) for g in jax.tree.leaves(value_grad[name])), name


def test_layer_norm_gru_matches_its_equations():
    cell = LayerNormGRUCell(4, forget_bias=1.0)
    x, h = jnp.arange(3.0) / 3, jnp.linspace(-1, 1, 4)
    params = cell.init(jax.random.key(0), h, x)["params"]
    for name in ("x_gates_ln", "h_gates_ln", "x_candidate_ln", "h_candidate_ln"):
        size = params[name]["scale"].shape
        params[name] = {"scale": 1 + 0.1 * jnp.arange(size[0]), "bias": 0.05 * jnp.ones(size)}
    new_h, out = cell.apply({"params": params}, h, x)
    p = jax.tree.map(np.asarray, params)

    def ln(v, name):
        v = (v - v.mean()) / np.sqrt(v.var() + 1e-6)
        return v * p[name]["scale"] + p[name]["bias"]

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    gates = ln(x @ p["x_gates"]["kernel"], "x_gates_ln") + ln(h @ p["h_gates"]["kernel"],
                                                               "h_gates_ln")
    z, r = sigmoid(gates[:4] - 1.0), sigmoid(gates[4:])
    candidate = np.maximum(ln(x @ p["x_candidate"]["kernel"], "x_candidate_ln")
                           + r * ln(h @ p["h_candidate"]["kernel"], "h_candidate_ln"), 0)
    expected = (1 - z) * np.asarray(h) + z * candidate
    np.testing.assert_allclose(new_h, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, new_h)


def test_huber_value_loss_matches_its_formula():
    value, target = jnp.array([0.0, 1.0, -2.0]), jnp.array([0.5, 4.0, 0.0])
    # errors 0.5 (quadratic), 3 and 2 (linear: |e| - 0.5)
    np.testing.assert_allclose(huber_value_loss(value, target), np.mean([0.125, 2.5, 1.5]),
                               rtol=1e-6)


def test_running_stats_equal_the_statistics_of_everything_seen():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=n) for n in (5, 17, 40)]
    stats = RunningStats.create()
    np.testing.assert_allclose(stats.normalize(jnp.array([2.0])), [2.0], rtol=1e-6)
    for batch in batches:
        stats = stats.update(jnp.asarray(batch))
    seen = np.concatenate(batches)
    np.testing.assert_allclose([stats.mean, stats.var, stats.count],
                               [seen.mean(), seen.var(), seen.size], rtol=1e-5)
    x = jnp.array([1.0, 7.0])
    np.testing.assert_allclose(stats.denormalize(stats.normalize(x)), x, rtol=1e-5)


def test_normalized_values_predict_standardised_targets():
    algo = tiny(separate_critic=True, layer_norm=True, value_loss="huber",
                normalize_values=True, max_grad_norm=0.0, embed_size=0)
    state = algo.init(jax.random.key(0))
    state, metrics = jax.jit(algo.step)(state, jax.random.key(1))
    assert int(state.value_stats.count) == algo.config.num_envs * algo.num_steps
    assert float(state.value_stats.var) > 0 and np.isfinite(float(metrics["value_loss"]))
    # the rollout's values come out in return units: the head's output, de-standardised
    _, batch = algo._rollout(state, jax.random.key(2))
    _, _, head = jax.vmap(algo.policy.step, (None, 0, 0, 0))(
        state.params, state.hidden, batch.obs[:, 0], batch.reset[:, 0])
    np.testing.assert_allclose(batch.value[:, 0], state.value_stats.denormalize(head),
                               rtol=1e-5, atol=1e-6)


def test_value_option_errors_are_clear():
    with pytest.raises(ValueError, match="value_loss must be one of"):
        RL2Config(value_loss="mse")
    with pytest.raises(ValueError, match="embed_size"):
        RL2Config(embed_size=-1)
