"""Stop a run with SIGTERM, resume it, and check it ends where an uninterrupted run ends.

The training loop checkpoints at the next iteration boundary when it gets SIGINT or
SIGTERM (exit status 128 + signal); ``metajax train --resume RUN_DIR`` continues with the
same per-iteration keys, so the final params are bit-for-bit those of a run never stopped.

    python examples/stop_and_resume.py [--iterations 200]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

from metajax import checkpoint
from metajax.config import build_algorithm, load_config

SMALL = ["policy.hidden_sizes=[16]", "maml.num_tasks=4", "maml.num_episodes=4",
         "env_kwargs={horizon: 20}", "meta_test.num_tasks=4", "meta_test.num_steps=1"]
TINY = ["policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2", "maml.cg_iters=2",
        "env_kwargs={horizon: 10}", "meta_test.num_tasks=2", "meta_test.num_steps=1",
        "meta_test.num_episodes=2"]


def metajax(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "metajax", "train", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, COLUMNS="200"))


def final_params(run_dir: Path):
    config = load_config(run_dir / "config.json")
    template = build_algorithm(config).init(jax.random.key(0))
    return checkpoint.restore_latest(run_dir / "checkpoints", template)


def main(iterations: int = 200, tiny: bool = False) -> dict:
    runs = Path(tempfile.mkdtemp())
    size = TINY if tiny else SMALL
    common = [f"runs_dir={runs}", f"num_iterations={iterations}", "checkpoint_every=10000",
              *size]
    proc = metajax("run_name=stopped", *common)
    for line in proc.stdout:
        if line.startswith("iteration"):  # training has started: stop it
            proc.send_signal(signal.SIGTERM)
            break
    output = proc.communicate()[0]
    stopped_at = final_params(runs / "stopped")[1]
    print(f"stopped with status {proc.returncode} at checkpoint {stopped_at} of {iterations}")
    for args in (["--resume", str(runs / "stopped")], ["run_name=straight", *common]):
        subprocess.run([sys.executable, "-m", "metajax", "train", *args], check=True,
                       capture_output=True, env=dict(os.environ))
    (resumed, _), (straight, _) = final_params(runs / "stopped"), final_params(runs / "straight")
    same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(resumed),
                                                     jax.tree.leaves(straight)))
    print(f"resumed run equals the uninterrupted run: {same}")
    logged = [json.loads(line)["iteration"] for line in
              (runs / "stopped" / "metrics.jsonl").read_text().splitlines()]
    return {"status": proc.returncode, "stopped_at": stopped_at, "same": same,
            "told_how_to_continue": "continue with: metajax train --resume" in output,
            "logged_iterations": logged}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    main(parser.parse_args().iterations)
