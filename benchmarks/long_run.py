"""Long-run fidelity: does MAML-TRPO keep improving over a whole reference run?

Trains a configuration (default: the pytorch-maml-rl reference, `configs/reference.yaml`) for
its full length under each loss weighting (``maml.loss_weighting``: per episode, as
pytorch-maml-rl; per step, the textbook estimator) and several seeds, and meta-tests the
params on held-out tasks at fixed iterations (default 40, 100, 270, 500): the mean return
before and after one adaptation step (the training's own inner step size and episodes per
task unless the config's ``meta_test`` sets them), with its standard error over tasks.

Checks two targets per run: the post-adaptation return at 270 iterations is at least the
peer's (pytorch-maml-rl: -12.9 +- 0.4 on 400 tasks), and no meta-test after 100 iterations
is worse than the best earlier one by more than 2 standard errors (the curve keeps
improving). Results go to JSON after every run (``--resume`` skips the runs already there),
with the learning curves plotted beside it.

A run longer than a session can stop and go on: with ``--checkpoints DIR`` each run saves a
verified checkpoint (``metajax.checkpoint``) of its state and PRNG key every
``--checkpoint-every`` iterations, with its curve and meta-tests so far, and the same command
run again continues from the newest checkpoint that verifies. The key chain is saved with
the state, so a continued run gives the same numbers as one that never stopped.

    python benchmarks/long_run.py [--config benchmarks/configs/reference.yaml] \
        [--iterations 500] [--seeds 0 1] [--weightings episode step] [--test-tasks 400] \
        [--checkpoints DIR [--checkpoint-every 10]]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from metajax import checkpoint
from metajax.config import build_algorithm, load_config
from metajax.evaluate import gain_standard_error, standard_error
from metajax.meta_learner import MetaTestPlan

HERE = Path(__file__).parent
# pytorch-maml-rl on the reference configuration, its own test on 400 tasks (issue 20)
PEER = {"name": "pytorch-maml-rl", "post": {40: -16.8, 270: -12.9}, "post_se": {270: 0.4}}
TEST_SEED = 1_000_003  # the held-out task seed of metajax's meta-test
# flags left out of the recorded command: they do not change a run's numbers
SAME_NUMBERS = ("resume", "checkpoints", "checkpoint_every")


def peer_returns(peer: dict | None) -> dict[int, float]:
    """The peer's meta-test returns by iteration (JSON turns the keys into strings)."""
    return {int(i): value for i, value in (peer or {}).get("post", {}).items()}


def protocol(config) -> tuple[int, float]:
    """Episodes per adaptation step and the first step's size in the run's meta-test
    protocol (the training's inner loop's unless the config's ``meta_test`` sets them)."""
    test = config.meta_test_protocol()
    return test.num_episodes, test.step_sizes[0] if test.step_sizes else test.lr


class RunCheckpoints:
    """One run's checkpoints under ``directory``: the state and PRNG key (verified by
    ``metajax.checkpoint``, tied to the config's fingerprint) and, beside them, its curve,
    meta-tests and timings so far (``progress.json``, written before each checkpoint, so the
    newest checkpoint that verifies always has its records)."""

    def __init__(self, directory: Path, fingerprint: str):
        self.directory, self.fingerprint = directory, fingerprint
        self.progress = directory.parent / f"{directory.name}.progress.json"
        self._manager = None

    def restore(self, state, key) -> tuple[object, jax.Array, dict, int] | None:
        """The newest verified (state, key, records, iteration), restored into the structure
        of ``state`` and ``key``; None when nothing is saved yet."""
        if not checkpoint.saved_steps(self.directory):
            return None
        template = {"state": state, "key": jax.random.key_data(key)}
        saved, done, rejected = checkpoint.restore_verified(self.directory, template,
                                                            self.fingerprint)
        for reason in rejected:
            print(f"  skipped a checkpoint that did not verify: {reason}", flush=True)
        records = json.loads(self.progress.read_text())
        records = {"curve": records["curve"][:done],
                   "tests": [t for t in records["tests"] if t["iteration"] <= done],
                   "seconds": records["seconds"][:done],
                   "resumed_at": records["resumed_at"] + [done]}
        print(f"  continuing from the checkpoint at iteration {done}", flush=True)
        return saved["state"], jax.random.wrap_key_data(saved["key"]), records, done

    def save(self, iteration: int, state, key, records: dict) -> None:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.progress.with_suffix(".tmp")  # plain JSON: a NaN return must read back
        tmp.write_text(json.dumps(records))
        tmp.replace(self.progress)
        if self._manager is None:
            self._manager = checkpoint.manager(self.directory, max_to_keep=2)
        checkpoint.save(self._manager, iteration,
                        {"state": state, "key": jax.random.key_data(key)}, self.fingerprint)


