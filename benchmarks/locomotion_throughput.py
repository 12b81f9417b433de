"""Env steps per second of the brax locomotion task distributions (``jit`` of a ``scan`` over
time of a ``vmap`` over tasks x episodes, random actions drawn in the program) per physics
backend, beside Gymnasium's C MuJoCo HalfCheetah-v5 / Ant-v5 (synchronous vector envs, random
actions, stepped from Python). Compile time apart; median over repeats.

    python benchmarks/locomotion_throughput.py [--tasks 10] [--episodes 20] [--steps 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

import metajax
from env_throughput import random_rollout, time_jax  # benchmarks/ is the script's dir

HERE = Path(__file__).parent


def brax_steps_per_second(env_id: str, backend: str, tasks: int, episodes: int, steps: int,
                          repeats: int) -> dict:
    """``tasks`` tasks x ``episodes`` episodes in one vmapped call, ``steps`` steps."""
    env = metajax.make(env_id, backend=backend, horizon=steps)[0]
    params = env.sample_tasks(jax.random.key(0), tasks)
    params = jax.tree.map(lambda x: jnp.repeat(x, episodes, axis=0), params)
    n = tasks * episodes
    seconds, compile_seconds, _ = time_jax(random_rollout(env, params, n, steps), repeats)
    return {"env": env_id, "backend": backend, "envs_per_call": n,
            "steps_per_second": n * steps / seconds, "compile_seconds": compile_seconds}


def mujoco_steps_per_second(env_id: str, num_envs: int, steps: int, repeats: int) -> dict:
    envs = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(env_id)] * num_envs)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        actions = rng.uniform(-1, 1, (steps,) + envs.action_space.shape).astype(np.float32)
        start = time.perf_counter()
        for action in actions:
            envs.step(action)
        times.append(time.perf_counter() - start)
    envs.close()
    return {"env": env_id, "backend": "C MuJoCo (Gymnasium)", "envs_per_call": num_envs,
            "steps_per_second": num_envs * steps / statistics.median(times),
            "compile_seconds": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "locomotion_throughput.json"))
    args = parser.parse_args()
    # one task distribution per robot: the others step the same physics (a task changes only
    # the reward, a few flops)
    cases = [(env_id, backend) for backend in ("mjx", "spring")
             for env_id in ("HalfCheetahVel-v0", "AntVel-v0")]
    rows = []
    for env_id, backend in cases:
        rows.append(brax_steps_per_second(env_id, backend, args.tasks, args.episodes,
                                          args.steps, args.repeats))
        print(rows[-1], flush=True)
    for env_id in ("HalfCheetah-v5", "Ant-v5"):
        for num_envs in (1, 16):
            rows.append(mujoco_steps_per_second(env_id, num_envs, 1000 // num_envs * 10,
                                                args.repeats))
            print(rows[-1], flush=True)
    print(f"\n| env | physics | envs per call | steps/s | compile (s) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['env']} | {r['backend']} | {r['envs_per_call']} | "
              f"{r['steps_per_second']:,.0f} | {r['compile_seconds']:.1f} |")
    Path(args.out).write_text(json.dumps({
        "machine": platform.processor() or platform.machine(), "cpus": jax.device_count(),
        "device": str(jax.devices()[0]), "args": vars(args), "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
