"""The PyTorch baselines of ``benchmarks/torch_baselines`` follow the same env spec as gymnax
(so the side-by-side timings compare the same work); needs the ``bench`` extra (torch),
skipped without it."""

import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from gymnax.environments.classic_control.cartpole import CartPole, EnvState  # noqa: E402
from torch_baselines import dqn, ppo  # noqa: E402
from torch_baselines.cartpole import VectorCartPole  # noqa: E402


def test_torch_cartpole_steps_like_gymnax():
    """Same non-terminal states and actions, some stepping past the thresholds and some
    reaching the time limit, give the same next observation, termination and truncation as
    gymnax's CartPole-v1."""
    rng = np.random.default_rng(0)
    n = 256
    states = rng.uniform([-2.39, -3, -0.2, -3], [2.39, 3, 0.2, 3], size=(n, 4)).astype(np.float32)
    times = rng.choice([0, 100, 499], size=n)
    actions = rng.integers(0, 2, size=n)
    env = VectorCartPole(n, torch.Generator().manual_seed(0))
    env.state, env.time = torch.tensor(states), torch.tensor(times)
    _, reward, terminated, truncated, info = env.step(torch.tensor(actions))

    gym = CartPole()
    params = gym.default_params
    for i in range(n):
        x, x_dot, theta, theta_dot = (jnp.float32(v) for v in states[i])
        state = EnvState(time=int(times[i]), x=x, x_dot=x_dot, theta=theta,
                         theta_dot=theta_dot)
        obs, next_state, r, done, _ = gym.step_env(None, state, int(actions[i]), params)
        np.testing.assert_allclose(info["final_observation"][i].numpy(), obs, rtol=1e-5,
                                   atol=1e-6)
        gym_truncated = int(next_state.time) >= params.max_steps_in_episode
        assert bool(terminated[i]) == bool(done), i
        assert bool(truncated[i]) == (gym_truncated and not bool(done)), i
        assert float(reward[i]) == float(r) == 1.0
    assert terminated.any() and truncated.any() and not (terminated & truncated).any()


@pytest.mark.parametrize("module, config", [
    (dqn, dqn.Config(total_steps=400, learning_starts=100, buffer_size=200, batch_size=16)),
    (ppo, ppo.Config(total_steps=1024, num_steps=32, num_minibatches=2)),
])
def test_torch_baselines_train_and_evaluate(module, config):
    model, returns = module.train(config, seed=0)
    assert returns and all(r >= 1 for r in returns)
    assert 1.0 <= module.greedy_return(model, episodes=3) <= 500.0


