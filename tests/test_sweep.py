"""Sweeps of traced hyperparameters: one vmapped program, one compile, and every point equal
to the separate run it stands for."""

import json

import jax
import numpy as np
import pytest

from metajax.cli import main
from metajax.config import ConfigError, load_config
from metajax.train import train

TINY = ["algo=maml", "env=BernoulliBandit-5", "num_iterations=3", "maml.num_tasks=3",
        "maml.num_episodes=4", "maml.cg_iters=3", "policy.hidden_sizes=[8]",
        "meta_test.num_tasks=3", "meta_test.num_steps=1"]


def test_a_swept_run_equals_separate_runs_and_reports_every_point(tmp_path, capsys):
    swept = train(load_config(None, TINY + [f"runs_dir={tmp_path}", "run_name=sweep",
                                            "sweep.maml.inner_lr=[0.05,0.5]",
                                            "sweep.maml.max_kl=[0.03]"]))
    out = capsys.readouterr().out
    assert "| maml.inner_lr | maml.max_kl | 0 | 1 |" in out and "| 0.5 | 0.03 |" in out
    assert "maml.inner_lr is swept" in out
    record = json.loads((tmp_path / "sweep" / "meta_test.json").read_text())
    assert record["sweep"] == [{"maml.inner_lr": 0.05, "maml.max_kl": 0.03},
                               {"maml.inner_lr": 0.5, "maml.max_kl": 0.03}]
    config = load_config(tmp_path / "sweep" / "config.json")
    assert config.members == 2
    for i, lr in enumerate([0.05, 0.5]):
        assert (config.member(i).maml.inner_lr, config.member(i).maml.max_kl) == (lr, 0.03)
        alone = train(load_config(None, TINY + [f"runs_dir={tmp_path}", f"run_name=alone{i}",
                                                f"maml.inner_lr={lr}", "maml.max_kl=0.03"]))
        for a, b in zip(jax.tree.leaves(alone.state), jax.tree.leaves(swept.state)):
            np.testing.assert_allclose(a, b[i], rtol=2e-4, atol=1e-6)  # batched kernels round
        for mine, theirs in zip(swept.records, alone.records):
            assert mine["per_member"]["post_return"][i] == pytest.approx(
                theirs["post_return"], abs=1e-5)
        np.testing.assert_allclose(record["per_member"][i], alone.meta_test_returns, atol=1e-5)
    assert main(["evaluate", str(tmp_path / "sweep")]) == 0  # checkpoints restore as a sweep
    assert "| 0.05 | 0.03 |" in capsys.readouterr().out


@pytest.mark.parametrize("override,message", [
    ("sweep.maml.num_tasks=[2,4]", "sweep.maml.num_tasks cannot be swept; allowed: "),
    ("sweep.maml.inner_lr=0.1", "must be a non-empty list of finite numbers"),
    ("sweep.maml.max_kl=[0.01,-1]", "sweep.maml.max_kl=-1.0: max_kl must be > 0"),
    ("sweep.maml.inner_lr=[.1,.2]\nseeds=2", ""),
])
def test_bad_sweeps_are_one_line_errors(override, message):
    overrides = TINY + override.split("\n")
    with pytest.raises(ConfigError, match=message or "seeds=1 and devices=1"):
        load_config(None, overrides)
