"""Add your own task distribution: goals on a ring, as a gymnax environment whose params carry
the task, registered under an id and meta-trained with the same MAML code.

    python examples/custom_task.py [--iterations 30]
"""

import argparse

import jax
import jax.numpy as jnp

import metajax
from metajax.envs.navigation import EnvParams, Navigation2D


class RingNavigation(Navigation2D):
    """Navigation2D whose goals lie on a circle of radius ``radius`` around the start."""

    def __init__(self, radius: float = 0.4, **kwargs):
        super().__init__(**kwargs)
        self.radius = radius

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> EnvParams:
        angle = jax.random.uniform(key, (num_tasks,), minval=0.0, maxval=2 * jnp.pi)
        goals = self.radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=-1)
        return self.tasks_with_goals(goals)  # the other params: the constructor's

    @property
    def name(self) -> str:
        return "RingNavigation-v0"


def main(iterations: int = 30, tasks: int = 10, episodes: int = 10, horizon: int = 100):
    if "RingNavigation-v0" not in metajax.registered_envs():
        metajax.register("RingNavigation-v0", RingNavigation)
    env, _ = metajax.make("RingNavigation-v0", horizon=horizon)
    policy = metajax.make_policy("gaussian", env.obs_shape, env.action_space(), (32, 32))
    algo = metajax.maml(env, policy, num_tasks=tasks, num_episodes=episodes)
    state, key = algo.init(jax.random.key(0)), jax.random.key(1)
    step = jax.jit(algo.step)
    for i in range(iterations):
        key, step_key = jax.random.split(key)
        state, metrics = step(state, step_key)
    print(f"after {iterations} iterations: pre {float(metrics['pre_return']):.2f}, "
          f"post {float(metrics['post_return']):.2f}")
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=30)
    main(**vars(parser.parse_args()))