@pytest.mark.parametrize("weighting", ["episode", "step"])
def test_torch_maml_trpo_matches_metajax_in_float64(weighting):
    """On the same sampled meta-batch and params, the PyTorch MAML-TRPO's advantages,
    post-adaptation surrogate, its meta-gradient and the Fisher-vector product equal
    metajax's: the benchmark compares the same algorithm."""
    import jax

    from metajax import optim
    from metajax.config import build_algorithm, load_config
    from torch_baselines import maml_trpo

    with jax.enable_x64(True):
        algo = build_algorithm(load_config(None, [
            "policy.hidden_sizes=[8,8]", "maml.num_tasks=2", "maml.num_episodes=3",
            "env_kwargs={horizon: 10, goal_tolerance: 0.15}",  # ragged: many end early
            f"maml.loss_weighting={weighting}"]))
        meta = jax.tree.map(lambda x: x.astype(jnp.float64),
                            algo.init(jax.random.key(0)).meta_params)
        train, valid, *_ = algo.sample_meta_batch(meta, jax.random.key(1))
        lengths = valid.valid.sum(-1)
        assert float(lengths.min()) < float(lengths.max())  # some episodes ended early
        train, valid = jax.tree.map(lambda x: x.astype(jnp.float64) if x.dtype == jnp.float32
                                    else x, (train, valid))
        post = algo.post_adaptation(train, valid)
        old = jax.lax.stop_gradient(post.dist(meta))
        (loss, kl_value), grads = jax.value_and_grad(
            lambda m: post.surrogate(m, old), has_aux=True)(meta)
        v = jax.tree.map(lambda x: jnp.linspace(-1.0, 1.0, x.size).reshape(x.shape),
                         meta["params"])
        fvp = optim.gauss_newton_fvp(post.dist, post.kl_divergence(), meta)(
            {"params": v, "inner": ()})["params"]

    p = meta["params"]
    names = {"w0": p["MLP_0"]["Dense_0"]["kernel"], "b0": p["MLP_0"]["Dense_0"]["bias"],
             "w1": p["MLP_0"]["Dense_1"]["kernel"], "b1": p["MLP_0"]["Dense_1"]["bias"],
             "w2": p["Dense_0"]["kernel"], "b2": p["Dense_0"]["bias"], "log_std": p["log_std"]}
    as_torch = lambda x: torch.tensor(np.asarray(x), dtype=torch.float64)  # noqa: E731
    params = {k: as_torch(x).requires_grad_() for k, x in names.items()}

    def batch(b):
        return {"obs": as_torch(b.obs), "action": as_torch(b.action),
                "reward": as_torch(b.reward * b.valid),  # as the port samples
                "valid": as_torch(b.valid)}

    torch_train, torch_valid = batch(jax.tree.map(lambda x: x[:, 0], train)), batch(valid)
    config = maml_trpo.Config(loss_weighting=weighting)
    for torch_batch, ref in ((torch_train, train.advantage[:, 0]), (torch_valid, valid.advantage)):
        torch_batch["adv"] = maml_trpo.advantages(torch_batch, config)
        np.testing.assert_allclose(torch_batch["adv"].numpy(), np.asarray(ref), atol=1e-8)
    torch_old = (as_torch(old["mean"]).flatten(1, 2),
                 as_torch(old["log_std"])[:, None, None, :].expand(-1, 3, 10, -1).flatten(1, 2))
    t_loss, t_kl = maml_trpo.surrogate_and_kl(params, torch_train, torch_valid, torch_old, config)
    np.testing.assert_allclose(float(t_loss.detach()), float(loss), atol=1e-9)  # ~0: ratio 1
    assert abs(float(t_kl.detach())) < 1e-12 and abs(float(kl_value)) < 1e-12
    t_grads = torch.autograd.grad(t_loss, list(params.values()), retain_graph=True)
    order = ("w0", "b0", "w1", "b1", "w2", "b2", "log_std")
    jax_by_name = {"w0": grads["params"]["MLP_0"]["Dense_0"]["kernel"],
                   "b0": grads["params"]["MLP_0"]["Dense_0"]["bias"],
                   "w1": grads["params"]["MLP_0"]["Dense_1"]["kernel"],
                   "b1": grads["params"]["MLP_0"]["Dense_1"]["bias"],
                   "w2": grads["params"]["Dense_0"]["kernel"],
                   "b2": grads["params"]["Dense_0"]["bias"],
                   "log_std": grads["params"]["log_std"]}
    # on ragged batches an entry near zero (a sum that nearly cancels) differs by ~1e-10
    # absolute, so the tolerance is relative to the largest gradient entry
    scale = max(float(np.abs(g.numpy()).max()) for g in t_grads)
    for name, t_grad in zip(order, t_grads):
        np.testing.assert_allclose(t_grad.numpy(), np.asarray(jax_by_name[name]), rtol=1e-7,
                                   atol=1e-8 * scale)
    fvp_by_name = {"w0": fvp["MLP_0"]["Dense_0"]["kernel"], "b0": fvp["MLP_0"]["Dense_0"]["bias"],
                   "w1": fvp["MLP_0"]["Dense_1"]["kernel"], "b1": fvp["MLP_0"]["Dense_1"]["bias"],
                   "w2": fvp["Dense_0"]["kernel"], "b2": fvp["Dense_0"]["bias"],
                   "log_std": fvp["log_std"]}
    v_flat = maml_trpo.flat([as_torch(v_by) for v_by in (
        v["MLP_0"]["Dense_0"]["kernel"], v["MLP_0"]["Dense_0"]["bias"],
        v["MLP_0"]["Dense_1"]["kernel"], v["MLP_0"]["Dense_1"]["bias"],
        v["Dense_0"]["kernel"], v["Dense_0"]["bias"], v["log_std"])])
    t_fvp = maml_trpo.make_fvp(params, t_kl, 0.0)(v_flat)
    np.testing.assert_allclose(t_fvp.numpy(), maml_trpo.flat(
        [as_torch(fvp_by_name[name]) for name in order]).numpy(), rtol=1e-7, atol=1e-10)


def test_torch_halfcheetah_vel_follows_the_spec():
    """The PyTorch baseline's HalfCheetahVel (Gymnasium's C MuJoCo with pytorch-maml-rl's
    reward wrapper) gives the spec's reward, ``-|v_x - v_goal| - 0.05 |a|^2`` with ``a`` the
    policy's action clipped to [-10, 10] and scaled onto [-1, 1], and the reference's
    observation (``q[1:]``, ``qd``, the torso's position)."""
    pytest.importorskip("gymnasium")
    from torch_baselines.locomotion import HalfCheetahVel

    env = HalfCheetahVel()
    goals = torch.tensor([0.5, 1.5])
    env.reset(goals, 2)
    before = np.array([e.data.qpos[0] for e in env._envs[:4]])
    action = torch.linspace(-15.0, 15.0, 24).view(2, 2, 6)  # some beyond the clip
    _, obs, reward, done = env.step(goals, None, action)
    after = np.array([e.data.qpos[0] for e in env._envs[:4]])
    physics = np.clip(action.numpy(), -10, 10).reshape(4, 6) / 10
    velocity = (after - before) / env._envs[0].dt
    expected = -np.abs(velocity - np.repeat(goals.numpy(), 2)) - 0.05 * (physics ** 2).sum(1)
    np.testing.assert_allclose(reward.numpy().ravel(), expected, rtol=1e-5, atol=1e-5)
    assert not done.any() and obs.shape == (2, 2, 20)
    first = env._envs[0].data
    np.testing.assert_allclose(obs[0, 0].numpy(), np.concatenate(
        [first.qpos[1:], first.qvel, first.body("torso").xpos]), rtol=1e-6, atol=1e-6)