def run_one(config_path: str, overrides: list[str], weighting: str, seed: int,
            iterations: int, test_at: list[int], test_tasks: int,
            checkpoints: Path | None = None, checkpoint_every: int = 10,
            on_test: Callable[[dict], None] | None = None) -> dict:
    """Trains one seed under one weighting; meta-tests at ``test_at``; with ``checkpoints``,
    saves every ``checkpoint_every`` iterations and continues from the newest saved.
    ``on_test`` gets the run's record so far (``complete`` false) after each meta-test."""
    config = load_config(config_path, overrides + [
        f"maml.loss_weighting={weighting}", f"seed={seed}", f"num_iterations={iterations}"])
    algo = build_algorithm(config)
    episodes, lr = protocol(config)
    tasks = algo.env.sample_tasks(jax.random.key(TEST_SEED), test_tasks)
    plan = MetaTestPlan.constant(1, lr, episodes)
    test = jax.jit(lambda meta, key: algo.meta_test(meta, tasks, key, plan))
    step = jax.jit(algo.step)
    init_key, key = jax.random.split(jax.random.key(seed))
    state = algo.init(init_key)
    saver = None if checkpoints is None else RunCheckpoints(
        checkpoints / f"{weighting}-seed{seed}", config.state_fingerprint())
    records = {"curve": [], "tests": [], "seconds": [], "resumed_at": []}
    done = 0
    if saver is not None and (saved := saver.restore(state, key)) is not None:
        state, key, records, done = saved
    curve, tests, seconds = records["curve"], records["tests"], records["seconds"]

    def record() -> dict:
        return {"weighting": weighting, "seed": seed, "iterations": iterations,
                "complete": len(curve) >= iterations, "curve": list(curve),
                "tests": list(tests),
                **({"resumed_at": records["resumed_at"]} if records["resumed_at"] else {}),
                "compile_and_first_s": seconds[0],
                "seconds_per_iteration": float(np.median(seconds[1:]))
                if len(seconds) > 1 else None,
                "protocol": {"tasks": test_tasks, "steps": 1, "episodes": episodes, "lr": lr,
                             "task_seed": TEST_SEED}}

    for i in range(done + 1, iterations + 1):
        key, step_key = jax.random.split(key)
        start = time.perf_counter()
        state, metrics = step(state, step_key)
        metrics = jax.device_get(metrics)
        seconds.append(time.perf_counter() - start)
        curve.append({"pre": float(metrics["pre_return"]),
                      "post": float(metrics["post_return"])})
        if i in test_at:
            returns = np.asarray(test(state.meta_params, jax.random.key(TEST_SEED + 1)))
            se = standard_error(returns[None])
            tests.append({"iteration": i, "pre": float(returns[:, 0].mean()),
                          "pre_se": float(se[0]), "post": float(returns[:, 1].mean()),
                          "post_se": float(se[1]),
                          "gain_se": float(gain_standard_error(returns[None])[1])})
            print(f"  {weighting} seed {seed} it {i}: pre {tests[-1]['pre']:.2f} "
                  f"post {tests[-1]['post']:.2f} +- {tests[-1]['post_se']:.2f}", flush=True)
            if on_test is not None and i < iterations:
                on_test(record())
        elif i % 50 == 0:
            print(f"  {weighting} seed {seed} it {i}: training post {curve[-1]['post']:.2f}",
                  flush=True)
        if saver is not None and (i % checkpoint_every == 0 or i == iterations):
            saver.save(i, state, key, records)
    return record()


def verdict(run: dict, target: float | None, target_at: int = 270) -> dict:
    """The two targets for one run: the return at ``target_at`` against the peer's, and no
    meta-test after 100 iterations worse than the best earlier one by > 2 s.e."""
    tests = run["tests"]
    drops = []
    for k, t in enumerate(tests):
        best = max((e for e in tests[:k]), key=lambda e: e["post"], default=None)
        if t["iteration"] > 100 and best is not None:
            margin = 2 * np.hypot(t["post_se"], best["post_se"])
            if t["post"] < best["post"] - margin:
                drops.append({"iteration": t["iteration"], "post": t["post"],
                              "best_earlier": best["post"], "at": best["iteration"]})
    at = next((t for t in tests if t["iteration"] == target_at), None)
    meets = None if at is None or target is None else at["post"] >= target
    return {"keeps_improving": not drops, "drops": drops, "meets_peer_at_270": meets}


def table(runs: list[dict], peer: dict | None) -> str:
    """Markdown: one row per run, the post-adaptation return at each meta-test (and the
    peer's, where it has one)."""
    iterations = sorted({t["iteration"] for r in runs for t in r["tests"]})
    head = "| weighting | seed | " + " | ".join(f"{i} it." for i in iterations)
    rows = [head + " | keeps improving | s/it (shared machine) |",
            "|---" * (len(iterations) + 4) + "|"]
    for r in runs:
        by_it = {t["iteration"]: t for t in r["tests"]}
        cells = [f"{by_it[i]['post']:.2f} +- {by_it[i]['post_se']:.2f}" if i in by_it else "-"
                 for i in iterations]
        v = verdict(r, peer_returns(peer).get(270))
        rows.append(f"| {r['weighting']} | {r['seed']} | " + " | ".join(cells)
                    + f" | {'yes' if v['keeps_improving'] else 'no'} | "
                    + f"{r['seconds_per_iteration']:.3f} |")
    if peer:
        cells = [f"{peer_returns(peer)[i]:.1f}" if i in peer_returns(peer) else ""
                 for i in iterations]
        rows.append(f"| {peer['name']} | - | " + " | ".join(cells) + " | | |")
    return "\n".join(rows)


