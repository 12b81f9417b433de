"""``metajax evaluate`` judges a run at several points: ``--step`` meta-tests any kept
checkpoint (``checkpoint_at`` ones are never pruned), reports the standard error over tasks
and writes a new ``evaluations/`` file each time; the meta-test's step size and episodes
follow the training's inner loop unless given."""

import json
from pathlib import Path

import numpy as np
import pytest

from metajax.cli import main
from metajax.config import ConfigError, build_algorithm, load_config
from metajax.evaluate import (describe_meta_test, format_table, gain_standard_error,
                              load_run_config, standard_error)
from test_run_safety import TINY  # the tiny MAML run the other CLI tests compile


def test_evaluate_any_checkpoint_with_standard_errors(tmp_path, capsys):
    args = ["train", f"runs_dir={tmp_path}", "run_name=r", "num_iterations=5",
            "checkpoint_every=1", "checkpoint_at=[1]", "maml.inner_lr=0.5", *TINY]
    assert main(args) == 0
    run = tmp_path / "r"
    out = capsys.readouterr().out
    # not a terminal: a progress line every iteration (log_every=1)
    assert [f"iteration {i:5d}/5" in out for i in range(1, 6)] == [True] * 5
    trained = (run / "meta_test.json").read_text()
    record = json.loads(trained)
    assert record["protocol"]["lr"] == 0.5 and record["from_training"] == ["lr"]
    config = load_config(None, args[1:])
    assert json.loads((run / "config.json").read_text())["meta_test"]["lr"] is None
    assert load_run_config(run) == config  # None round-trips through config.json

    assert main(["evaluate", str(run), "--step", "1"]) == 0
    out = capsys.readouterr().out
    assert "step sizes [0.5]; step size from the training's maml.inner_lr" in out
    assert "checkpoint: iteration 1 of 5" in out
    assert "| adaptation steps | mean return | s.e. |" in out
    first = json.loads((run / "evaluations" / "step_1.json").read_text())
    assert first["iteration"] == 1 and first["num_tasks"] == 2 and first["overrides"] == []
    assert len(first["returns"]) == len(first["standard_errors"]) == 2
    assert all(s > 0 for s in first["standard_errors"])
    assert first["gain_standard_errors"][0] == 0.0 and first["gain_standard_errors"][1] > 0
    for row, (mean, error) in zip(out.splitlines()[-3:-1],
                                  zip(first["returns"], first["standard_errors"])):
        assert row.endswith(f" {mean:.2f} | {error:.2f} |")

    # a second evaluation gets a new file; an explicit step size replaces the training's
    assert main(["evaluate", str(run), "--step", "1", "meta_test.lr=0.2"]) == 0
    assert "step size from meta_test.lr" in capsys.readouterr().out
    second = json.loads((run / "evaluations" / "step_1_2.json").read_text())
    assert second["protocol"]["lr"] == 0.2 and second["overrides"] == ["meta_test.lr=0.2"]
    assert json.loads((run / "evaluations" / "step_1.json").read_text()) == first

    # one task: no standard error, written as null (never a bare NaN)
    assert main(["evaluate", str(run), "meta_test.num_tasks=1"]) == 0
    assert "| n/a |" in capsys.readouterr().out
    text = (run / "evaluations" / "step_5.json").read_text()
    assert "NaN" not in text and json.loads(text)["standard_errors"] == [None, None]

    # kept: the latest 3 and checkpoint_at's step 1; a missing step is a one-line error
    assert main(["evaluate", str(run), "--step", "2"]) == 2
    err = capsys.readouterr().err
    assert err == (f"metajax: error: no checkpoint at step 2 under {run / 'checkpoints'}; "
                   "available: 1, 3, 4, 5\n")
    assert (run / "meta_test.json").read_text() == trained
    assert sorted(p.name for p in (run / "evaluations").iterdir()) == [
        "step_1.json", "step_1_2.json", "step_5.json"]


def test_meta_test_follows_the_inner_loop_unless_given():
    config = load_config(None, ["maml.inner_lr=0.5", "maml.num_episodes=8"])
    protocol = config.meta_test_protocol()
    assert (protocol.lr, protocol.num_episodes) == (0.5, 8)
    assert describe_meta_test(build_algorithm(config), config).endswith(
        "step sizes [0.5, 0.5, 0.5]; step size from the training's maml.inner_lr, episodes "
        "from the training's maml.num_episodes):")
    given = load_config(None, ["maml.inner_lr=0.5", "meta_test.lr=0.3"]).meta_test_protocol()
    assert (given.lr, given.num_episodes) == (0.3, 20)
    paper = load_config(Path(__file__).parent.parent / "benchmarks/configs/maml_paper.yaml")
    assert paper.meta_test_from_training() == ()
    assert (paper.meta_test_protocol().lr, paper.meta_test_protocol().num_episodes) == (0.5, 40)
    rl2 = load_config(None, ["algo=rl2", "env=BernoulliBandit-5"])
    assert (rl2.meta_test_protocol().lr, rl2.meta_test_protocol().num_episodes) == (0.1, 20)


@pytest.mark.parametrize("override, message", [
    ("checkpoint_at=[101]", "checkpoint_at 101 is past num_iterations=100"),
    ("checkpoint_at=[0]", "checkpoint_at must be a positive integer, got 0"),
    ("log_every=0", "log_every must be a positive integer, got 0"),
    ("meta_test.lr=abc", "meta_test.lr must be of type float | None, got 'abc'"),
])
def test_new_fields_are_checked(override, message):
    with pytest.raises(ConfigError, match=message.replace("|", r"\|")):
        load_config(None, [override])
    assert load_config(None, ["checkpoint_at=[50,10,10]"]).checkpoint_at == (10, 50)


def test_standard_error_over_tasks():
    per_task = np.array([[[1.0, 2.0], [3.0, 6.0]]])  # one seed, two tasks, two steps
    np.testing.assert_allclose(standard_error(per_task), [1.0, 2.0])
    two_seeds = np.concatenate([per_task, per_task])  # s.e. of the mean of two such seeds
    np.testing.assert_allclose(standard_error(two_seeds), np.array([1.0, 2.0]) / np.sqrt(2))
    assert np.isnan(standard_error(per_task[:, :1])).all()
    # the gain is paired over tasks: tasks far apart, gains equal -> no error at all
    spread = np.array([[[0.0, 5.0], [100.0, 105.0]]])
    assert standard_error(spread)[1] == 50.0
    np.testing.assert_allclose(gain_standard_error(spread), [0.0, 0.0])
    np.testing.assert_allclose(gain_standard_error(per_task), [0.0, 1.0])  # gains 1 and 3
    assert format_table([1.0], errors=[np.nan]).splitlines()[-1] == "| 0 | 1.00 | n/a |"
