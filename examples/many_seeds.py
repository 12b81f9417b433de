"""Several MAML meta-learners (one per seed) in one vmapped run through the training loop,
then their meta-test returns seed by seed. The same as ``metajax train --seeds 4 ...``.

    python examples/many_seeds.py [--seeds 4] [--iterations 20]
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from metajax.config import load_config
from metajax.train import train


def main(seeds: int = 4, iterations: int = 20, tiny: bool = False) -> np.ndarray:
    sizes = (["policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2",
              "env_kwargs={horizon: 10}", "meta_test.num_tasks=2", "meta_test.num_steps=1"]
             if tiny else ["maml.num_tasks=10", "maml.num_episodes=10"])
    runs = tempfile.mkdtemp()
    result = train(load_config(None, [f"seeds={seeds}", f"num_iterations={iterations}",
                                      f"runs_dir={runs}", "run_name=seeds", *sizes]))
    per_seed = np.asarray(json.loads((Path(result.run_dir) / "meta_test.json").read_text())
                          ["per_seed"])
    for s, returns in enumerate(per_seed):
        print(f"seed {s}: return after 0..{len(returns) - 1} adaptation steps "
              f"{np.round(returns, 2).tolist()}")
    return per_seed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    main(args.seeds, args.iterations)
