"""RL^2 on 5-armed Bernoulli bandits: a GRU policy trained with PPO over trials of 10 pulls
learns to explore and then exploit inside its activations; compared on held-out tasks with
random, UCB1, Thompson sampling and the Gittins index.

    python examples/rl2_bandit.py [--updates 300]
"""

import argparse

import jax
import numpy as np

import metajax
from metajax.algorithms.rl2 import RL2, RL2Config, make_train
from metajax.classic import evaluate_bandit_agents, gittins, random_agent, thompson_sampling, ucb1
from metajax.envs.trials import Trials
from metajax.recurrent import make_recurrent_policy


def main(updates: int = 300, num_envs: int = 128, hidden_size: int = 128,
         num_eval_tasks: int = 1000, pulls: int = 10) -> dict[str, float]:
    bandit = metajax.BernoulliBandit(5)
    env = Trials(bandit, num_episodes=pulls)  # one task per trial of `pulls` one-pull episodes
    config = RL2Config(trial_episodes=pulls, num_envs=num_envs, hidden_size=hidden_size)
    policy = make_recurrent_policy(env.obs_shape, env.action_space(), hidden_size)

    # the whole training run is one jitted lax.scan; jax.vmap(train) would train many seeds
    train = jax.jit(make_train(env, policy, config, num_updates=updates))
    state, metrics = train(jax.random.key(0))
    curve = np.asarray(metrics["trial_return"])
    print(f"trial return over training: first {curve[:10].mean():.2f}, "
          f"last {curve[-10:].mean():.2f} (per trial of {pulls} pulls)")

    # held-out tasks: the same tasks for RL^2 and the classic agents
    task_key, play_key = jax.random.split(jax.random.key(1))
    tasks = bandit.sample_tasks(task_key, num_eval_tasks)
    per_episode = RL2(env, policy, config).evaluate(state.params, tasks, play_key)
    agents = {"random": random_agent, "ucb1": ucb1(0.2), "thompson": thompson_sampling,
              "gittins": gittins(pulls)}
    totals = {"rl2": per_episode.sum(1)} | evaluate_bandit_agents(
        5, pulls, num_eval_tasks, play_key, agents, probs=tasks.probs)
    results = {name: float(np.mean(t)) for name, t in totals.items()}
    for name, value in results.items():
        print(f"{name:>9}: {value:.2f} total reward over {pulls} pulls")
    print("RL^2 mean reward per pull through the trial:",
          np.round(np.asarray(per_episode.mean(0)), 2))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=300)
    main(parser.parse_args().updates)
