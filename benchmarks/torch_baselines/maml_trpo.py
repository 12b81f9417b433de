"""MAML-TRPO on 2D navigation in PyTorch, at the pytorch-maml-rl reference configuration
(``2d-navigation.yaml``): policy 64-64 tanh, Gaussian with a learned state-independent
log-std (init std 1); 20 tasks x 20 episodes of 100 steps; one inner VPG step of 0.1 with the
graph kept (``create_graph=True``, second order); gamma 0.99, GAE lambda 1, normalised
advantages, the linear feature baseline; TRPO with max-KL 0.01, 10 CG iterations, damping
1e-5, 15 line-search steps of ratio 0.8 (Fisher-vector products by double backward through
the adaptation, as pytorch-maml-rl). Written the way a good PyTorch user would: every task
and episode stepped as one tensor, the per-task inner gradients from one backward through
task-expanded parameters, and the whole meta-batch in batched matmuls.

    python benchmarks/torch_baselines/maml_trpo.py [--iterations 5] [--tasks 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import torch

Params = dict[str, torch.Tensor]


@dataclasses.dataclass
class Config:
    num_tasks: int = 20
    num_episodes: int = 20
    horizon: int = 100
    hidden_sizes: tuple[int, ...] = (64, 64)
    inner_lr: float = 0.1
    gamma: float = 0.99
    max_kl: float = 0.01
    cg_iters: int = 10
    cg_damping: float = 1e-5
    ls_max_steps: int = 15
    ls_backtrack_ratio: float = 0.8


def init_policy(config: Config, obs_dim: int = 2, action_dim: int = 2) -> Params:
    """pytorch-maml-rl's NormalMLPPolicy: Xavier-uniform weights, zero biases, log-std 0."""
    sizes = (obs_dim,) + tuple(config.hidden_sizes) + (action_dim,)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = torch.empty(fan_in, fan_out)
        torch.nn.init.xavier_uniform_(weight)
        params[f"w{i}"], params[f"b{i}"] = weight, torch.zeros(fan_out)
    params["log_std"] = torch.zeros(action_dim)
    return {k: v.requires_grad_() for k, v in params.items()}


