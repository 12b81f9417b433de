"""Two processes on 127.0.0.1 (CPU, gloo collectives) joined by
``metajax.distributed.initialize`` (or ``metajax train --coordinator``) train one MAML
meta-batch sharded over both: they end on identical params, equal to a single-process
run's."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from conftest import tiny_algo
from metajax import checkpoint
from metajax.cli import main
from metajax.config import build_algorithm, load_config

WORKER = r"""
import json, sys
import jax, numpy as np
from metajax.distributed import initialize, task_mesh
port, pid, tests = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert initialize(f"127.0.0.1:{port}", 2, pid)
sys.path.insert(0, tests)
from conftest import tiny_algo
from metajax import checkpoint
from metajax.cli import main
from metajax.config import build_algorithm, load_config
algo = tiny_algo(num_tasks=4)
algo = type(algo)(algo.env, algo.policy, algo.config, task_mesh())
state = algo.init(jax.random.key(0))
step = jax.jit(algo.step)
for i in range(2):
    state, metrics = step(state, jax.random.key(1 + i))
params = [np.asarray(x.addressable_data(0)).ravel().tolist()
          for x in jax.tree.leaves(state.meta_params)]
print(json.dumps({"pid": pid, "index": jax.process_index(), "devices": len(jax.devices()),
                  "params": params}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_as_one():
    port, tests = str(free_port()), str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, port, str(pid), tests],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "JAX_PLATFORMS": "cpu"})
             for pid in (0, 1)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    first, second = outputs
    assert first["devices"] == second["devices"] == 2
    assert (first["index"], second["index"]) == (0, 1)
    assert first["params"] == second["params"]  # identical, not just close

    algo = tiny_algo(num_tasks=4)  # the same meta-steps on one device in one process
    state = algo.init(jax.random.key(0))
    step = jax.jit(algo.step)
    for i in range(2):
        state, _ = step(state, jax.random.key(1 + i))
    for got, want in zip(first["params"], jax.tree.leaves(state.meta_params)):
        np.testing.assert_allclose(got, np.asarray(want).ravel(), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_cli_over_two_processes_trains_as_one_run(tmp_path):
    """``metajax train --coordinator ... --num-processes 2 --process-id I`` twice: both
    processes log the same iterations and meta-test, process 0 writes the run, and its final
    params equal a single-process run's."""
    port = str(free_port())
    args = [f"runs_dir={tmp_path}", "num_iterations=3", "checkpoint_every=2",
            "policy.hidden_sizes=[8]", "maml.num_tasks=4", "maml.num_episodes=2",
            "maml.cg_iters=2", "env_kwargs={horizon: 10}", "meta_test.num_tasks=2",
            "meta_test.num_steps=1", "meta_test.num_episodes=2"]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "metajax", "train", "--coordinator", f"127.0.0.1:{port}",
         "--num-processes", "2", "--process-id", str(pid), "run_name=two", "devices=0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "COLUMNS": "200"}) for pid in (0, 1)]
    logs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        logs.append([line.split("(")[0] for line in out.splitlines()  # without timings
                     if line.startswith(("iteration", "|"))])
    assert len(logs[0]) == 3 + 4 and logs[0] == logs[1]  # 3 iterations, the meta-test table
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == ["2", "3"]

    assert main(["train", "run_name=one", *args]) == 0
    params = []
    for name in ("two", "one"):
        config = load_config(tmp_path / name / "config.json")
        template = build_algorithm(dataclasses.replace(config, devices=1)).init(
            jax.random.key(0))
        params.append(checkpoint.restore_latest(tmp_path / name / "checkpoints",
                                                template)[0].meta_params)
    for a, b in zip(jax.tree.leaves(params[0]), jax.tree.leaves(params[1])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
