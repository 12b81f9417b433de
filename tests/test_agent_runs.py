"""DQN, PPO and A2C from the CLI: chunked runs equal the whole-run scan (to float32 rounding),
single environments and Reptile meta-init write metrics, plots, checkpoints and test tables, and
mismatched settings are one-line errors."""

import json

import chex
import jax
import pytest

from metajax import checkpoint
from metajax.algorithms.learner import whole_run
from metajax.cli import main
from metajax.config import ConfigError, build_algorithm, load_config

TINY_DQN = ["dqn.total_steps=200", "dqn.num_envs=4", "dqn.learning_starts=40",
            "dqn.buffer_size=100", "dqn.batch_size=8", "dqn.hidden_sizes=[8]"]
TINY_PPO = ["ppo.total_steps=320", "ppo.num_envs=4", "ppo.num_steps=16",
            "ppo.num_minibatches=2", "ppo.hidden_sizes=[8]"]


@pytest.mark.parametrize("algo, tiny", [("dqn", TINY_DQN), ("ppo", TINY_PPO)])
def test_chunked_run_equals_the_whole_run(algo, tiny):
    """3 iterations of ceil(updates / 3) update slots (the last chunk partly empty) end on
    the params of ``make_train``'s single scan."""
    config = load_config(None, [f"algo={algo}", "env=CartPole-v1", "num_iterations=3", *tiny])
    run = build_algorithm(config)
    assert run.learner.num_updates % 3  # the last chunk has skipped slots
    key = jax.random.key(7)
    state = run.init(key)
    step = jax.jit(run.step)
    for i in range(3):
        state, metrics = step(state, jax.random.key(100 + i))
    whole, _ = jax.jit(whole_run(run.learner))(key)
    chex.assert_trees_all_close(state.meta_params, whole.params, rtol=1e-5, atol=1e-7)
    assert int(metrics["env_steps"]) == run.learner.num_updates * run.learner.steps_per_update


def test_cli_dqn_on_cartpole_writes_a_run_and_evaluates(tmp_path, capsys):
    args = ["train", "--algo", "dqn", "--env", "CartPole-v1", f"runs_dir={tmp_path}",
            "run_name=dqn", "num_iterations=2", "meta_test.num_episodes=2", *TINY_DQN]
    assert main(args) == 0
    run = tmp_path / "dqn"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"train_return", "greedy_return", "loss", "env_steps"} <= set(records[0])
    assert records[-1]["env_steps"] == 200
    assert (run / "learning_curves.png").stat().st_size > 1000
    tested = json.loads((run / "meta_test.json").read_text())["returns"]
    assert len(tested) == 1 and tested[0] >= 1.0

    config = load_config(run / "config.json")
    template = build_algorithm(config).init(jax.random.key(0))
    state = checkpoint.restore_latest(run / "checkpoints", template)[0]
    assert int(state.iteration) == 2
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "| training runs | mean return | s.e. |" in capsys.readouterr().out
    evaluated = json.loads((run / "evaluations" / "step_2.json").read_text())
    assert evaluated["returns"] == pytest.approx(tested)
    # the standard error over the greedy policy's test episodes (they take the place of tasks)
    (error,) = evaluated["standard_errors"]
    assert error is not None and error >= 0.0


def test_cli_meta_init_a2c_on_cartpole_dynamics(tmp_path):
    args = ["train", "algo=a2c", "env=CartPoleDynamics-v0", f"runs_dir={tmp_path}",
            "run_name=meta", "num_iterations=2", "meta_init.tasks_per_iteration=2",
            "meta_init.eval_episodes=1", "meta_test.num_tasks=2", "meta_test.num_episodes=1",
            *TINY_PPO]
    assert main(args) == 0
    run = tmp_path / "meta"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"inner_return", "adapted_return", "env_steps"} <= set(records[-1])
    assert records[-1]["env_steps"] == 2 * 2 * 320
    assert json.loads((run / "config.json").read_text())["ppo"]["algo"] == "a2c"
    assert len(json.loads((run / "meta_test.json").read_text())["returns"]) == 2


@pytest.mark.parametrize("overrides, message", [
    (["algo=dqn", "env=Pendulum-v1"], "algo dqn needs discrete actions; Pendulum-v1 has a Box"),
    (["algo=maml", "env=CartPole-v1"], "env CartPole-v1 is a single gymnax environment, not a "
                                       "task distribution"),
    (["algo=a2c", "env=CartPole-v1", "ppo.algo=ppo"], "ppo.algo=ppo contradicts algo=a2c"),
    (["algo=ppo", "env=CartPole-v1", "num_iterations=5000"],
     "num_iterations (5000) must be at most the learner's number of updates (976)"),
    (["algo=dqn", "env=Sinusoid-5shot"], "algo dqn works on RL environments only"),
    (["algo=dqn", "env=CartPole-v1", "dqn.tau=0"], "dqn.tau must be in"),
])
def test_agent_config_errors(overrides, message):
    with pytest.raises(ConfigError) as err:
        build_algorithm(load_config(None, overrides))
    assert message in str(err.value) and "\n" not in str(err.value)
