"""Command line: ``metajax train [--config FILE] [--algo A] [--env E] [--seeds N] [key=value
...]``, ``metajax train --resume RUN_DIR`` and
``metajax evaluate RUN_DIR [--step N] [key=value ...]`` (also ``python -m metajax``)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from typing import Iterator, Sequence


class Stopped(BaseException):
    """SIGINT or SIGTERM outside the training loop (set-up, compile, meta-test): a
    BaseException, so no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Stopped` within the block (the training loop defers
    them to an iteration boundary with its own handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Stopped(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _one_line(err: BaseException) -> str:
    return "; ".join([str(err), *getattr(err, "__notes__", [])])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metajax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="meta-train, then meta-test; writes runs/<name>/")
    train.add_argument("--config", help="YAML or JSON config file (defaults: the demo run)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue this run from its latest checkpoint (its own config)")
    train.add_argument("--algo", help="shorthand for algo=ALGO (maml, rl2, dqn, ppo, a2c, ...)")
    train.add_argument("--env", help="shorthand for env=ENV (a task distribution or, for "
                                     "dqn/ppo/a2c, any gymnax id such as CartPole-v1)")
    train.add_argument("--seeds", type=int,
                       help="shorthand for seeds=N: N meta-learners in one vmapped run")
    train.add_argument("overrides", nargs="*", metavar="key=value",
                       help="dotted overrides, e.g. maml.inner_lr=0.5 num_iterations=20")
    hosts = train.add_argument_group(
        "several processes or hosts (also JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
        "JAX_PROCESS_ID); every process runs the same command, process 0 writes the run")
    hosts.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
    hosts.add_argument("--num-processes", type=int)
    hosts.add_argument("--process-id", type=int)
    evaluate = sub.add_parser("evaluate", help="meta-test a checkpoint of a run; writes "
                                               "RUN_DIR/evaluations/step_<N>[_<k>].json")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--step", type=int, metavar="N",
                          help="the checkpoint of iteration N (default: the latest)")
    evaluate.add_argument("overrides", nargs="*", metavar="key=value",
                          help="meta-test protocol overrides, e.g. meta_test.num_steps=3")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "evaluate":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # key=value after --step: argparse ends the positionals at the first option
        args.overrides += extra
    try:
        with _signals_stop():
            return _command(args)
    except (Stopped, KeyboardInterrupt) as err:
        signum = err.signum if isinstance(err, Stopped) else signal.SIGINT
        message = _one_line(err) if isinstance(err, Stopped) else "stopped by SIGINT"
        print(f"metajax: {message}", file=sys.stderr)
        return 128 + signum


def _command(args: argparse.Namespace) -> int:
    from metajax import distributed  # before anything starts a JAX backend

    if args.command == "train":
        try:
            distributed.initialize(args.coordinator, args.num_processes, args.process_id)
        except ValueError as err:
            print(f"metajax: error: {err}", file=sys.stderr)
            return 2
    from metajax.checkpoint import CheckpointError
    from metajax.config import ConfigError
    from metajax.guards import Interrupted
    from metajax.run_lock import RunLocked
    from metajax.train import NonFiniteError

    try:
        if args.command == "train" and args.resume:
            from metajax.train import resume

            if args.config or args.algo or args.env or args.seeds or args.overrides:
                raise ConfigError("--resume continues a run with its own config; give no "
                                  "--config, --algo, --env, --seeds or overrides")
            resume(args.resume)
        elif args.command == "train":
            from metajax.config import load_config
            from metajax.train import train

            shorthands = [f"{name}={value}" for name, value in
                          (("algo", args.algo), ("env", args.env), ("seeds", args.seeds))
                          if value is not None]
            train(load_config(args.config, shorthands + list(args.overrides)))
        else:
            from metajax.evaluate import evaluate_run

            evaluation = evaluate_run(args.run_dir, args.overrides, args.step)
            print(f"{evaluation.report}\nwrote {evaluation.path}")
    except (ConfigError, CheckpointError, RunLocked) as err:
        print(f"metajax: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteError as err:
        print(f"metajax: error: {err}", file=sys.stderr)
        return 1
    except Interrupted as err:
        print(f"metajax: {_one_line(err)}", file=sys.stderr)
        return 128 + err.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
