"""Command line: ``metajax train [--config FILE] [--algo A] [--env E] [key=value ...]`` and
``metajax evaluate RUN_DIR [key=value ...]`` (also ``python -m metajax``)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from metajax.config import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metajax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="meta-train, then meta-test; writes runs/<name>/")
    train.add_argument("--config", help="YAML or JSON config file (defaults: the demo run)")
    train.add_argument("--algo", help="shorthand for algo=ALGO (maml, rl2, dqn, ppo, a2c, ...)")
    train.add_argument("--env", help="shorthand for env=ENV (a task distribution or, for "
                                     "dqn/ppo/a2c, any gymnax id such as CartPole-v1)")
    train.add_argument("overrides", nargs="*", metavar="key=value",
                       help="dotted overrides, e.g. maml.inner_lr=0.5 num_iterations=20")
    evaluate = sub.add_parser("evaluate", help="meta-test a run's latest checkpoint")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("overrides", nargs="*", metavar="key=value",
                          help="meta-test protocol overrides, e.g. meta_test.num_steps=3")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            from metajax.config import load_config
            from metajax.train import train

            shorthands = [f"{name}={value}" for name, value in
                          (("algo", args.algo), ("env", args.env)) if value is not None]
            train(load_config(args.config, shorthands + list(args.overrides)))
        else:
            from metajax.evaluate import evaluate_run

            print(evaluate_run(args.run_dir, args.overrides).table)
    except ConfigError as err:
        print(f"metajax: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
