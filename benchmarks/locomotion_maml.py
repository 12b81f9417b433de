"""A meta-learner on a brax locomotion task distribution, CPU-sized: MAML-TRPO, another of the
MAML family (``--set algo=promp maml.outer=promp``) or RL^2 (``--config
benchmarks/configs/halfcheetah_dir_rl2.yaml``). Records the return before and after adapting
over meta-training (MAML family: pre- and post-adaptation; RL^2: a trial's first and last
episode), a meta-test on held-out tasks and, for the MAML family, where a meta-iteration's time
goes (sampling the meta-batch, i.e. physics plus policy, against the whole step), and every
other numeric metric the learner logs per iteration (``metrics``: ProMP's KLs and clip
fraction, TRPO's step). Writes ``results/locomotion_<env>[_<algo>][_<tag>].json`` and a plot.

    python benchmarks/locomotion_maml.py [--env HalfCheetahDir-v0] [--tasks 20]
        [--episodes 10] [--iterations 100] [--chunk 10] [--config FILE] [--set KEY=VALUE ...]
        [--tag NAME]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax

from metajax.config import build_algorithm, load_config
from metajax.train import train

HERE = Path(__file__).parent
MAML_CURVE = ("pre_return", "post_return")  # for results files written before "curve"


def time_split(config, repeats: int = 3) -> dict:
    """Seconds of one compiled meta-batch sample and of one compiled step (median)."""
    algo = build_algorithm(config)
    state = algo.init(jax.random.key(0))
    sample = jax.jit(algo.sample_meta_batch).lower(state.meta_params, jax.random.key(1)).compile()
    step = jax.jit(algo.step).lower(state, jax.random.key(1)).compile()
    out = {}
    for name, fn, args in (("sample", sample, (state.meta_params,)), ("step", step, (state,))):
        times = []
        for i in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args, jax.random.key(i)))
            times.append(time.perf_counter() - start)
        out[f"{name}_seconds"] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="HalfCheetahDir-v0")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--backend", default="mjx")
    parser.add_argument("--config", default=None, help="a config file (RL^2: its own)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more config overrides, e.g. algo=promp maml.outer=promp")
    parser.add_argument("--tag", default="", help="a suffix for the results' file names")
    args = parser.parse_args()
    common = [f"env={args.env}", f"env_kwargs={{backend: {args.backend}}}",
              f"num_iterations={args.iterations}", f"checkpoint_every={args.iterations}",
              "meta_test.num_tasks=40"]
    algo = load_config(args.config, common + args.set).algo
    size = ([f"rl2.num_envs={args.tasks}"] if algo == "rl2" else [
        f"maml.num_tasks={args.tasks}", f"maml.num_episodes={args.episodes}",
        f"maml.task_chunk={args.chunk}", "meta_test.num_steps=1",
        f"meta_test.num_episodes={args.episodes}"])
    overrides = common + size + args.set
    config = load_config(args.config, overrides)
    split = time_split(config) if algo != "rl2" else {}
    print(split, flush=True)
    with tempfile.TemporaryDirectory() as runs:
        result = train(load_config(args.config, overrides + [f"runs_dir={runs}", "run_name=run"]))
        tested = json.loads((result.run_dir / "meta_test.json").read_text())
    before, after = build_algorithm(config).score_names  # the learner's own two curves
    steps = (args.tasks * config.rl2.trial_episodes * 100 if algo == "rl2"  # one trial each
             else args.tasks * args.episodes * 100 * 2)  # pre- and post-adaptation episodes
    data = {
        "env": args.env, "algo": config.algo, "backend": args.backend,
        "device": str(jax.devices()[0]),
        "machine": platform.processor() or platform.machine(), "jax": jax.__version__,
        "command": " ".join(["python", "benchmarks/locomotion_maml.py", *sys.argv[1:]]),
        "args": vars(args), "overrides": overrides, "curve": [before, after],
        "pre_return": [r[before] for r in result.records],
        "post_return": [r[after] for r in result.records],
        "metrics": {k: [float(r[k]) for r in result.records] for k in result.records[0]
                    if k not in (before, after) and isinstance(result.records[0][k], (int, float))},
        "meta_test_pre": tested["returns"][0], "meta_test_post": tested["returns"][-1],
        "meta_test_se": [tested["standard_errors"][0], tested["standard_errors"][-1]],
        "meta_test_gain_se": tested["gain_standard_errors"][-1],  # paired over tasks
        "compile_seconds": result.compile_seconds,
        "seconds_per_iteration": result.seconds_per_iteration, **split,
        "env_steps_per_iteration": steps,
    }
    name = (args.env.split("-")[0].lower() + ("" if config.algo == "maml" else f"_{config.algo}")
            + (f"_{args.tag}" if args.tag else ""))
    out = HERE / "results" / f"locomotion_{name}.json"
    data["plot"] = f"results/{out.with_suffix('.png').name}"
    out.write_text(json.dumps(data, indent=1))
    plot(data, out.with_suffix(".png"))
    print(json.dumps({k: v for k, v in data.items() if not isinstance(v, list)}, indent=1))
    print(f"wrote {out}")


def plot(data: dict, path: Path) -> None:
    """The two curves over meta-training; the y range leaves out the rare physics blow-ups
    (returns of 1e4 and more), which are counted in the title instead."""
    import matplotlib
    import numpy as np
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before, after = data.get("curve", MAML_CURVE)
    curves = np.array([data["pre_return"], data["post_return"]])
    blown = int(np.sum(np.abs(curves) > 1e4))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(curves[0], label=before.replace("_", " "))
    ax.plot(curves[1], label=after.replace("_", " "))
    if blown:
        sane = curves[np.abs(curves) <= 1e4]
        ax.set_ylim(sane.min() - 10, sane.max() + 10)
    ax.set(xlabel="meta-iteration", ylabel="mean return (100 steps)",
           title=f"{data.get('algo', 'maml')} on {data['env']}"
           + (f" ({data['backend']} physics)" if data.get("backend", "mjx") != "mjx" else "")
           + (f" ({blown} blown-up points off the chart)" if blown else ""))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
