"""PPO on CartPole-v1 in PyTorch, CleanRL's ``ppo.py`` with metajax's PPOConfig defaults: 4
environments x 128 steps per update, actor and critic 64-64 tanh (orthogonal init), Adam
2.5e-4 (eps 1e-5) annealed to 0, GAE(0.99, 0.95), 4 epochs of 4 minibatches, clip 0.2 on
ratio and value, entropy 0.01, value 0.5, grad norm 0.5; at a time limit the final
observation's value is added to the reward, as metajax does.

    python benchmarks/torch_baselines/ppo.py [--steps 500000] [--seed 0] [--compile]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import torch
from torch import nn

try:
    from torch_baselines.cartpole import VectorCartPole, evaluate
except ImportError:  # run as a script from this folder
    from cartpole import VectorCartPole, evaluate


@dataclasses.dataclass
class Config:
    total_steps: int = 500_000
    num_envs: int = 4
    num_steps: int = 128
    lr: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5
    update_epochs: int = 4
    num_minibatches: int = 4


def layer(inputs: int, outputs: int, std: float = math.sqrt(2)) -> nn.Linear:
    linear = nn.Linear(inputs, outputs)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


class Agent(nn.Module):
    def __init__(self, obs_dim: int = 4, num_actions: int = 2):
        super().__init__()
        self.critic = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                    layer(64, 1, 1.0))
        self.actor = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                   layer(64, num_actions, 0.01))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(self, obs: torch.Tensor, action: torch.Tensor | None = None):
        dist = torch.distributions.Categorical(logits=self.actor(obs))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(obs)


def train(config: Config, seed: int = 0, compile: bool = False,
          on_update=None) -> tuple[Agent, list[float]]:
    """Trains one agent; returns it and the returns of finished episodes.
    ``on_update(steps, agent)`` is called after every update (its time is the caller's)."""
    torch.manual_seed(seed)
    env = VectorCartPole(config.num_envs, torch.Generator().manual_seed(seed))
    agent = Agent()
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=1e-5)
    batch_size = config.num_envs * config.num_steps
    minibatch = batch_size // config.num_minibatches
    num_updates = config.total_steps // batch_size
    shape = (config.num_steps, config.num_envs)
    obs_buf, actions = torch.zeros(shape + (4,)), torch.zeros(shape, dtype=torch.long)
    log_probs, rewards, dones, values = (torch.zeros(shape) for _ in range(4))

    def minibatch_step(mb_obs, mb_actions, mb_log_probs, mb_adv, mb_returns, mb_values):
        _, new_log_prob, entropy, new_value = agent.act(mb_obs, mb_actions)
        ratio = (new_log_prob - mb_log_probs).exp()
        mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
        pg_loss = torch.max(-mb_adv * ratio, -mb_adv * ratio.clamp(1 - config.clip_eps,
                                                                    1 + config.clip_eps)).mean()
        clipped = mb_values + (new_value - mb_values).clamp(-config.clip_eps, config.clip_eps)
        v_loss = 0.5 * torch.max((new_value - mb_returns) ** 2,
                                 (clipped - mb_returns) ** 2).mean()
        loss = pg_loss - config.ent_coef * entropy.mean() + config.vf_coef * v_loss
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
        optimizer.step()

    if compile:
        minibatch_step = torch.compile(minibatch_step)
    obs = env.reset()
    episode_return = torch.zeros(config.num_envs)
    returns: list[float] = []
    for update in range(num_updates):
        for group in optimizer.param_groups:  # linear annealing per optimiser step, as optax
            group["lr"] = config.lr * (1.0 - update / num_updates)
        with torch.no_grad():
            for t in range(config.num_steps):
                action, log_prob, _, value = agent.act(obs)
                next_obs, reward, terminated, truncated, info = env.step(action)
                final_value = agent.value(info["final_observation"])
                obs_buf[t], actions[t], log_probs[t], values[t] = obs, action, log_prob, value
                rewards[t] = reward + config.gamma * final_value * truncated
                done = terminated | truncated
                dones[t] = done.float()
                episode_return += reward
                if done.any():
                    returns.extend(episode_return[done].tolist())
                    episode_return[done] = 0.0
                obs = next_obs
            advantages = torch.zeros(shape)
            last_gae, next_value = torch.zeros(config.num_envs), agent.value(obs)
            for t in reversed(range(config.num_steps)):
                not_done = 1.0 - dones[t]
                delta = rewards[t] + config.gamma * next_value * not_done - values[t]
                last_gae = delta + config.gamma * config.gae_lambda * not_done * last_gae
                advantages[t] = last_gae
                next_value = values[t]
            targets = advantages + values
        flat = [x.reshape((batch_size,) + x.shape[2:])
                for x in (obs_buf, actions, log_probs, advantages, targets, values)]
        for _ in range(config.update_epochs):
            order = torch.randperm(batch_size)
            for start in range(0, batch_size, minibatch):
                index = order[start:start + minibatch]
                minibatch_step(*(x[index] for x in flat))
        if on_update is not None:
            on_update((update + 1) * batch_size, agent)
    return agent, returns


def greedy_return(agent: Agent, episodes: int = 100, seed: int = 1) -> float:
    return evaluate(lambda obs: agent.actor(obs).argmax(1), episodes, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="torch.compile the update")
    args = parser.parse_args()
    start = time.perf_counter()
    agent, _ = train(Config(total_steps=args.steps), args.seed, args.compile)
    print(f"{args.steps:,} steps in {time.perf_counter() - start:.1f} s; greedy return over "
          f"100 episodes {greedy_return(agent):.1f}")


if __name__ == "__main__":
    main()
