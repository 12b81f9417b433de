"""Meta-RL on a MuJoCo locomotion task distribution (brax physics, MJX by default):
HalfCheetahDir, where each task is a direction to run in.

- ``--algo maml`` (default): MAML-TRPO with the task axis in chunks (``maml.task_chunk``: small
  per-call physics batches on a CPU); the post-adaptation return pulls away from the
  pre-adaptation one within about 20 iterations (about 5 minutes on 2 CPU cores).
- ``--algo promp``: ProMP, the same meta-batch with its clipped outer objective.
- ``--algo rl2``: RL^2, a GRU policy trained with PPO over trials of 2 episodes; it adapts in
  its memory, so "before" is a trial's first episode and "after" its second.

Each run then meta-tests on held-out tasks. Needs ``pip install 'metajax[brax]'``.

    python examples/locomotion.py [--iterations 20] [--env HalfCheetahVel-v0] [--algo promp]
        [--tasks 20]
"""

import argparse
import tempfile

from metajax.config import build_algorithm, load_config
from metajax.train import train

ALGOS = ("maml", "promp", "rl2")


def overrides(algo: str, tiny: bool, tasks: int) -> list[str]:
    """The run's size: CPU-sized (``tasks`` tasks per meta-batch), or tiny (seconds, for the
    test suite)."""
    if algo == "rl2":
        return (["env_kwargs={horizon: 10}", "rl2.num_envs=4", "rl2.hidden_size=8",
                 "rl2.embed_size=8", "rl2.num_minibatches=2", "meta_test.num_tasks=2"]
                if tiny else [f"rl2.num_envs={2 * tasks}", "rl2.lr=3e-4", "rl2.gae_lambda=0.95",
                              "rl2.ent_coef=0", "rl2.normalize_values=true",
                              "rl2.update_epochs=10", f"rl2.num_minibatches={2 * tasks // 5}",
                              "meta_test.num_tasks=10"]) + ["rl2.trial_episodes=2"]
    family = ["maml.outer=promp"] if algo == "promp" else []
    return family + (
        ["env_kwargs={horizon: 10}", "policy.hidden_sizes=[8]", "maml.num_tasks=4",
         "maml.task_chunk=2", "maml.num_episodes=2", "maml.cg_iters=2", "maml.ls_max_steps=2",
         "maml.promp_steps=2", "meta_test.num_tasks=2", "meta_test.num_episodes=2"]
        if tiny else
        [f"maml.num_tasks={tasks}", "maml.task_chunk=10", "maml.num_episodes=10",
         "meta_test.num_tasks=10", "meta_test.num_episodes=10"]) + ["meta_test.num_steps=1"]


def main(iterations: int = 20, env: str = "HalfCheetahDir-v0", algo: str = "maml",
         tasks: int = 20, tiny: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as runs:
        config = load_config(None, [
            f"env={env}", f"algo={algo}", f"num_iterations={iterations}", f"runs_dir={runs}",
            *overrides(algo, tiny, tasks)])
        result = train(config)
    # the learner's own curves before and after adapting (RL^2: a trial's first and last episode)
    before, after = build_algorithm(config).score_names
    tested = result.meta_test_returns  # mean over held-out tasks: before and after adapting
    return {"before": [r[before] for r in result.records],
            "after": [r[after] for r in result.records],
            "meta_test": [float(tested[0]), float(tested[-1])],
            "compile_seconds": result.compile_seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--env", default="HalfCheetahDir-v0")
    parser.add_argument("--algo", choices=ALGOS, default="maml")
    parser.add_argument("--tasks", type=int, default=20, help="a multiple of 10")
    parser.add_argument("--tiny", action="store_true")
    print(main(**vars(parser.parse_args())))
