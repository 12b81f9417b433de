"""Runs survive being stopped and bad numbers: SIGTERM mid-run writes a checkpoint and
``--resume`` ends on exactly the params of an uninterrupted run; a corrupt checkpoint is a
one-line error that changes nothing; non-finite updates are skipped, counted and, in a row,
stop the run with the last finite state saved."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from metajax import checkpoint, train as train_module
from metajax.cli import main
from metajax.config import build_algorithm, load_config
from metajax.guards import NONFINITE, guard_nonfinite

TINY = ["policy.hidden_sizes=[8]", "maml.num_tasks=2", "maml.num_episodes=2", "maml.cg_iters=2",
        "env_kwargs={horizon: 10}", "meta_test.num_tasks=2", "meta_test.num_steps=1",
        "meta_test.num_episodes=2"]


def tensorboard_scalars(logdir: Path, tag: str) -> dict[int, list[float]]:
    """The values TensorBoard shows for ``tag`` per step: event files read in order, and on a
    SessionLog START at step s (``purge_step``) the earlier events at steps >= s dropped, as
    TensorBoard's loader does."""
    from tensorboardX.proto import event_pb2

    values: dict[int, list[float]] = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            length = int.from_bytes(data[offset:offset + 8], "little")
            event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            if event.HasField("session_log") and event.session_log.status == 1:  # START
                values = {k: v for k, v in values.items() if k < event.step}
            for value in event.summary.value:
                if value.tag == tag:
                    values.setdefault(event.step, []).append(value.simple_value)
    return values


def final_params(run_dir: Path):
    config = load_config(run_dir / "config.json")
    template = build_algorithm(config).init(jax.random.key(0))
    state, step = checkpoint.restore_latest(run_dir / "checkpoints", template)
    return state.meta_params, step


