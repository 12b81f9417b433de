"""``--seeds N``: N meta-learners in one vmapped run; seed s equals a single-seed run with
``seed + s``, and the metrics, meta-test and evaluation report every seed."""

import json

import chex
import jax

from metajax import checkpoint
from metajax.cli import main
from metajax.config import build_algorithm, load_config
from metajax.evaluate import state_template

TINY = ["policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2", "maml.cg_iters=2",
        "env_kwargs={horizon: 10}", "meta_test.num_tasks=2", "meta_test.num_steps=1",
        "meta_test.num_episodes=2", "num_iterations=2"]


def restored(run_dir):
    config = load_config(run_dir / "config.json")
    template = state_template(build_algorithm(config), config)
    return checkpoint.restore_latest(run_dir / "checkpoints", template)[0].meta_params


def test_seeds_train_as_independent_single_runs(tmp_path, capsys):
    assert main(["train", "--seeds", "2", f"runs_dir={tmp_path}", "run_name=two", *TINY]) == 0
    assert main(["train", "seed=1", f"runs_dir={tmp_path}", "run_name=one", *TINY]) == 0
    both, second = restored(tmp_path / "two"), restored(tmp_path / "one")
    chex.assert_trees_all_close(jax.tree.map(lambda x: x[1], both), second, rtol=1e-5,
                                atol=1e-7)
    first = jax.tree.leaves(jax.tree.map(lambda x: x[0], both))[0]
    assert not (first == jax.tree.leaves(second)[0]).all()  # seeds differ

    record = json.loads((tmp_path / "two" / "metrics.jsonl").read_text().splitlines()[-1])
    assert len(record["per_seed"]["post_return"]) == 2 and "post_return_std" in record
    assert abs(record["post_return"] - sum(record["per_seed"]["post_return"]) / 2) < 1e-6
    tested = json.loads((tmp_path / "two" / "meta_test.json").read_text())
    assert len(tested["per_seed"]) == 2 and len(tested["returns"]) == 2
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "two")]) == 0
    assert "| adaptation steps | mean return |" in capsys.readouterr().out


def test_seeds_with_devices_is_refused(capsys):
    assert main(["train", "--seeds", "2", "devices=2"]) == 2
    assert "several seeds run on one device" in capsys.readouterr().err
