"""Fidelity: MAML-TRPO on Navigation2D with the MAML paper's configuration, meta-tested with
the paper's protocol, beside the published returns (Finn et al. 2017, 2D navigation).

Paper configuration (cbfinn/maml_rl): policy (100, 100) ReLU, 40 tasks per meta-batch,
20 trajectories per task, inner lr 0.5 with 1 step, linear feature baseline, TRPO max-KL 0.01,
100 meta-iterations. Test protocol: 40 fresh tasks, vanilla policy gradient with 4000 time
steps (40 trajectories) per step and step size 0.5, returns after 0..3 steps.

    python benchmarks/fidelity.py [--iterations 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from metajax.config import load_config
from metajax.evaluate import format_table
from metajax.train import train

PUBLISHED = [-40.4, -11.7, -3.3, -3.2]
CONFIG = Path(__file__).parent / "configs" / "maml_paper.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/fidelity.json")
    args = parser.parse_args()

    name = f"fidelity-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    config = load_config(CONFIG, [
        f"num_iterations={args.iterations}", f"seed={args.seed}", f"run_name={name}",
    ])
    result = train(config)
    returns = [float(r) for r in result.meta_test_returns]
    print("\nMAML paper protocol, 40 held-out tasks:")
    print(format_table(returns, PUBLISHED))
    after1 = abs(returns[1] - PUBLISHED[1]) / abs(PUBLISHED[1])
    print(f"after 1 step: {100 * after1:.1f}% from published; "
          f"after 2/3 steps at least as good: {returns[2] >= PUBLISHED[2]}/{returns[3] >= PUBLISHED[3]}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "config": config.to_dict(), "returns": returns, "published": PUBLISHED,
        "relative_gap_after_1_step": after1,
        "seconds_per_iteration": result.seconds_per_iteration,
        "compile_seconds": result.compile_seconds, "run_dir": str(result.run_dir),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
