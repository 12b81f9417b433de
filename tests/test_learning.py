"""Learning: a short MAML-TRPO run on Navigation2D adapts clearly on held-out tasks."""

import pytest
from rich.console import Console

from metajax.config import load_config
from metajax.train import train


@pytest.mark.slow
def test_short_maml_run_improves_after_adaptation(tmp_path):
    config = load_config(None, [
        "num_iterations=30", f"runs_dir={tmp_path}", "run_name=learn",
        "meta_test.num_tasks=20", "meta_test.num_steps=1",
    ])
    result = train(config, Console(quiet=True))
    pre, post = result.meta_test_returns
    first = result.records[0]
    # adaptation helps clearly on held-out tasks ...
    assert post > pre + 5.0, (pre, post)
    # ... and meta-training improved the post-adaptation return (random init: about -80)
    assert post > first["post_return"] + 20.0, (first["post_return"], post)
