"""Learning-curve plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_learning_curves(
    records: Sequence[dict], path: str | Path, title: str = "",
    meta_test: Sequence[float] | None = None,
    names: tuple[str, str] = ("pre_return", "post_return"), ylabel: str = "mean episode return",
    labels: tuple[str, str] = ("pre-adaptation", "post-adaptation"),
    test_xlabel: str = "adaptation steps", first: int = 0,
) -> None:
    """Pre- and post-adaptation return per meta-iteration (or the two ``names`` metrics with
    their ``labels``), and the meta-test returns if given, written as a PNG."""
    ncols = 2 if meta_test is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4), squeeze=False)
    ax = axes[0, 0]
    its = [r["iteration"] for r in records]
    value = lambda r, k: float("nan") if r.get(k) is None else r[k]  # noqa: E731
    for name, label in zip(names, labels):  # skipped (non-finite) updates are gaps
        mean = np.array([value(r, name) for r in records])
        line, = ax.plot(its, mean, label=label)
        if records and f"{name}_std" in records[0]:  # several seeds: mean +- std
            std = np.array([value(r, f"{name}_std") for r in records])
            ax.fill_between(its, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set(xlabel="meta-iteration", ylabel=ylabel, title=title or "meta-training")
    ax.grid(alpha=0.3)
    ax.legend()
    if meta_test is not None:
        ax = axes[0, 1]
        xs = range(first, first + len(meta_test))
        ax.plot(xs, meta_test, marker="o")
        ax.set(xlabel=test_xlabel, ylabel=ylabel, title="meta-test on held-out tasks")
        if len(meta_test) <= 20:
            ax.set_xticks(xs)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
