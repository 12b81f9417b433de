"""RL^2 (Duan et al. 2016) Tables 1 and 2 rows: RL^2 trained here with PPO, every classic
baseline on the same 1000 held-out tasks, and the published values beside them; then MAML
against RL^2 on the same bandit and MDP tasks.

Rows: bandits ``bK-nN`` (K arms, N one-pull episodes per trial; Table 1) and tabular MDPs
``mdp-nN`` (N episodes of 10 steps; Table 2). Each row trains one RL^2 learner (one seed) for
its update budget, in chunks of one jitted ``lax.scan`` so progress shows, and records the
training wall time (compile time apart). Totals are summed over the trial, averaged over
1000 tasks drawn from a held-out seed, with the 95% interval of the mean.

    python benchmarks/rl2_paper.py [--rows b5-n10 b10-n10 b5-n100 mdp-n10 mdp-n25]
                                   [--updates N] [--maml [--maml-algos maml promp]]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import metajax
from metajax.algorithms.rl2 import RL2, RL2Config, make_rl2_policy
from metajax.classic import evaluate_bandit_agents, evaluate_mdp_agents
from metajax.config import build_algorithm, load_config
from metajax.envs.trials import Trials
from metajax.meta_learner import MetaTestPlan

HERE = Path(__file__).parent
# Duan et al. 2016, Table 1 (bandits: random, Gittins, TS, OTS, UCB1, eps-greedy, greedy,
# RL^2) and Table 2 (MDPs: random, PSRL, OPSRL, UCRL2, BEB, eps-greedy, greedy, RL^2)
PUBLISHED = {
    "b5-n10": {"random": 5.0, "gittins": 6.6, "ts": 5.7, "ots": 6.5, "ucb1": 6.7,
               "epsilon_greedy": 6.6, "greedy": 6.6, "rl2": 6.7},
    "b10-n10": {"random": 5.0, "gittins": 6.6, "ts": 5.5, "ots": 6.2, "ucb1": 6.7,
                "epsilon_greedy": 6.6, "greedy": 6.6, "rl2": 6.7},
    "b5-n100": {"random": 49.9, "gittins": 78.3, "ts": 74.7, "ots": 77.9, "ucb1": 78.0,
                "epsilon_greedy": 75.4, "greedy": 74.8, "rl2": 78.7},
    "mdp-n10": {"random": 100.1, "psrl": 138.1, "rl2": 156.2},
    "mdp-n25": {"random": 250.2, "psrl": 408.8, "rl2": 445.7},
}
# The value design of the reimplementation that reproduces Table 2 (lucaslingle/pytorch_rl2):
# a separate critic GRU, layer-normalised GRUs fed the raw inputs, an unclipped Huber value
# loss, no gradient clipping, no advantage standardisation, PPO clip 0.1; and large batches
# of trials (it uses 2,400 trials of 100 steps per update; these rows 1,024 or 512).
SEPARATE_CRITIC = dict(separate_critic=True, layer_norm=True, embed_size=0, value_loss="huber",
                       max_grad_norm=0.0, normalize_advantages=False, clip_eps=0.1,
                       anneal_lr=False, update_epochs=2, num_minibatches=16)
# per row: updates and RL2Config overrides (bandits with 10 pulls: 2 min with the shared
# torso, which meets the paper; the rest sized to 15-30 minutes on a 2-core CPU)
ROWS = {
    "b5-n10": dict(updates=1500, num_envs=256),
    "b10-n10": dict(updates=1500, num_envs=256),
    "b5-n100": dict(updates=100, num_envs=1024, gamma=0.999, lr=3e-4, **SEPARATE_CRITIC),
    "mdp-n10": dict(updates=200, num_envs=1024, lr=3e-4, **SEPARATE_CRITIC),
    "mdp-n25": dict(updates=100, num_envs=512, lr=3e-4, **SEPARATE_CRITIC),
}
EVAL_SEED, NUM_EVAL_TASKS = 2016, 1000


def parse_row(row: str) -> tuple[metajax.TaskEnvironment, int]:
    kind, episodes = row.split("-n")
    base = metajax.TabularMDP() if kind == "mdp" else metajax.BernoulliBandit(int(kind[1:]))
    return base, int(episodes)


def summary(totals) -> dict:
    totals = np.asarray(totals, np.float64)
    half = 1.96 * totals.std(ddof=1) / np.sqrt(len(totals))
    return {"mean": float(totals.mean()), "ci95": float(half)}


def train_rl2(row: str, updates: int, **overrides):
    chunk = max(1, min(50, updates // 20))  # about 20 progress lines
    while updates % chunk:
        chunk -= 1
    base, episodes = parse_row(row)
    env = Trials(base, episodes)
    config = RL2Config(trial_episodes=episodes, **overrides)
    algo = RL2(env, make_rl2_policy(env, config), config, updates)
    state = algo.init(jax.random.key(0))
    run_chunk = jax.jit(lambda s, k, n: jax.lax.scan(algo.step, s, jax.random.split(k, n)),
                        static_argnums=2)
    start = time.perf_counter()
    run_chunk = run_chunk.lower(state, jax.random.key(0), chunk).compile()
    compile_seconds = time.perf_counter() - start
    curve, entropy, key, start = [], [], jax.random.key(1), time.perf_counter()
    for done in range(0, updates, chunk):
        key, chunk_key = jax.random.split(key)
        state, metrics = run_chunk(state, chunk_key)
        curve += np.asarray(metrics["trial_return"]).tolist()
        entropy += np.asarray(metrics["entropy"]).tolist()
        print(f"  {row}: update {done + chunk}/{updates}  trial return "
              f"{np.mean(curve[-chunk:]):.2f}  entropy {np.mean(entropy[-chunk:]):.2f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    seconds = time.perf_counter() - start
    return algo, state, {"config": {**overrides, "updates": updates}, "curve": curve,
                         "entropy": entropy, "train_seconds": seconds, "compile_seconds": compile_seconds}


def run_row(row: str, updates: int | None) -> dict:
    settings = dict(ROWS[row])
    updates = updates or settings.pop("updates")
    settings.pop("updates", None)
    algo, state, record = train_rl2(row, updates, **settings)
    base, episodes = parse_row(row)
    task_key, play_key = jax.random.split(jax.random.key(EVAL_SEED))
    tasks = base.sample_tasks(task_key, NUM_EVAL_TASKS)
    per_episode = np.asarray(jax.jit(algo.evaluate)(state.params, tasks, play_key))
    results = {"rl2": summary(per_episode.sum(1))}
    if isinstance(base, metajax.TabularMDP):
        baselines = evaluate_mdp_agents(episodes, NUM_EVAL_TASKS, play_key, base, tasks)
    else:
        baselines = evaluate_bandit_agents(base.num_arms, episodes, NUM_EVAL_TASKS, play_key,
                                           probs=tasks.probs)
    results |= {name: summary(totals) for name, totals in baselines.items()}
    return {"row": row, **record, "results": results,
            "rl2_per_episode": per_episode.mean(0).tolist(), "published": PUBLISHED[row]}


def maml_vs_rl2(row: str, rl2_row: dict, iterations: int, algo_name: str = "maml") -> dict:
    """A gradient-based meta-learner (MAML-TRPO, or ``algo_name`` such as ProMP) with the same
    experience budget: it samples the row's ``n`` episodes with the pre-update policy, takes
    one VPG step, and is scored per episode after it; RL^2's counterpart is the return of the
    trial's last episode."""
    base, episodes = parse_row(row)
    env_id = "TabularMDP-v0" if row.startswith("mdp") else f"BernoulliBandit-{base.num_arms}"
    config = load_config(None, [f"env={env_id}", f"algo={algo_name}", "maml.inner_lr=0.5",
                                "policy.hidden_sizes=[32]", f"maml.num_episodes={episodes}"])
    algo = build_algorithm(config)
    state = algo.init(jax.random.key(0))
    step = jax.jit(algo.step)
    start = time.perf_counter()
    for i in range(iterations):
        state, _ = step(state, jax.random.key(i + 1))
    seconds = time.perf_counter() - start
    task_key, play_key = jax.random.split(jax.random.key(EVAL_SEED))
    tasks = base.sample_tasks(task_key, NUM_EVAL_TASKS)
    pre, post = np.asarray(jax.jit(algo.meta_test)(
        state.meta_params, tasks, play_key, MetaTestPlan.constant(1, 0.5, episodes)).mean(0))
    optimal = float(np.mean(base.optimal_return(tasks)))
    return {"row": row, "algo": algo_name, "maml_iterations": iterations, "maml_seconds": seconds,
            "maml_pre": float(pre), "maml_post": float(post),
            "rl2_first": rl2_row["rl2_per_episode"][0], "rl2_last": rl2_row["rl2_per_episode"][-1],
            "optimal_per_episode": optimal}


