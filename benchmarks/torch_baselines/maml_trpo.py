"""MAML-TRPO in PyTorch on 2D navigation (and, for B2, Bernoulli bandits and tabular MDPs
with a categorical policy), at the pytorch-maml-rl reference configuration
(``2d-navigation.yaml``): policy 64-64 tanh, Gaussian with a learned state-independent
log-std (init std 1); 20 tasks x 20 episodes of 100 steps; one inner VPG step of 0.1 with the
graph kept (``create_graph=True``, second order); gamma 0.99, GAE lambda 1, normalised
advantages, the linear feature baseline; TRPO with max-KL 0.01, 10 CG iterations, damping
1e-5, 15 line-search steps of ratio 0.8 (Fisher-vector products by double backward through
the adaptation, as pytorch-maml-rl). Written the way a good PyTorch user would: every task
and episode stepped as one tensor, the per-task inner gradients from one backward through
task-expanded parameters, and the whole meta-batch in batched matmuls.

    python benchmarks/torch_baselines/maml_trpo.py [--env navigation|bandit|mdp] [--iterations 5]
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
    hidden_sizes: tuple[int, ...] = (64, 64)
    inner_lr: float = 0.1
    gamma: float = 0.99
    max_kl: float = 0.01
    cg_iters: int = 10
    cg_damping: float = 1e-5
    ls_max_steps: int = 15
    ls_backtrack_ratio: float = 0.8
    loss_weighting: str = "episode"  # as pytorch-maml-rl's weighted_mean; or "step"


class Navigation:
    """2D navigation (pytorch-maml-rl ``2DNavigation-v0``): goal ~ U[-0.5, 0.5]^2, start at
    0, action clipped to [-0.1, 0.1]^2, reward -distance, done within 0.01 of the goal."""

    obs_dim, action_dim, discrete, horizon = 2, 2, False, 100

    def sample_tasks(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(n, 2, generator=generator) - 0.5

    def reset(self, goals: torch.Tensor, episodes: int):
        position = torch.zeros(goals.shape[0], episodes, 2)
        return position, position

    def step(self, goals, position, action):
        position = position + action.clamp(-0.1, 0.1)
        offset = position - goals[:, None]
        return position, position, -offset.norm(dim=-1), (offset.abs() < 0.01).all(-1)


class Bandit:
    """K-armed Bernoulli bandit (pytorch-maml-rl ``Bandit-K{k}-v0``): p ~ U[0, 1]^K, one pull
    per episode, constant zero observation."""

    obs_dim, discrete, horizon = 1, True, 1

    def __init__(self, num_arms: int = 10):
        self.action_dim = num_arms

    def sample_tasks(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(n, self.action_dim, generator=generator)

    def reset(self, probs: torch.Tensor, episodes: int):
        obs = torch.zeros(probs.shape[0], episodes, 1)
        return obs, obs

    def step(self, probs, obs, action):
        p = probs.gather(1, action)
        reward = torch.bernoulli(p)
        return obs, obs, reward, torch.zeros_like(reward, dtype=torch.bool)


class TabularMDP:
    """Random tabular MDP (RL^2; pytorch-maml-rl ``TabularMDP-v0``): 10 states, 5 actions,
    P(.|s, a) ~ Dirichlet(1), reward means ~ N(1, 1), r ~ N(mean, 1), start in state 0,
    one-hot observation, 10 steps."""

    discrete, horizon = True, 10

    def __init__(self, num_states: int = 10, num_actions: int = 5):
        self.obs_dim, self.action_dim = num_states, num_actions

    def sample_tasks(self, n: int, generator: torch.Generator):
        s, a = self.obs_dim, self.action_dim
        draws = -torch.log(torch.rand(n, s, a, s, generator=generator))  # Exp(1)
        means = 1.0 + torch.randn(n, s, a, generator=generator)
        return draws / draws.sum(-1, keepdim=True), means

    def reset(self, tasks, episodes: int):
        state = torch.zeros(tasks[0].shape[0], episodes, dtype=torch.long)
        return state, torch.nn.functional.one_hot(state, self.obs_dim).float()

    def step(self, tasks, state, action):
        transitions, means = tasks
        index = torch.arange(state.shape[0])[:, None]
        reward = means[index, state, action] + torch.randn(state.shape)
        state = torch.multinomial(transitions[index, state, action].flatten(0, 1), 1
                                  ).view(state.shape)
        obs = torch.nn.functional.one_hot(state, self.obs_dim).float()
        return state, obs, reward, torch.zeros_like(reward, dtype=torch.bool)


ENVS = {"navigation": Navigation, "bandit": Bandit, "mdp": TabularMDP}


def init_policy(config: Config, env) -> Params:
    """pytorch-maml-rl's NormalMLPPolicy / CategoricalMLPPolicy: Xavier-uniform weights,
    zero biases, and for a Gaussian a log-std of 0."""
    sizes = (env.obs_dim,) + tuple(config.hidden_sizes) + (env.action_dim,)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = torch.empty(fan_in, fan_out)
        torch.nn.init.xavier_uniform_(weight)
        params[f"w{i}"], params[f"b{i}"] = weight, torch.zeros(fan_out)
    if not env.discrete:
        params["log_std"] = torch.zeros(env.action_dim)
    return {k: v.requires_grad_() for k, v in params.items()}


def policy(params: Params, obs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(mean, log_std)`` or ``(logits,)`` for ``obs [tasks, N, d]``; params shared
    (``[...]``) or per task (``[tasks, ...]``)."""
    layers = sum(k.startswith("w") for k in params)
    h = obs
    for i in range(layers):
        h = h @ params[f"w{i}"] + params[f"b{i}"].unsqueeze(-2)
        if i < layers - 1:
            h = torch.tanh(h)
    if "log_std" in params:
        return h, params["log_std"].unsqueeze(-2).expand_as(h)
    return (h,)


