"""A hyperparameter sweep in one compiled program: MAML-TRPO on 5-armed bandits at three inner
step sizes, trained side by side by one vmapped step; then each point's meta-test.

    python examples/sweep.py [--iterations 30]
"""

import argparse
import tempfile

from metajax.config import load_config
from metajax.train import train


def main(iterations: int = 30, small: bool = False) -> dict:
    size = ["maml.num_tasks=4", "maml.num_episodes=4", "policy.hidden_sizes=[8]",
            "meta_test.num_tasks=4"] if small else []
    with tempfile.TemporaryDirectory() as runs:
        result = train(load_config(None, [
            "algo=maml", "env=BernoulliBandit-5", f"num_iterations={iterations}",
            "sweep.maml.inner_lr=[0.1,0.5,1.0]", "meta_test.num_steps=1", f"runs_dir={runs}",
            *size]))
    # the meta-test of each point (pre- and post-adaptation), as printed above
    per_point = [record["per_member"]["post_return"] for record in result.records[-1:]][0]
    return {"inner_lr": [0.1, 0.5, 1.0], "last_post_return": per_point,
            "compile_seconds": result.compile_seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=30)
    print(main(**vars(parser.parse_args())))
