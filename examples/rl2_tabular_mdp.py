"""RL^2 on tabular MDPs (Duan et al. 2016, Table 2) with the value design that lets it learn
there: a separate critic GRU, layer-normalised GRUs fed the raw inputs, an unclipped Huber
value loss, no gradient clipping, and a large batch of trials per update. Compared on
held-out MDPs with the random policy and posterior sampling (PSRL).

    python examples/rl2_tabular_mdp.py [--updates 200]   # about 30 min on 2 CPU cores
"""

import argparse

import jax
import numpy as np

import metajax
from metajax.algorithms.rl2 import RL2, RL2Config, make_rl2_policy, make_train
from metajax.classic import evaluate_mdp_agents
from metajax.envs.trials import Trials


def main(updates: int = 200, num_envs: int = 1024, hidden_size: int = 128,
         num_eval_tasks: int = 1000, episodes: int = 10) -> dict[str, float]:
    mdp = metajax.TabularMDP()  # 10 states, 5 actions, 10-step episodes
    env = Trials(mdp, num_episodes=episodes)
    config = RL2Config(
        trial_episodes=episodes, num_envs=num_envs, hidden_size=hidden_size,
        separate_critic=True, layer_norm=True, embed_size=0, value_loss="huber",
        max_grad_norm=0.0, normalize_advantages=False, clip_eps=0.1, lr=3e-4,
        anneal_lr=False, update_epochs=2, num_minibatches=min(16, num_envs))
    policy = make_rl2_policy(env, config)
    state, metrics = jax.jit(make_train(env, policy, config, num_updates=updates))(
        jax.random.key(0))
    curve = np.asarray(metrics["trial_return"])
    print(f"trial return over training: first {curve[:10].mean():.1f}, "
          f"last {curve[-10:].mean():.1f}; entropy {float(metrics['entropy'][-1]):.2f}")

    task_key, play_key = jax.random.split(jax.random.key(1))
    tasks = mdp.sample_tasks(task_key, num_eval_tasks)
    per_episode = RL2(env, policy, config).evaluate(state.params, tasks, play_key)
    totals = {"rl2": per_episode.sum(1)} | evaluate_mdp_agents(
        episodes, num_eval_tasks, play_key, mdp, tasks)
    results = {name: float(np.mean(t)) for name, t in totals.items()}
    for name, value in results.items():
        print(f"{name:>16}: {value:.1f} total reward over {episodes} episodes")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=200)
    main(parser.parse_args().updates)