def policy(params: Params, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and log-std for ``obs [tasks, N, d]``; params shared (``[...]``) or per task
    (``[tasks, ...]``)."""
    layers = (len(params) - 1) // 2
    h = obs
    for i in range(layers):
        h = h @ params[f"w{i}"] + params[f"b{i}"].unsqueeze(-2)
        if i < layers - 1:
            h = torch.tanh(h)
    return h, params["log_std"].unsqueeze(-2).expand_as(h)


def log_prob(mean, log_std, action):
    return (-0.5 * ((action - mean) / log_std.exp()) ** 2 - log_std
            - 0.5 * math.log(2 * math.pi)).sum(-1)


def kl(mean, log_std, old_mean, old_log_std):
    """KL(new || old) of diagonal Gaussians, summed over action dimensions."""
    var, old_var = (2 * log_std).exp(), (2 * old_log_std).exp()
    return (old_log_std - log_std + (var + (mean - old_mean) ** 2) / (2 * old_var) - 0.5).sum(-1)


def masked_mean(x, valid):
    return (x * valid).flatten(1).sum(1) / valid.flatten(1).sum(1).clamp(min=1)


@torch.no_grad()
def sample(params: Params, goals: torch.Tensor, config: Config) -> dict[str, torch.Tensor]:
    """``num_episodes`` episodes on every task at once: obs/actions ``[T, E, H, 2]``,
    rewards/valid ``[T, E, H]`` (steps after the goal is reached are invalid)."""
    tasks, episodes = goals.shape[0], config.num_episodes
    position = torch.zeros(tasks, episodes, 2)
    alive = torch.ones(tasks, episodes)
    obs, actions, rewards, valid = [], [], [], []
    for _ in range(config.horizon):
        mean, log_std = policy(params, position.reshape(tasks, episodes, 2))
        action = mean + log_std.exp() * torch.randn_like(mean)
        obs.append(position)
        actions.append(action)
        valid.append(alive)
        position = position + action.clamp(-0.1, 0.1)
        offset = position - goals[:, None]
        rewards.append(-offset.norm(dim=-1))
        alive = alive * ~(offset.abs() < 0.01).all(-1)
    return {"obs": torch.stack(obs, 2), "action": torch.stack(actions, 2),
            "reward": torch.stack(rewards, 2) * torch.stack(valid, 2),
            "valid": torch.stack(valid, 2)}


@torch.no_grad()
def advantages(batch: dict[str, torch.Tensor], config: Config) -> torch.Tensor:
    """Discounted returns minus the linear feature baseline fitted per task (GAE with
    lambda 1), normalised over each task's valid steps."""
    reward, valid, obs = batch["reward"], batch["valid"], batch["obs"]
    returns = torch.zeros_like(reward)
    running = torch.zeros(reward.shape[:2])
    for t in reversed(range(reward.shape[2])):
        running = reward[..., t] + config.gamma * running * valid[..., t]
        returns[..., t] = running
    t = (torch.arange(reward.shape[2]).expand_as(valid) * valid / 100.0)[..., None]
    feats = torch.cat([obs, obs ** 2, t, t ** 2, t ** 3, valid[..., None]], -1) * valid[..., None]
    x = feats.flatten(1, 2)
    y = (returns * valid).flatten(1)
    xtx, xty = x.transpose(1, 2) @ x, (x.transpose(1, 2) @ y[..., None])
    eye = torch.eye(xtx.shape[-1])
    for reg in (1e-5 * 10 ** k for k in range(6)):  # raise the ridge if singular
        weights, info = torch.linalg.solve_ex(xtx + reg * eye, xty)
        if (info == 0).all() and torch.isfinite(weights).all():
            break
    adv = (returns - (feats @ weights[:, None]).squeeze(-1)) * valid
    mean = masked_mean(adv, valid)[:, None, None]
    std = masked_mean((adv - mean) ** 2 * valid, valid).sqrt()[:, None, None]
    return (adv - mean) * valid / (std + 1e-8)


def adapt(params: Params, train: dict[str, torch.Tensor], config: Config,
          create_graph: bool = True) -> Params:
    """One VPG step per task, differentiable in ``params`` when ``create_graph``: the
    parameters are expanded along a task axis so one backward gives every task's own
    gradient."""
    tasks = train["obs"].shape[0]
    expanded = {k: v.expand((tasks,) + v.shape) for k, v in params.items()}
    mean, log_std = policy(expanded, train["obs"].flatten(1, 2))
    logp = log_prob(mean, log_std, train["action"].flatten(1, 2))
    loss = -masked_mean(logp * train["adv"].flatten(1), train["valid"].flatten(1)).sum()
    grads = torch.autograd.grad(loss, list(expanded.values()), create_graph=create_graph)
    return {k: v - config.inner_lr * g for (k, v), g in zip(expanded.items(), grads)}


def surrogate_and_kl(params, train, valid, old, config, create_graph: bool = True):
    adapted = adapt(params, train, config, create_graph)
    mean, log_std = policy(adapted, valid["obs"].flatten(1, 2))
    action, mask = valid["action"].flatten(1, 2), valid["valid"].flatten(1)
    ratio = (log_prob(mean, log_std, action) - log_prob(*old, action)).exp()
    loss = -masked_mean(ratio * valid["adv"].flatten(1), mask).mean()
    return loss, masked_mean(kl(mean, log_std, *old), mask).mean()


def conjugate_gradient(fvp, b: torch.Tensor, iters: int) -> torch.Tensor:
    x, r, p = torch.zeros_like(b), b.clone(), b.clone()
    rr = r @ r
    for _ in range(iters):
        ap = fvp(p)
        alpha = rr / (p @ ap)
        x, r = x + alpha * p, r - alpha * ap
        rr_new = r @ r
        if rr_new < 1e-10:
            break
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def make_fvp(params: Params, kl_value: torch.Tensor, damping: float):
    """pytorch-maml-rl's Fisher-vector product: the KL's gradient once with its graph, then
    one more backward per product (through the adaptation: second order)."""
    leaves = list(params.values())
    kl_grad = flat(torch.autograd.grad(kl_value, leaves, create_graph=True))

    def fvp(v: torch.Tensor) -> torch.Tensor:
        return flat(torch.autograd.grad(kl_grad @ v, leaves, retain_graph=True)) + damping * v

    return fvp


def meta_step(params: Params, key: torch.Generator, config: Config) -> dict[str, float]:
    """One meta-iteration: sample tasks, adapt, TRPO on the post-adaptation surrogate."""
    goals = torch.rand(config.num_tasks, 2, generator=key) - 0.5
    train = sample(params, goals, config)
    train["adv"] = advantages(train, config)
    adapted = {k: v.detach() for k, v in adapt(params, train, config, False).items()}
    valid = sample(adapted, goals, config)
    valid["adv"] = advantages(valid, config)
    with torch.no_grad():
        old = tuple(x.detach() for x in policy(adapted, valid["obs"].flatten(1, 2)))

    names = list(params)
    loss, kl_value = surrogate_and_kl(params, train, valid, old, config)
    g = flat(torch.autograd.grad(loss, [params[k] for k in names], retain_graph=True))
    fvp = make_fvp(params, kl_value, config.cg_damping)
    direction = conjugate_gradient(fvp, g, config.cg_iters)
    shs = 0.5 * direction @ fvp(direction)
    step = direction / torch.sqrt(shs / config.max_kl)
    old_flat = flat(params[k] for k in names).detach()
    fraction, accepted = 1.0, False
    for _ in range(config.ls_max_steps):
        new_flat = old_flat - fraction * step
        candidate, offset = {}, 0
        for k in names:
            n = params[k].numel()
            candidate[k] = new_flat[offset:offset + n].view_as(params[k]).requires_grad_()
            offset += n
        new_loss, new_kl = surrogate_and_kl(candidate, train, valid, old, config, False)
        if new_loss < loss and new_kl < config.max_kl:
            accepted = True
            break
        fraction *= config.ls_backtrack_ratio
    if accepted:
        for k in names:
            params[k] = candidate[k].detach().requires_grad_()
    returns = lambda b: float((b["reward"].sum(-1)).mean())  # noqa: E731
    return {"pre_return": returns(train), "post_return": returns(valid),
            "accepted": float(accepted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = Config(num_tasks=args.tasks)
    params = init_policy(config)
    key = torch.Generator().manual_seed(args.seed)
    for i in range(args.iterations):
        start = time.perf_counter()
        metrics = meta_step(params, key, config)
        print(f"iteration {i + 1}: {time.perf_counter() - start:.2f} s, pre "
              f"{metrics['pre_return']:.2f}, post {metrics['post_return']:.2f}", flush=True)


if __name__ == "__main__":
    main()
