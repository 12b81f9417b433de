"""DQN on CartPole-v1 in PyTorch, CleanRL's ``dqn.py`` with metajax's DQNConfig defaults: 10
environments stepped together, Q-network 120-84 ReLU, Adam 2.5e-4, epsilon 1 -> 0.05 over
half the run, replay of 10,000, batches of 128 from step 10,000, one gradient step per vector
step, Double-DQN MSE targets, target copy every 500 steps, no bootstrap past ``terminated``.

    python benchmarks/torch_baselines/dqn.py [--steps 500000] [--seed 0] [--compile]
"""

from __future__ import annotations

import argparse
import dataclasses
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
    num_envs: int = 10
    buffer_size: int = 10_000
    batch_size: int = 128
    lr: float = 2.5e-4
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5
    learning_starts: int = 10_000
    train_every: int = 1
    target_period: int = 500
    double: bool = True


def q_network(obs_dim: int, num_actions: int) -> nn.Module:
    return nn.Sequential(nn.Linear(obs_dim, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, num_actions))


def train(config: Config, seed: int = 0, compile: bool = False,
          on_iteration=None) -> tuple[nn.Module, list[float]]:
    """Trains one agent; returns the Q-network and the returns of finished episodes.
    ``on_iteration(step, q)`` is called after every vector step (for evaluation; its time
    is the caller's to exclude)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    env = VectorCartPole(config.num_envs, gen)
    q, target = q_network(4, 2), q_network(4, 2)
    target.load_state_dict(q.state_dict())
    optimizer = torch.optim.Adam(q.parameters(), lr=config.lr)
    n = config.buffer_size
    buffer = {"obs": torch.zeros(n, 4), "action": torch.zeros(n, dtype=torch.long),
              "reward": torch.zeros(n), "next_obs": torch.zeros(n, 4),
              "terminated": torch.zeros(n)}
    position, size = 0, 0

    def learn_step(obs, action, reward, next_obs, terminated):
        with torch.no_grad():
            next_target = target(next_obs)
            if config.double:
                best = q(next_obs).argmax(1, keepdim=True)
                next_value = next_target.gather(1, best).squeeze(1)
            else:
                next_value = next_target.max(1).values
            td_target = reward + config.gamma * (1.0 - terminated) * next_value
        value = q(obs).gather(1, action[:, None]).squeeze(1)
        loss = nn.functional.mse_loss(value, td_target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    if compile:
        learn_step = torch.compile(learn_step)
    obs = env.reset()
    episode_return = torch.zeros(config.num_envs)
    returns: list[float] = []
    iterations = config.total_steps // config.num_envs
    period = max(config.target_period // config.num_envs, 1)
    for it in range(1, iterations + 1):
        step = it * config.num_envs  # env steps after this iteration
        frac = min((step - config.num_envs) / (config.epsilon_fraction * config.total_steps), 1)
        epsilon = config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)
        with torch.no_grad():
            greedy = q(obs).argmax(1)
        explore = torch.rand(config.num_envs, generator=gen) < epsilon
        action = torch.where(explore, torch.randint(0, 2, (config.num_envs,), generator=gen),
                             greedy)
        next_obs, reward, terminated, truncated, info = env.step(action)
        index = (torch.arange(config.num_envs) + position) % n
        buffer["obs"][index] = obs
        buffer["action"][index] = action
        buffer["reward"][index] = reward
        buffer["next_obs"][index] = info["final_observation"]
        buffer["terminated"][index] = terminated.float()
        position, size = (position + config.num_envs) % n, min(size + config.num_envs, n)
        done = terminated | truncated
        episode_return += reward
        if done.any():
            returns.extend(episode_return[done].tolist())
            episode_return[done] = 0.0
        obs = next_obs
        ready = step >= config.learning_starts
        if ready and it % config.train_every == 0:
            sample = torch.randint(0, size, (config.batch_size,), generator=gen)
            learn_step(*(buffer[k][sample] for k in ("obs", "action", "reward", "next_obs",
                                                     "terminated")))
        if ready and it % period == 0:
            target.load_state_dict(q.state_dict())
        if on_iteration is not None:
            on_iteration(step, q)
    return q, returns


def greedy_return(q: nn.Module, episodes: int = 100, seed: int = 1) -> float:
    return evaluate(lambda obs: q(obs).argmax(1), episodes, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="torch.compile the update")
    args = parser.parse_args()
    start = time.perf_counter()
    q, _ = train(Config(total_steps=args.steps), args.seed, args.compile)
    print(f"{args.steps:,} steps in {time.perf_counter() - start:.1f} s; greedy return over "
          f"100 episodes {greedy_return(q):.1f}")


if __name__ == "__main__":
    main()