# SIGTERM, then --resume ends on the uninterrupted run's params: test_examples.py
# (test_stop_and_resume_example runs examples/stop_and_resume.py)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A tiny 2-iteration run, trained once for the module (one checkpoint, at 2); tests
    damage copies of it (:func:`copy_of`)."""
    runs = tmp_path_factory.mktemp("finished")
    assert main(["train", f"runs_dir={runs}", "run_name=r", "num_iterations=2", *TINY]) == 0
    return runs / "r"


def copy_of(run: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, tmp_path / run.name))


def test_corrupt_checkpoint_is_refused_and_left_alone(tmp_path, capsys, finished_run):
    copy_of(finished_run, tmp_path)
    files = sorted(p for p in (tmp_path / "r" / "checkpoints").rglob("*") if p.is_file())
    victim = max(files, key=lambda p: p.stat().st_size)
    victim.write_bytes(b"not a checkpoint")
    before = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metajax: error: no checkpoint under") and "verifies" in err
    assert "checkpoint 2 under" in err and "corrupt" in err
    assert err.count("\n") == 1
    assert {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()} == before


def test_a_second_writer_is_refused_while_the_run_is_held(tmp_path, capsys, finished_run):
    """Two writers on one run directory would interleave metrics.jsonl: while one holds the
    run's lock, ``--resume`` is refused in one line naming the holder's pid and touches
    nothing; once it is released, ``--resume`` proceeds (past a last metrics line cut off by
    a crash)."""
    from metajax.run_lock import run_lock

    run = copy_of(finished_run, tmp_path)
    (run / "config.json").write_text(json.dumps(  # one more iteration to run on resume
        {**json.loads((run / "config.json").read_text()), "num_iterations": 3}))
    capsys.readouterr()
    with run_lock(run):
        before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
        assert main(["train", "--resume", str(run)]) == 2
        err = capsys.readouterr().err
        assert f"is in use by another metajax process (pid {os.getpid()})" in err
        assert err.count("\n") == 1
        assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    with open(run / "metrics.jsonl", "a") as f:  # a line cut off by a crash mid-write
        f.write('{"iteration": 3, "pre_ret')
    assert main(["train", "--resume", str(run)]) == 0
    iterations = [json.loads(line)["iteration"]
                  for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert iterations == [1, 2, 3]


def test_incompatible_checkpoint_is_refused(tmp_path, capsys, finished_run):
    """A run whose config no longer matches its checkpoints (here: a wider policy) is refused
    with a one-line error instead of loading mismatched arrays."""
    copy_of(finished_run, tmp_path)
    config_path = tmp_path / "r" / "config.json"
    config = json.loads(config_path.read_text())
    config["policy"]["hidden_sizes"] = [16]
    config_path.write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "is corrupt, partial or incompatible with this run's config" in err
    assert err.count("\n") == 1
    assert not err.rstrip().endswith(":"), err  # the mismatch itself is in the line


def test_guard_keeps_the_old_state_on_a_non_finite_update():
    def step(state, key):
        return {"w": state["w"] + 1.0}, {"loss": jnp.where(state["w"][0] > 0, jnp.nan, 1.0)}

    guarded = jax.jit(guard_nonfinite(step))
    state, metrics = guarded({"w": jnp.zeros(2)}, jax.random.key(0))
    assert not metrics[NONFINITE].any() and float(state["w"][0]) == 1.0
    state, metrics = guarded(state, jax.random.key(0))
    assert metrics[NONFINITE].tolist() == [True, False]  # loss, then params/state
    assert float(state["w"][0]) == 1.0


class NaNFromIteration:
    """A MAML whose pre-adaptation return turns NaN once the state reaches ``start``."""

    def __init__(self, algo, start: int):
        self.algo, self.start, self.score_names = algo, start, algo.score_names

    def init(self, key):
        return self.algo.init(key)

    def step(self, state, key):
        new, metrics = self.algo.step(state, key)
        bad = state.iteration >= self.start
        return new, {**metrics, "pre_return": jnp.where(bad, jnp.nan, metrics["pre_return"])}

    def __getattr__(self, name):
        return getattr(self.algo, name)


def test_non_finite_updates_are_skipped_then_stop_the_run(tmp_path, capsys, monkeypatch):
    build = train_module.build_algorithm
    monkeypatch.setattr(train_module, "build_algorithm",
                        lambda config: NaNFromIteration(build(config), 2))
    code = main(["train", f"runs_dir={tmp_path}", "run_name=nan", "num_iterations=10",
                 "max_nonfinite=3", *TINY])
    assert code == 1
    err = capsys.readouterr().err
    assert err == (f"metajax: error: stopped at iteration 5: 3 non-finite updates in a row "
                   f"(non-finite: pre_return); the last finite state is checkpointed in "
                   f"{tmp_path / 'nan' / 'checkpoints'}\n")
    records = [json.loads(line) for line in
               (tmp_path / "nan" / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in records] == [0, 0, 1, 1, 1]
    assert records[2]["pre_return"] is None and records[2]["nonfinite"] == ["pre_return"]
    monkeypatch.undo()
    params, step = final_params(tmp_path / "nan")
    assert step == 5
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(params))


@pytest.mark.parametrize("args, message", [
    (["--resume", "nowhere"], "nowhere is not a metajax run directory"),
    (["--resume", ".", "num_iterations=3"], "--resume continues a run with its own config"),
])
def test_resume_errors(args, message, capsys):
    assert main(["train", *args]) == 2
    assert message in capsys.readouterr().err


def test_malformed_run_config_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"env": "Navigation2D-v0", ')
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "config.json is not a readable JSON config" in err and err.count("\n") == 1


def test_ctrl_c_during_compile_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the step compiles (before the run directory exists): one line, exit 130,
    nothing written, and the same run name then trains."""
    from metajax.cli import Stopped

    def interrupted(*args):
        raise Stopped(signal.SIGINT)

    monkeypatch.setattr(train_module, "_compile", interrupted)
    args = ["train", f"runs_dir={tmp_path}", "run_name=r", "num_iterations=1", *TINY]
    assert main(args) == 130
    err = capsys.readouterr().err
    assert err == "metajax: stopped by SIGINT\n"
    assert not any(tmp_path.iterdir())
    monkeypatch.undo()
    assert main(args) == 0


def test_ctrl_c_after_set_up_is_one_line_and_resumable(tmp_path):
    """A real Ctrl-C once the run directory exists (set-up, or the first iterations): one
    line naming the resume command, exit 130, no traceback; ``--resume`` then completes the
    budget (from iteration 0 if no checkpoint was written yet)."""
    run = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "metajax", "train", f"runs_dir={tmp_path}",
                             "run_name=r", "num_iterations=3", *TINY],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("metajax: stopped by SIGINT; continue with: metajax train --resume")
    assert main(["train", "--resume", str(run)]) == 0
    iterations = [json.loads(line)["iteration"]
                  for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert iterations == [1, 2, 3]


def test_zero_size_arrays_are_checkpointed_and_restored(tmp_path):
    """A state may hold zero-size arrays (a brax physics state's actuator activations under
    RL^2, whose train state carries the envs): orbax refuses to store them, so they are left
    out and taken back from the template, verified like every other checkpoint."""
    from flax import struct

    @struct.dataclass
    class Physics:
        q: jax.Array
        act: jax.Array

    state = {"params": jnp.arange(3.0), "env": Physics(jnp.ones((2, 4)), jnp.zeros((2, 0)))}
    mngr = checkpoint.manager(tmp_path / "checkpoints")
    checkpoint.save(mngr, 1, state, fingerprint="f")
    mngr.close()
    template = jax.tree.map(jnp.zeros_like, state)
    restored, step = checkpoint.restore_latest(tmp_path / "checkpoints", template, "f")
    assert step == 1 and restored["env"].act.shape == (2, 0)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)


