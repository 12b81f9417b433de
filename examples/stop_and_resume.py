"""Stop a run with SIGTERM, resume it, and check it ends where an uninterrupted run ends.

The training loop checkpoints at the next iteration boundary when it gets SIGINT or
SIGTERM (exit status 128 + signal); ``metajax train --resume RUN_DIR`` continues with the
same per-iteration keys, so the final params are bit-for-bit those of a run never stopped.

    python examples/stop_and_resume.py [--iterations 200]
"""

import argparse
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


def metajax(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "metajax", "train", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def final_params(run_dir: Path):
    config = load_config(run_dir / "config.json")
    template = build_algorithm(config).init(jax.random.key(0))
    return checkpoint.restore_latest(run_dir / "checkpoints", template)


def main(iterations: int = 200) -> bool:
    runs = Path(tempfile.mkdtemp())
    common = [f"runs_dir={runs}", f"num_iterations={iterations}", "checkpoint_every=10000",
              *SMALL]
    proc = metajax("run_name=stopped", *common)
    for line in proc.stdout:
        if line.startswith("iteration"):  # training has started: stop it
            proc.send_signal(signal.SIGTERM)
            break
    proc.communicate()
    print(f"stopped with status {proc.returncode} at checkpoint "
          f"{final_params(runs / 'stopped')[1]} of {iterations}")
    for args in (["--resume", str(runs / "stopped")], ["run_name=straight", *common]):
        subprocess.run([sys.executable, "-m", "metajax", "train", *args], check=True,
                       capture_output=True, env=dict(os.environ))
    (resumed, _), (straight, _) = final_params(runs / "stopped"), final_params(runs / "straight")
    same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(resumed),
                                                     jax.tree.leaves(straight)))
    print(f"resumed run equals the uninterrupted run: {same}")
    return same


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    main(parser.parse_args().iterations)
