"""How often Ant's episodes terminate (torso height outside [0.2, 1.0], pytorch-maml-rl's
``ant.py``), brax physics beside Gymnasium's C MuJoCo ``Ant-v5`` (whose healthy range and reset
noise are the reference's), under two action distributions: uniform over the control range
(a random agent) and a freshly initialised MAML policy (N(0, 1) in the policy's [-10, 10]
action space, i.e. N(0, 0.1^2) controls after ``normalization_scale: 10``). A terminated
episode stops collecting reward, so a physics that topples Ant far more often than MuJoCo
would change the task. Writes ``results/locomotion_termination.json``.

    python benchmarks/locomotion_termination.py [--episodes 200] [--backends mjx spring]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import metajax
from metajax.envs.locomotion import NORMALIZATION_SCALE

HERE = Path(__file__).parent
HORIZON = 100
ACTIONS = ("uniform", "initial policy")


def policy_space_action(kind: str, key: jax.Array, shape) -> jax.Array:
    """An action in the policy's space ([-10, 10]) under the distribution ``kind``."""
    if kind == "uniform":
        return jax.random.uniform(key, shape, minval=-NORMALIZATION_SCALE,
                                  maxval=NORMALIZATION_SCALE)
    return jax.random.normal(key, shape)


def brax_lengths(backend: str, kind: str, episodes: int, seed: int = 0) -> np.ndarray:
    """Each episode's length (steps before termination, at most 100) on metajax's AntVel."""
    env, params = metajax.make("AntVel-v0", backend=backend, horizon=HORIZON)

    def episode(key):
        reset_key, key = jax.random.split(key)
        obs, state = env.reset(reset_key, params)

        def step(carry, key):
            state, alive = carry
            action_key, step_key = jax.random.split(key)
            action = policy_space_action(kind, action_key, (env.action_dim,))
            _, state, _, done, _ = env.step_env(step_key, state, action, params)
            return (state, alive & ~done), alive

        _, alive = jax.lax.scan(step, (state, jnp.array(True)), jax.random.split(key, HORIZON))
        return jnp.sum(alive)

    keys = jax.random.split(jax.random.key(seed), episodes)
    return np.asarray(jax.jit(jax.vmap(episode))(keys))


def mujoco_lengths(kind: str, episodes: int, seed: int = 0) -> np.ndarray:
    """The same on Gymnasium's ``Ant-v5`` (C MuJoCo), one env stepped from Python."""
    import gymnasium

    env = gymnasium.make("Ant-v5").unwrapped
    rng = np.random.default_rng(seed)
    lengths = []
    for _ in range(episodes):
        env.reset(seed=int(rng.integers(2**31)))
        for t in range(HORIZON):
            if kind == "uniform":
                action = rng.uniform(-1.0, 1.0, env.action_space.shape)
            else:
                action = np.clip(rng.normal(size=env.action_space.shape) / NORMALIZATION_SCALE,
                                 -1.0, 1.0)
            if env.step(action)[2]:  # terminated: unhealthy torso height or non-finite state
                break
        lengths.append(t + 1)
    return np.asarray(lengths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--backends", nargs="+", default=["mjx", "spring"])
    parser.add_argument("--out", default=str(HERE / "results" / "locomotion_termination.json"))
    args = parser.parse_args()
    rows = []
    for kind in ACTIONS:
        physics = [(f"brax {b}", lambda k, b=b: brax_lengths(b, k, args.episodes))
                   for b in args.backends]
        physics.append(("Gymnasium Ant-v5 (C MuJoCo)",
                        lambda k: mujoco_lengths(k, args.episodes)))
        for name, lengths_of in physics:
            lengths = lengths_of(kind)
            rows.append({"physics": name, "actions": kind, "episodes": args.episodes,
                         "terminated": float(np.mean(lengths < HORIZON)),
                         "mean_length": float(np.mean(lengths))})
            print(f"| {kind} | {name} | {100 * rows[-1]['terminated']:.0f}% | "
                  f"{rows[-1]['mean_length']:.1f} |", flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "horizon": HORIZON,
                                          "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