def plot(runs: list[dict], peer: dict | None, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors = {"episode": "tab:blue", "step": "tab:red"}
    late = []
    for r in runs:
        post = np.array([c["post"] for c in r["curve"]])
        window = min(10, len(post))  # a running median: a rare blown-up episode stays out
        smooth = np.median(np.lib.stride_tricks.sliding_window_view(post, window), axis=1)
        late += list(smooth[20:])
        ax.plot(np.arange(window, len(post) + 1), smooth, color=colors.get(r["weighting"]),
                alpha=0.35 + 0.3 * (r["seed"] % 2),
                label=f"{r['weighting']}, seed {r['seed']} (training, 10-it. median)")
        its = [t["iteration"] for t in r["tests"]]
        ax.errorbar(its, [t["post"] for t in r["tests"]], [t["post_se"] for t in r["tests"]],
                    fmt="o", color=colors.get(r["weighting"]), capsize=3)
    for i, value in peer_returns(peer).items():
        ax.plot(i, value, "k*", markersize=11,
                label=f"{peer['name']} (meta-test)" if i == 270 else None)
    if late:  # leave out the first iterations' climb from about -90, to show the drift
        ax.set_ylim(bottom=min(late) - 3)
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("post-adaptation return")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(HERE / "configs" / "reference.yaml"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. algo=promp")
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--weightings", nargs="+", default=["episode", "step"],
                        choices=["episode", "step"])
    parser.add_argument("--test-at", type=int, nargs="+", default=[40, 100, 270, 500])
    parser.add_argument("--test-tasks", type=int, default=400)
    parser.add_argument("--out", default=str(HERE / "results" / "long_run_reference.json"))
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in --out and run only the missing ones")
    parser.add_argument("--checkpoints", default=None, metavar="DIR",
                        help="checkpoint each run here and continue from what is there")
    parser.add_argument("--checkpoint-every", type=int, default=10)
    args = parser.parse_args()
    if args.checkpoint_every < 1:
        parser.error("--checkpoint-every must be a positive number of iterations")
    if any(i < 1 or i > args.iterations for i in args.test_at):
        parser.error(f"--test-at iterations must lie in 1..{args.iterations}")
    if args.test_tasks < 2:
        parser.error("--test-tasks must be at least 2 (standard errors)")
    load_config(args.config, args.set)  # a bad file or value fails here, before compiling
    # the peer's figures are for the reference configuration as it is
    peer = PEER if Path(args.config).name == "reference.yaml" and not args.set else None

    out = Path(args.out)
    previous = json.loads(out.read_text()) if args.resume and out.is_file() else {}
    # a run stopped part-way is done again (from its checkpoint, with --checkpoints)
    runs = [r for r in previous.get("runs", []) if r.get("complete", True)]
    done = {(r["weighting"], r["seed"]) for r in runs}
    command = "python benchmarks/long_run.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items() if k not in SAME_NUMBERS and v != []
    ).replace(str(HERE.parent) + "/", "")
    # every invocation that wrote runs into this file (--resume adds to it)
    commands = [c.replace(str(HERE.parent) + "/", "") for c in previous.get(
        "commands", [previous["command"]] if "command" in previous else [])]

    def write(running: dict | None = None) -> None:
        """After every run and meta-test (``running``: the run so far), so a stopped
        benchmark keeps what it measured."""
        shown = runs + [running] * (running is not None)
        result = {"commands": commands, "config": args.config, "device": str(jax.devices()[0]),
                  "overrides": args.set, "peer": peer, "runs": shown,
                  "verdicts": [dict(weighting=r["weighting"], seed=r["seed"],
                                    **verdict(r, peer_returns(peer).get(270))) for r in shown]}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(out)

    for weighting in args.weightings:
        for seed in args.seeds:
            if (weighting, seed) in done:
                continue
            print(f"{weighting} weighting, seed {seed}: {args.iterations} iterations", flush=True)
            commands += [command] if command not in commands else []
            runs.append(run_one(args.config, args.set, weighting, seed, args.iterations,
                                sorted(args.test_at), args.test_tasks,
                                args.checkpoints and Path(args.checkpoints),
                                args.checkpoint_every, on_test=write))
            write()
    if done:
        write()  # --resume: the verdicts of this version, also for the runs kept
    print(table(runs, peer))
    plot(runs, peer, out.with_suffix(".png"), f"{Path(args.config).stem}: post-adaptation return")
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    jnp.zeros(())  # start the backend before timing
    main()
