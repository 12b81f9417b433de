"""Where each iteration's metrics go: ``metrics.jsonl`` (one JSON line per iteration, flushed),
TensorBoard event files under ``tensorboard/`` (tensorboardX), and Weights & Biases when the
run names a project (``wandb_project``) and ``wandb`` is installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from metajax.jsonio import strict_json


def check_wandb(project: str | None) -> None:
    """A W&B project without ``wandb`` installed is a config error, raised before the run."""
    if project is not None and importlib.util.find_spec("wandb") is None:
        raise ValueError(f"wandb_project={project!r} needs the wandb package "
                         "(pip install wandb); omit wandb_project to log without it")


class MetricsLog:
    """Appends records to every sink; use as a context manager so all of them are closed."""

    def __init__(self, run_dir: Path, config: dict[str, Any], wandb_project: str | None = None,
                 enabled: bool = True, first_iteration: int = 1):
        """``enabled=False`` (processes other than 0 of a multi-process run) writes nothing.
        ``first_iteration`` > 1 (a resume): TensorBoard drops its events from that iteration
        on, as ``metrics.jsonl`` drops its lines, so both agree."""
        from tensorboardX import SummaryWriter

        self.enabled = enabled
        if not enabled:
            return
        self.jsonl = open(run_dir / "metrics.jsonl", "a")
        self.tensorboard = SummaryWriter(
            str(run_dir / "tensorboard"),
            purge_step=first_iteration if first_iteration > 1 else None)
        self.wandb = None
        if wandb_project is not None:
            import wandb

            self.wandb = wandb.init(project=wandb_project, config=config, dir=str(run_dir),
                                    name=run_dir.name, resume="allow")

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.jsonl.write(json.dumps(strict_json(record)[0], allow_nan=False) + "\n")
        self.jsonl.flush()
        step = record["iteration"]
        scalars = {k: v for k, v in record.items()
                   if k != "iteration" and isinstance(v, (int, float))}
        for name, value in scalars.items():
            self.tensorboard.add_scalar(name, value, step)
        if self.wandb is not None:
            self.wandb.log(scalars, step=step)

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        self.jsonl.close()
        self.tensorboard.close()
        if self.wandb is not None:
            self.wandb.finish()
