"""``benchmarks/long_run.py``: its verdict on a run's meta-tests, and a tiny run end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import long_run  # noqa: E402


def _run(posts, se=0.4):
    its = [40, 100, 270, 500][:len(posts)]
    return {"tests": [{"iteration": i, "post": p, "post_se": se} for i, p in zip(its, posts)]}


def test_verdict_flags_a_late_drop_beyond_two_standard_errors():
    # the per-step run: -16.6 at 40, then -22.8 at 270
    drifting = long_run.verdict(_run([-16.6, -17.0, -22.8]), target=-12.9)
    assert not drifting["keeps_improving"] and not drifting["meets_peer_at_270"]
    assert drifting["drops"][0]["iteration"] == 270 and drifting["drops"][0]["at"] == 40
    # a drop within 2 standard errors of the best earlier one is noise, not drift
    noisy = long_run.verdict(_run([-17.0, -15.5, -12.9, -13.8]), target=-12.9)
    assert noisy["keeps_improving"] and noisy["meets_peer_at_270"]
    # before iteration 100 a fall does not count (the curve may still be settling)
    early = long_run.verdict(_run([-15.0, -19.0]), target=None)
    assert early["keeps_improving"] and early["meets_peer_at_270"] is None


def test_tiny_long_run_writes_results_and_plot(tmp_path):
    out = tmp_path / "long_run.json"
    command = [sys.executable, str(BENCHMARKS / "long_run.py"), "--iterations", "2",
               "--test-at", "1", "2", "--test-tasks", "3", "--seeds", "0",
               "--weightings", "episode", "--out", str(out), "--set",
               "policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2",
               "env_kwargs={horizon: 10}", "maml.cg_iters=2"]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["weighting"] == "episode" and len(run["curve"]) == 2
    assert [t["iteration"] for t in run["tests"]] == [1, 2]
    assert data["peer"] is None  # the peer's figures are for the reference config as it is
    assert out.with_suffix(".png").is_file()


def test_a_stopped_run_continues_from_its_checkpoint_to_the_same_numbers(tmp_path):
    tiny = ["policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2",
            "env_kwargs={horizon: 10}", "maml.cg_iters=2"]
    config = str(BENCHMARKS / "configs" / "reference.yaml")

    def run(on_test=None):  # into a folder that does not exist yet
        return long_run.run_one(config, tiny, "episode", 0, 3, [2, 3], 3, tmp_path / "new",
                                checkpoint_every=2, on_test=on_test)

    partial = []
    straight = run(partial.append)
    # the record so far after each meta-test but the last (the caller writes it to --out)
    assert [(p["complete"], len(p["curve"]), len(p["tests"])) for p in partial] == [(False, 2, 1)]
    assert straight["complete"] and straight["tests"][0] == partial[0]["tests"][0]
    assert "resumed_at" not in straight
    # as if stopped after the checkpoint at 2: the one at 3 (its final) never got written
    shutil.rmtree(tmp_path / "new" / "episode-seed0" / "3")
    continued = run()
    assert continued["resumed_at"] == [2]
    assert continued["curve"] == straight["curve"]  # the same keys, the same numbers
    assert continued["tests"] == straight["tests"]