def print_row(r: dict) -> None:
    print(f"\n{r['row']}: RL^2 trained {r['config']['updates']} updates in "
          f"{r['train_seconds']:.0f} s (+{r['compile_seconds']:.0f} s compile)")
    print(f"| agent | ours (95% CI) | published |\n|---|---|---|")
    for name, value in r["results"].items():
        published = r["published"].get(name, "")
        print(f"| {name} | {value['mean']:.2f} ± {value['ci95']:.2f} | {published} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--updates", type=int, default=None, help="override every row's budget")
    parser.add_argument("--maml", action="store_true", help="also MAML vs RL^2 on each row")
    parser.add_argument("--maml-iterations", type=int, default=300)
    parser.add_argument("--maml-algos", nargs="+", default=["maml", "promp"])
    parser.add_argument("--compare-only", action="store_true",
                        help="reuse the RL^2 rows already in --out; run only the comparisons")
    parser.add_argument("--out", default=str(HERE / "results" / "rl2_paper.json"))
    args = parser.parse_args()

    out = Path(args.out)
    data = json.loads(out.read_text()) if out.is_file() else {"rows": [], "maml_vs_rl2": []}
    for row in args.rows:
        if args.compare_only:
            record = next(r for r in data["rows"] if r["row"] == row)
        else:
            record = run_row(row, args.updates)
            print_row(record)
            data["rows"] = [r for r in data["rows"] if r["row"] != row] + [record]
            for comparison in data["maml_vs_rl2"]:  # RL^2's side of earlier comparisons
                if comparison["row"] == row:
                    comparison["rl2_first"] = record["rl2_per_episode"][0]
                    comparison["rl2_last"] = record["rl2_per_episode"][-1]
        if args.maml or args.compare_only:
            data["maml_vs_rl2"] = [c for c in data["maml_vs_rl2"] if c["row"] != row]
            for name in args.maml_algos:
                comparison = maml_vs_rl2(row, record, args.maml_iterations, name)
                print(f"{name} vs RL^2 on {row}: {comparison}")
                data["maml_vs_rl2"].append(comparison)
        data["machine"] = {"device": str(jax.devices()[0]), "jax": jax.__version__}
        tmp = out.with_suffix(".tmp")  # written after every row: a crash keeps earlier rows
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(out)


if __name__ == "__main__":
    main()