def draw(dist: tuple[torch.Tensor, ...]) -> torch.Tensor:
    if len(dist) == 1:
        return torch.distributions.Categorical(logits=dist[0]).sample()
    mean, log_std = dist
    return mean + log_std.exp() * torch.randn_like(mean)


def log_prob(dist: tuple[torch.Tensor, ...], action: torch.Tensor) -> torch.Tensor:
    if len(dist) == 1:
        return torch.log_softmax(dist[0], -1).gather(-1, action[..., None]).squeeze(-1)
    mean, log_std = dist
    return (-0.5 * ((action - mean) / log_std.exp()) ** 2 - log_std
            - 0.5 * math.log(2 * math.pi)).sum(-1)


def kl(new: tuple[torch.Tensor, ...], old: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """KL(new || old), summed over action dimensions for a Gaussian."""
    if len(new) == 1:
        log_p, log_q = torch.log_softmax(new[0], -1), torch.log_softmax(old[0], -1)
        return (log_p.exp() * (log_p - log_q)).sum(-1)
    (mean, log_std), (old_mean, old_log_std) = new, old
    var, old_var = (2 * log_std).exp(), (2 * old_log_std).exp()
    return (old_log_std - log_std + (var + (mean - old_mean) ** 2) / (2 * old_var) - 0.5).sum(-1)


def masked_mean(x, valid, weighting: str):
    """Each task's mean of ``x`` over its valid steps ``[tasks, E, H]`` (``x`` may have the
    episode and step axes flattened): within each episode then over episodes (``"episode"``,
    pytorch-maml-rl's ``weighted_mean(x, lengths).mean()``) or over all steps (``"step"``)."""
    x = x.reshape(valid.shape) * valid
    if weighting == "episode":
        return (x.sum(2) / valid.sum(2).clamp(min=1)).mean(1)
    return x.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp(min=1)


@torch.no_grad()
def sample(params: Params, env, tasks, config: Config) -> dict[str, torch.Tensor]:
    """``num_episodes`` episodes on every task at once: obs/actions ``[T, E, H, ...]``,
    rewards/valid ``[T, E, H]`` (steps after an episode is done are invalid)."""
    episodes = config.num_episodes
    state, obs = env.reset(tasks, episodes)
    alive = torch.ones(obs.shape[:2])
    observations, actions, rewards, valid = [], [], [], []
    for _ in range(env.horizon):
        action = draw(policy(params, obs))
        observations.append(obs)
        actions.append(action)
        valid.append(alive)
        state, obs, reward, done = env.step(tasks, state, action)
        rewards.append(reward)
        alive = alive * ~done
    valid = torch.stack(valid, 2)
    return {"obs": torch.stack(observations, 2), "action": torch.stack(actions, 2),
            "reward": torch.stack(rewards, 2) * valid, "valid": valid}


@torch.no_grad()
def advantages(batch: dict[str, torch.Tensor], config: Config) -> torch.Tensor:
    """Discounted returns minus the linear feature baseline fitted per task (GAE with
    lambda 1), normalised over each task's valid steps (weighted per episode or per step)."""
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
    mean = masked_mean(adv, valid, config.loss_weighting)[:, None, None]
    std = masked_mean((adv - mean) ** 2, valid, config.loss_weighting).sqrt()[:, None, None]
    return (adv - mean) * valid / (std + 1e-8)


def adapt(params: Params, train: dict[str, torch.Tensor], config: Config,
          create_graph: bool = True) -> Params:
    """One VPG step per task, differentiable in ``params`` when ``create_graph``: the
    parameters are expanded along a task axis so one backward gives every task's own
    gradient."""
    tasks = train["obs"].shape[0]
    expanded = {k: v.expand((tasks,) + v.shape) for k, v in params.items()}
    logp = log_prob(policy(expanded, train["obs"].flatten(1, 2)), train["action"].flatten(1, 2))
    loss = -masked_mean(logp * train["adv"].flatten(1), train["valid"],
                        config.loss_weighting).sum()
    grads = torch.autograd.grad(loss, list(expanded.values()), create_graph=create_graph)
    return {k: v - config.inner_lr * g for (k, v), g in zip(expanded.items(), grads)}


def surrogate_and_kl(params, train, valid, old, config, create_graph: bool = True):
    adapted = adapt(params, train, config, create_graph)
    new = policy(adapted, valid["obs"].flatten(1, 2))
    action, mask, weighting = valid["action"].flatten(1, 2), valid["valid"], config.loss_weighting
    ratio = (log_prob(new, action) - log_prob(old, action)).exp()
    loss = -masked_mean(ratio * valid["adv"].flatten(1), mask, weighting).mean()
    return loss, masked_mean(kl(new, old), mask, weighting).mean()


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


def meta_step(params: Params, env, key: torch.Generator, config: Config) -> dict[str, float]:
    """One meta-iteration: sample tasks, adapt, TRPO on the post-adaptation surrogate."""
    tasks = env.sample_tasks(config.num_tasks, key)
    train = sample(params, env, tasks, config)
    train["adv"] = advantages(train, config)
    adapted = {k: v.detach() for k, v in adapt(params, train, config, False).items()}
    valid = sample(adapted, env, tasks, config)
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
    parser.add_argument("--env", choices=list(ENVS), default="navigation")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = Config(num_tasks=args.tasks)
    env = ENVS[args.env]()
    params = init_policy(config, env)
    key = torch.Generator().manual_seed(args.seed)
    for i in range(args.iterations):
        start = time.perf_counter()
        metrics = meta_step(params, env, key, config)
        print(f"iteration {i + 1}: {time.perf_counter() - start:.2f} s, pre "
              f"{metrics['pre_return']:.2f}, post {metrics['post_return']:.2f}", flush=True)


if __name__ == "__main__":
    main()
