"""B4: environment throughput with a random policy, steps per second: metajax task
distributions (Navigation2D, BernoulliBandit-10, TabularMDP) and gymnax CartPole-v1, each as
``jit(scan over time of vmap over envs)`` with actions drawn inside the program, against
Gymnasium's vectorised NumPy CartPole (``make_vec(..., "vector_entry_point")``) and a NumPy
batch version of Navigation2D stepped from Python. Median over repeats, compile time apart.

    python benchmarks/env_throughput.py [--envs 1024 4096] [--steps 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import gymnasium
import gymnax
import jax
import jax.numpy as jnp
import numpy as np

import metajax

HERE = Path(__file__).parent


def random_rollout(env, params, num_envs: int, num_steps: int):
    """``run(key) -> total reward``: ``num_envs`` envs (one task each) for ``num_steps``
    auto-resetting steps, uniform random actions."""
    space = env.action_space(jax.tree.map(lambda x: x[0], params) if params is not None
                             else env.default_params)

    def run(key):
        reset_key, key = jax.random.split(key)
        tasks = params if params is not None else env.default_params
        in_axes = 0 if params is not None else None
        obs, state = jax.vmap(env.reset, (0, in_axes))(jax.random.split(reset_key, num_envs),
                                                      tasks)

        def step(carry, step_key):
            state, total = carry
            act_key, env_key = jax.random.split(step_key)
            actions = jax.vmap(space.sample)(jax.random.split(act_key, num_envs))
            _, state, reward, *_ = jax.vmap(env.step, (0, 0, 0, in_axes))(
                jax.random.split(env_key, num_envs), state, actions, tasks)
            return (state, total + jnp.sum(reward)), None

        (_, total), _ = jax.lax.scan(step, (state, jnp.zeros(())),
                                     jax.random.split(key, num_steps))
        return total

    return run


def time_jax(run, repeats: int) -> tuple[float, float, list[float]]:
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = jax.jit(run).lower(key).compile()
    compile_seconds = time.perf_counter() - start
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(i)))
        times.append(time.perf_counter() - start)
    return statistics.median(times), compile_seconds, times


def numpy_navigation(num_envs: int, num_steps: int, seed: int) -> float:
    """Navigation2D (pytorch-maml-rl spec) as NumPy arrays stepped from Python."""
    rng = np.random.default_rng(seed)
    goal = rng.uniform(-0.5, 0.5, (num_envs, 2)).astype(np.float32)
    position = np.zeros((num_envs, 2), np.float32)
    time_step = np.zeros(num_envs, np.int32)
    total = 0.0
    for _ in range(num_steps):
        action = rng.standard_normal((num_envs, 2), dtype=np.float32)
        position = position + np.clip(action, -0.1, 0.1)
        offset = position - goal
        reward = -np.sqrt((offset ** 2).sum(1))
        time_step += 1
        done = np.all(np.abs(offset) < 0.01, 1) | (time_step >= 100)
        position[done] = 0.0
        time_step[done] = 0
        total += float(reward.sum())
    return total


def gymnasium_cartpole(num_envs: int, num_steps: int, seed: int) -> None:
    env = gymnasium.make_vec("CartPole-v1", num_envs=num_envs,
                             vectorization_mode="vector_entry_point")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(num_steps):
        env.step(env.action_space.sample())


def time_python(fn, num_envs: int, num_steps: int, repeats: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(num_envs, num_steps, i)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results" / "env_throughput.json"))
    args = parser.parse_args()

    rows = []
    for n in args.envs:
        steps = n * args.steps
        for env_id in ("Navigation2D-v0", "BernoulliBandit-10", "TabularMDP-v0"):
            env, _ = metajax.make(env_id)
            tasks = env.sample_tasks(jax.random.key(1), n)
            median, compile_s, times = time_jax(random_rollout(env, tasks, n, args.steps),
                                                args.repeats)
            rows.append({"env": env_id, "implementation": "metajax (jit)", "num_envs": n,
                         "steps_per_second": steps / median, "compile_seconds": compile_s,
                         "times": times})
        cartpole, _ = gymnax.make("CartPole-v1")
        median, compile_s, times = time_jax(random_rollout(cartpole, None, n, args.steps),
                                            args.repeats)
        rows.append({"env": "CartPole-v1", "implementation": "gymnax (jit)", "num_envs": n,
                     "steps_per_second": steps / median, "compile_seconds": compile_s,
                     "times": times})
        for env_id, label, fn in (
                ("CartPole-v1", "Gymnasium vector (NumPy)", gymnasium_cartpole),
                ("Navigation2D-v0", "NumPy batch from Python", numpy_navigation)):
            median, times = time_python(fn, n, args.steps, args.repeats)
            rows.append({"env": env_id, "implementation": label, "num_envs": n,
                         "steps_per_second": steps / median, "times": times})
        for row in rows[-6:]:
            print(f"| {row['env']} | {row['implementation']} | {n} | "
                  f"{row['steps_per_second'] / 1e6:.1f} M/s |", flush=True)
    Path(args.out).write_text(json.dumps({
        "steps": args.steps, "repeats": args.repeats, "rows": rows,
        "machine": {"platform": platform.platform(), "device": str(jax.devices()[0]),
                    "jax": jax.__version__, "gymnasium": gymnasium.__version__}}, indent=1))


if __name__ == "__main__":
    main()
