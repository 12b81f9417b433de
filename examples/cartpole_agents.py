"""DQN and PPO on gymnax CartPole-v1, each training run one jitted lax.scan, several seeds at
once with jax.vmap; then the greedy policy's return over 100 episodes per seed.

    python examples/cartpole_agents.py [--seeds 4] [--steps 500000]
"""

import argparse
import time

import gymnax
import jax
import numpy as np

from metajax.algorithms import dqn, ppo


def main(seeds: int = 4, steps: int = 500_000, tiny: bool = False) -> dict[str, np.ndarray]:
    env, _ = gymnax.make("CartPole-v1")
    small = dict(hidden_sizes=(16,)) if tiny else {}
    agents = {
        "dqn": (dqn.DQNConfig(total_steps=steps, **small,
                              **(dict(learning_starts=100, buffer_size=200) if tiny else {})),
                dqn.make_train, dqn.greedy_returns),
        "ppo": (ppo.PPOConfig(total_steps=steps, **small,
                              **(dict(num_steps=16, num_minibatches=2) if tiny else {})),
                ppo.make_train, ppo.evaluate_returns),
    }
    results = {}
    keys = jax.random.split(jax.random.key(0), seeds)
    for name, (config, make_train, evaluate) in agents.items():
        train = jax.jit(jax.vmap(make_train(config, env)))  # one program trains every seed
        start = time.perf_counter()
        states, _ = jax.block_until_ready(train(keys))
        seconds = time.perf_counter() - start
        returns = np.asarray(jax.vmap(lambda p, k: evaluate(config, env, p, k, 100))(
            states.params, jax.random.split(jax.random.key(1), seeds)).mean(1))
        print(f"{name}: {seeds} seeds x {steps:,} steps in {seconds:.1f} s (compile included); "
              f"greedy return per seed {np.round(returns, 1)}")
        results[name] = returns
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=500_000)
    args = parser.parse_args()
    main(args.seeds, args.steps)
