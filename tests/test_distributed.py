"""The task axis sharded over 2 and 8 (forced CPU) devices gives the same meta-steps as
one device, to floating-point tolerance (float64, so reduction order is the only difference).
Runs in a subprocess, since the device count is fixed when JAX starts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
sys.path.insert(0, sys.argv[1])
from conftest import tiny_algo
from metajax.distributed import task_mesh

out = {}
for n in (1, 2, 8):
    algo = tiny_algo(num_tasks=8)
    algo = type(algo)(algo.env, algo.policy, algo.config, task_mesh(n))
    state = algo.init(jax.random.key(0))
    state = jax.tree.map(lambda x: x.astype(jnp.float64) if x.dtype == jnp.float32 else x,
                         state)
    step = jax.jit(algo.step)
    for i in range(2):
        state, metrics = step(state, jax.random.key(1 + i))
    out[n] = {"params": [np.asarray(x).ravel().tolist()
                         for x in jax.tree.leaves(state.meta_params)],
              "post_return": float(metrics["post_return"])}
algo = tiny_algo(num_tasks=3)
try:
    type(algo)(algo.env, algo.policy, algo.config, task_mesh(2))
except ValueError as err:
    out["error"] = str(err)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runs():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(Path(__file__).parent)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("devices", [2, 8])  # 4 and 1 task per device
def test_sharded_meta_step_equals_one_device(runs, devices):
    one, many = runs["1"], runs[str(devices)]
    np.testing.assert_allclose(many["post_return"], one["post_return"], rtol=1e-9)
    for a, b in zip(many["params"], one["params"]):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


@pytest.mark.slow
def test_task_count_must_divide_over_devices(runs):
    assert runs["error"] == "num_tasks (3) must be divisible by the number of devices (2)"
    from metajax.distributed import task_mesh

    with pytest.raises(ValueError, match=r"num_devices must be between 1 and 1"):
        task_mesh(2)  # this process has one CPU device
