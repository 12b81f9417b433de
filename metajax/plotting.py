"""Learning-curve plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_learning_curves(
    records: Sequence[dict], path: str | Path, title: str = "",
    meta_test: Sequence[float] | None = None,
    names: tuple[str, str] = ("pre_return", "post_return"), ylabel: str = "mean episode return",
) -> None:
    """Pre- and post-adaptation return per meta-iteration, and the meta-test returns after
    each adaptation step if given, written as a PNG."""
    ncols = 2 if meta_test is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4), squeeze=False)
    ax = axes[0, 0]
    its = [r["iteration"] for r in records]
    ax.plot(its, [r[names[0]] for r in records], label="pre-adaptation")
    ax.plot(its, [r[names[1]] for r in records], label="post-adaptation")
    ax.set(xlabel="meta-iteration", ylabel=ylabel, title=title or "meta-training")
    ax.grid(alpha=0.3)
    ax.legend()
    if meta_test is not None:
        ax = axes[0, 1]
        ax.plot(range(len(meta_test)), meta_test, marker="o")
        ax.set(xlabel="adaptation steps", ylabel=ylabel,
               title="meta-test on held-out tasks")
        ax.set_xticks(range(len(meta_test)))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
