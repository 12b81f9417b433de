"""MAML-TRPO's inner estimator on Bernoulli bandits: VPG against LVC (ProMP's low-variance
curvature estimator), several seeds each, the rest of the budget as in ``rl_family.py``.

VPG's inner loss gives the pre-update policy no credit for the exploration that makes the
update informative, so the pre-update policy can collapse onto one arm (the ProMP paper's
point); LVC keeps that credit. Every seed: 500 meta-iterations, 20 tasks x 20 one-pull
episodes, inner step 0.5, meta-test on 40 held-out tasks with one step.

    python benchmarks/bandit_estimators.py [--seeds 0 1 2 3] [--iterations 500]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rl_family import run

HERE = Path(__file__).parent
ENVS = ("BernoulliBandit-5", "BernoulliBandit-10")
ALGOS = {"maml": "MAML-VPG (maml)", "maml-lvc": "MAML-LVC (maml.estimator=lvc)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--out", default=str(HERE / "results" / "bandit_estimators.json"))
    args = parser.parse_args()
    rows = []
    for env_id in ENVS:
        for algo in ALGOS:
            runs = [run(env_id, algo, args.iterations, seed) for seed in args.seeds]
            post = np.array([r["post"] for r in runs])
            rows.append({"env": env_id, "algo": algo, "label": ALGOS[algo],
                         "seeds": args.seeds, "iterations": args.iterations,
                         "pre": [r["pre"] for r in runs], "post": post.tolist(),
                         "optimal": runs[0]["optimal"]})
            print(f"{env_id:18s} {algo:9s} post per seed {np.round(post, 2).tolist()}  "
                  f"mean {post.mean():.2f}  (optimal {runs[0]['optimal']:.2f})", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
