"""Two processes on 127.0.0.1 (CPU, gloo collectives) joined by ``metajax train
--coordinator`` (``metajax.distributed.initialize``) train one MAML meta-batch sharded over
both: they log the same run, and it ends on a single-process run's params. (One test: the
Python-API variant ran the same initialise and step and cost as much again.)"""

import dataclasses
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from metajax import checkpoint
from metajax.cli import main
from metajax.config import build_algorithm, load_config

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
