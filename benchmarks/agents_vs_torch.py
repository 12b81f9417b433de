"""DQN and PPO on CartPole-v1: metajax against faithful single-file PyTorch versions
(``benchmarks/torch_baselines/``, CleanRL style, same hyperparameters, same env spec), side by
side in one run.

For each learner: wall time to the same number of environment steps for one seed (metajax's
compile time apart; PyTorch eager, and ``torch.compile`` of the update with ``--compile``),
16 seeds in one vmapped metajax run against one, the greedy return over 100 episodes after
training, and the environment steps to solve (first evaluation, every ``--eval-every`` steps,
where the greedy policy averages >= 475 over 100 episodes, and the first from which it stays
there; evaluation time excluded).

    python benchmarks/agents_vs_torch.py [--learners ppo dqn] [--steps 500000] [--compile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import gymnax
import jax
import numpy as np

from metajax.algorithms import dqn, ppo
from metajax.algorithms.agent_runs import SingleTaskRun
from metajax.plotting import plt
from torch_baselines import dqn as torch_dqn  # benchmarks/ is this script's import root
from torch_baselines import ppo as torch_ppo

HERE = Path(__file__).parent
SOLVED = 475.0
LEARNERS = {  # metajax module and config class, PyTorch module
    "ppo": (ppo, ppo.PPOConfig, torch_ppo),
    "dqn": (dqn, dqn.DQNConfig, torch_dqn),
}


def first_solved(curve: list[tuple[int, float]]) -> int | None:
    """The first evaluation's step count at which the greedy return reached ``SOLVED``."""
    return next((steps for steps, ret in curve if ret >= SOLVED), None)


def solved_for_good(curve: list[tuple[int, float]]) -> int | None:
    """The step count from which every later evaluation stays at ``SOLVED`` or above."""
    for i, (steps, _) in enumerate(curve):
        if all(ret >= SOLVED for _, ret in curve[i:]):
            return steps
    return None


def metajax_runs(name: str, steps: int, seeds: int, repeats: int, eval_every: int) -> dict:
    module, config_cls, _ = LEARNERS[name]
    env, _ = gymnax.make("CartPole-v1")
    config = config_cls(total_steps=steps)
    learner = module.make_learner(config, env)
    train = module.make_train(config, env)
    key = jax.random.key(0)

    start = time.perf_counter()
    one = jax.jit(train).lower(key).compile()
    compile_one = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        state, _ = jax.block_until_ready(one(key))
        times.append(time.perf_counter() - start)
    greedy = float(learner.evaluate(state.params, jax.random.key(1), 100).mean())

    keys = jax.random.split(key, seeds)
    start = time.perf_counter()
    many = jax.jit(jax.vmap(train)).lower(keys).compile()
    compile_many = time.perf_counter() - start
    start = time.perf_counter()
    states, _ = jax.block_until_ready(many(keys))
    many_seconds = time.perf_counter() - start
    per_seed = np.asarray(jax.vmap(learner.evaluate, (0, 0, None))(
        states.params, jax.random.split(jax.random.key(1), seeds), 100).mean(1))

    run = SingleTaskRun(learner, learner.num_updates * learner.steps_per_update // eval_every,
                        eval_episodes=100)
    chunk_state, step, curve = run.init(key), jax.jit(run.step), []
    for i in range(run.learner.num_updates // run.chunk):
        chunk_state, metrics = step(chunk_state, jax.random.key(1000 + i))
        curve.append((int(metrics["env_steps"]), float(metrics["greedy_return"])))
    return {"compile_seconds": compile_one, "seconds": statistics.median(times),
            "seconds_all": times, "greedy_return": greedy, "seeds": seeds,
            "seeds_compile_seconds": compile_many, "seeds_seconds": many_seconds,
            "seeds_greedy_returns": per_seed.tolist(),
            "seeds_solved": int(np.sum(per_seed >= SOLVED)),
            "curve": curve, "steps_to_solve": first_solved(curve),
            "steps_to_stay_solved": solved_for_good(curve)}


def torch_run(name: str, steps: int, compile: bool, eval_every: int) -> dict:
    module = LEARNERS[name][2]
    curve, eval_seconds = [], [0.0]

    def on_step(env_steps: int, model) -> None:
        if env_steps % eval_every == 0:
            start = time.perf_counter()
            curve.append((env_steps, module.greedy_return(model, 100, seed=1 + env_steps)))
            eval_seconds[0] += time.perf_counter() - start

    start = time.perf_counter()
    model, _ = module.train(module.Config(total_steps=steps), 0, compile, on_step)
    seconds = time.perf_counter() - start - eval_seconds[0]
    return {"seconds": seconds, "greedy_return": module.greedy_return(model, 100),
            "curve": curve, "steps_to_solve": first_solved(curve),
            "steps_to_stay_solved": solved_for_good(curve), "compiled": compile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS))
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="metajax one-seed timings")
    parser.add_argument("--eval-every", type=int, default=10_240,
                        help="env steps between greedy evaluations (a multiple of both "
                             "learners' steps per update: 512 for PPO, 10 for DQN)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--out", default=str(HERE / "results" / "agents_vs_torch.json"))
    args = parser.parse_args()

    results = {}
    for name in args.learners:
        r = {"metajax": metajax_runs(name, args.steps, args.seeds, args.repeats,
                                     args.eval_every),
             "torch": torch_run(name, args.steps, False, args.eval_every)}
        if args.compile:
            r["torch_compile"] = torch_run(name, args.steps, True, args.eval_every)
        results[name] = r
        m = r["metajax"]
        print(f"{name}: metajax {m['seconds']:.1f} s (+{m['compile_seconds']:.1f} s compile), "
              f"{args.seeds} seeds {m['seeds_seconds']:.1f} s, greedy {m['greedy_return']:.1f}, "
              f"solved at {m['steps_to_solve']}")
        for variant in ("torch", "torch_compile"):
            if variant in r:
                t = r[variant]
                print(f"{name}: {variant} {t['seconds']:.1f} s "
                      f"({t['seconds'] / m['seconds']:.1f}x metajax), greedy "
                      f"{t['greedy_return']:.1f}, solved at {t['steps_to_solve']}", flush=True)

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for variant, label in (("metajax", "metajax"), ("torch", "PyTorch"),
                               ("torch_compile", "PyTorch + torch.compile")):
            if variant in r:
                xs, ys = zip(*r[variant]["curve"])
                ax.plot(xs, ys, label=f"{label} ({r[variant]['seconds']:.0f} s)")
        ax.axhline(SOLVED, color="grey", ls=":", lw=1)
        ax.set(xlabel="environment steps", ylabel="greedy return (100 episodes)",
               title=f"{name.upper()} on CartPole-v1, one seed")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "agents_vs_torch.png", dpi=110)
    Path(args.out).write_text(json.dumps({"steps": args.steps, "eval_every": args.eval_every,
                                          "machine": machine(), "results": results}, indent=1))


def machine() -> dict:
    import os
    import platform

    import torch

    return {"platform": platform.platform(), "cpu_count": os.cpu_count(),
            "device": str(jax.devices()[0]), "jax": jax.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


if __name__ == "__main__":
    main()