def test_nothing_non_finite_is_ever_saved(tmp_path, monkeypatch):
    """A state with a NaN or an infinity is never checkpointed; a non-finite initial state
    is refused before the run directory exists."""
    from metajax.config import ConfigError
    from metajax.guards import nonfinite_leaves

    state = {"w": jnp.array([1.0, jnp.inf]), "key": jax.random.key(0), "n": jnp.arange(2)}
    assert nonfinite_leaves(state) == ["['w']"]
    mngr = checkpoint.manager(tmp_path / "checkpoints")
    with pytest.raises(checkpoint.CheckpointError, match=r"non-finite values in \['w'\]"):
        checkpoint.save(mngr, 1, state)
    mngr.close()
    assert not list((tmp_path / "checkpoints").glob("1*"))

    original = train_module._init
    monkeypatch.setattr(train_module, "_init", lambda algo, config: jax.tree.map(
        lambda x: x * jnp.nan if jnp.issubdtype(x.dtype, jnp.floating) else x,
        original(algo, config)))
    runs = tmp_path / "runs"
    with pytest.raises(ConfigError, match="the initial state has non-finite values"):
        train_module.train(load_config(None, [f"runs_dir={runs}", *TINY]))
    assert not runs.exists() or not any(runs.iterdir())


def test_no_corrupted_checkpoint_is_ever_restored(tmp_path, capsys):
    """Random byte ranges overwritten in random files of the newest checkpoint, many times:
    a restore either returns exactly the saved state of some step or refuses; ``--resume``
    falls back to the newest checkpoint that verifies (one line) and ends on the params of
    an uninterrupted run."""
    import shutil

    args = [f"runs_dir={tmp_path}", "num_iterations=4", "checkpoint_every=1", *TINY]
    assert main(["train", "run_name=pristine", *args]) == 0
    pristine = tmp_path / "pristine"
    config = load_config(pristine / "config.json")
    template = build_algorithm(config).init(jax.random.key(0))
    saved = {s: checkpoint.restore(pristine / "checkpoints", template, s)[0]
             for s in checkpoint.saved_steps(pristine / "checkpoints")}
    assert sorted(saved) == [2, 3, 4]
    rng = np.random.default_rng(0)
    fell_back = 0
    for trial in range(12):
        run = tmp_path / f"trial{trial}"
        shutil.copytree(pristine, run)
        files = sorted(p for p in (run / "checkpoints" / "4").rglob("*") if p.is_file())
        for victim in rng.choice(files, size=min(2, len(files)), replace=False):
            data = bytearray(victim.read_bytes())
            if not data:
                continue
            start = int(rng.integers(len(data)))
            length = int(rng.integers(1, 64))
            data[start:start + length] = rng.bytes(len(data[start:start + length]))
            victim.write_bytes(bytes(data))
        try:
            state, step, _ = checkpoint.restore_verified(run / "checkpoints", template,
                                                         config.state_fingerprint())
        except checkpoint.CheckpointError:
            continue
        assert checkpoint.array_digest(state) == checkpoint.array_digest(saved[step])
        fell_back += step < 4
    assert fell_back > 0  # the damage was detected at least once, and the fallback used

    run = tmp_path / "damaged"
    shutil.copytree(pristine, run)
    victim = max((p for p in (run / "checkpoints" / "4").rglob("*") if p.is_file()),
                 key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2:len(data) // 2 + 4] = b"\xff\xfe\xfd\xfc"  # 4 bytes flipped
    victim.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 2  # evaluate never falls back: it refuses
    assert "checkpoint 4 under" in capsys.readouterr().err
    assert main(["train", "--resume", str(run)]) == 0
    err = capsys.readouterr().err
    assert "failed verification and were moved to checkpoints.rejected/" in err
    assert "resuming from iteration 3" in err
    assert (run / "checkpoints.rejected" / "4").is_dir()
    # TensorBoard agrees with metrics.jsonl: iteration 4, dropped and recomputed, shows once
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    shown = tensorboard_scalars(run / "tensorboard", "post_return")
    assert shown == {r["iteration"]: [pytest.approx(r["post_return"])] for r in records}
    resumed, step = final_params(run)
    assert step == 4
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(saved[4].meta_params)):
        np.testing.assert_array_equal(a, b)


def test_a_run_that_cannot_fit_is_refused_before_its_first_iteration(tmp_path, monkeypatch,
                                                                     capsys):
    """XLA's memory plan of the compiled step against the device's free memory (here made
    tiny): one line naming both sizes and ``maml.task_chunk``; no run directory."""
    from metajax import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: 1024)
    assert main(["train", f"runs_dir={tmp_path}", *TINY]) == 2
    err = capsys.readouterr().err
    assert "the compiled step needs" in err and "0.00 GiB free" in err
    assert "maml.task_chunk" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
