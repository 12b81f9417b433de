"""Bad input gets a one-line error naming the field, before any compilation or file write;
the CLI trains, checkpoints and evaluates end to end at tiny sizes."""

import json
import subprocess
import sys
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

from metajax import checkpoint
from metajax.cli import main
from metajax.config import ConfigError, build_algorithm, load_config

TINY = ["num_iterations=2", "checkpoint_every=1", "policy.hidden_sizes=[8]",
        "maml.num_tasks=2", "maml.num_episodes=2", "maml.cg_iters=2",
        "meta_test.num_tasks=2", "meta_test.num_steps=1", "meta_test.num_episodes=2"]


@pytest.mark.parametrize("override, message", [
    ("seed=99999999999999999999999", "seed must be an integer of magnitude at most 2**62"),
    ("meta_test.seed=99999999999999999999999", "meta_test.seed must be an integer"),
    ("run_name=" + "a" * 300, "run_name must be at most 200 bytes"),
    ("maml.cg_iters=5000", "maml.cg_iters must be at most 100 (conjugate gradient"),
    ("policy.init_std=.inf", "policy.init_std must be a finite number, got inf"),
    # a section another learner reads would be silently ignored: refused
    ("rl2.hidden_size=8", "rl2.* is not read by algo=maml, which reads maml.*, policy.*"),
    ("maml.inner_lr=.nan", "maml.inner_lr must be a finite number, got nan"),
    ("env=Nope-v0", "env must be one of AntDir-v0, AntGoal-v0, AntVel-v0, BernoulliBandit-10, "
                    "BernoulliBandit-5, BernoulliBandit-50, BernoulliBandit-misc, "
                    "CartPoleDynamics-v0, GaussianBandit-misc, HalfCheetahDir-v0, "
                    "HalfCheetahVel-v0, MetaMaze-misc, Navigation2D-v0, TabularMDP-v0, "
                    "Sinusoid-5shot, Sinusoid-10shot, Sinusoid-20shot; got 'Nope-v0'"),
    ("maml.num_tasks=0", "maml.num_tasks must be a positive integer, got 0"),
    ("maml.num_episodes=-3", "maml.num_episodes must be a positive integer, got -3"),
    ("maml.inner_lr=0", "maml.inner_lr must be > 0, got 0.0"),
    ("maml.inner_lr=-0.1", "maml.inner_lr must be > 0, got -0.1"),
    ("maml.max_kl=-1", "maml.max_kl must be > 0, got -1.0"),
    ("meta_test.lr=0", "meta_test.lr must be > 0, got 0.0"),
    ("policy.hidden_sizes=[64,0]", "policy.hidden_sizes must be a positive integer, got 0"),
    ("maml.outer=sgdd", "maml.outer must be one of trpo, promp, reptile, adam"),
    ("maml.estimator=reinforce", "maml.estimator must be one of vpg, lvc, dice"),
    ("algo=sac", "algo must be one of maml, fomaml, metasgd, anil, cavia, reptile, promp, "
                 "emaml, dice, rl2, dqn, ppo, a2c; got 'sac'"),
    ("algo=rl2 rl2.num_envs=6", "rl2.num_envs (6) must be divisible by num_minibatches (4)"),
    ("algo=rl2 rl2.gae_lambda=2", "rl2.gae_lambda must be in [0.0, 1.0], got 2"),
    ("maml.gamma=1.5", "maml.gamma must be in [0.0, 1.0], got 1.5"),
    ("maml.inner_steps=1.5", "maml.inner_steps must be of type int, got 1.5"),
    ("maml.first_order=3", "maml.first_order must be of type bool, got 3"),
    ("maml.bogus=1", "unknown config key maml.bogus; allowed:"),
    ("num_iterations=0", "num_iterations must be a positive integer, got 0"),
    ("nokey", "override 'nokey' must look like key=value"),
    ("meta_test.step_sizes=[0.5]", "meta_test.step_sizes must list num_steps=3 step sizes"),
])
def test_bad_values_raise_one_line_errors(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, override.split(" "))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_contradicted_preset_is_an_error():
    with pytest.raises(ConfigError, match="algo=fomaml means maml.first_order=True; "
                                          "maml.first_order=False contradicts it"):
        load_config(None, ["algo=fomaml", "maml.first_order=false"])
    config = load_config(None, ["algo=promp", "maml.outer=promp"])  # agreeing is fine
    assert config.maml.estimator == "lvc"


@pytest.mark.parametrize("raw, value", [("1e-3", 1e-3), ("3E-4", 3e-4), (".5", 0.5),
                                        ("2.5e+1", 25.0), ("2", 2.0)])
def test_numbers_parse_as_people_write_them(raw, value, tmp_path):
    assert load_config(None, [f"maml.outer_lr={raw}"]).maml.outer_lr == value
    path = tmp_path / "config.yaml"  # YAML 1.1 reads 1e-3 as a string; the config does not
    path.write_text(f"algo: rl2\nrl2:\n  lr: {raw}\n")
    assert load_config(path).rl2.lr == value


def test_runs_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["train", f"runs_dir={tmp_path / 'file'}", *TINY]) == 2
    err = capsys.readouterr().err
    assert "cannot create the run directory" in err and "Not a directory" in err
    assert err.count("\n") == 1


def test_policy_must_match_action_space():
    config = load_config(None, ["policy.kind=categorical"])
    with pytest.raises(ConfigError, match="policy.kind 'categorical' needs a Discrete action space"):
        build_algorithm(config)


def test_config_files(tmp_path):
    good = tmp_path / "c.yaml"
    good.write_text("maml:\n  inner_lr: 0.5\npolicy:\n  hidden_sizes: [100, 100]\n")
    config = load_config(good, ["maml.inner_lr=0.3"])
    assert config.maml.inner_lr == 0.3 and config.policy.hidden_sizes == (100, 100)
    (tmp_path / "c.json").write_text(json.dumps({"seed": 3}))
    assert load_config(tmp_path / "c.json").seed == 3
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("maml: [unclosed\n")
    with pytest.raises(ConfigError, match="is malformed"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text("{'seed': 1")
    with pytest.raises(ConfigError, match="is malformed"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "c.toml").write_text("seed = 1\n")
    with pytest.raises(ConfigError, match="must end in .yaml, .yml or .json"):
        load_config(tmp_path / "c.toml")


@pytest.mark.parametrize("name", sorted(
    p.name for p in (Path(__file__).parent.parent / "benchmarks" / "configs").glob("*.yaml")))
def test_every_shipped_config_loads(name):
    """The configs the README and the benchmarks run (reference, MAML paper, locomotion with
    MAML-TRPO, ProMP or RL^2) load and validate; the navigation ones build their learner."""
    path = Path(__file__).parent.parent / "benchmarks" / "configs" / name
    config = load_config(path)
    assert config.num_iterations >= 1 and config.env
    if config.env == "Navigation2D-v0":
        build_algorithm(config)
    if config.algo == "maml":  # the MAML family's presets apply on top of the same file
        assert load_config(path, ["algo=promp", "maml.outer=promp"]).maml.estimator == "lvc"


def test_cli_error_is_one_line_and_writes_nothing(tmp_path, capsys):
    code = main(["train", f"runs_dir={tmp_path}", "maml.inner_lr=-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "metajax: error: maml.inner_lr must be > 0, got -1.0\n"
    assert list(tmp_path.iterdir()) == []


def test_cli_train_evaluate_and_no_overwrite(tmp_path, capsys):
    args = ["train", f"runs_dir={tmp_path}", "run_name=tiny", *TINY]
    assert main(args) == 0
    run = tmp_path / "tiny"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [1, 2]
    assert {"pre_return", "post_return", "kl", "accepted"} <= set(records[0])
    assert (run / "learning_curves.png").stat().st_size > 1000
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 100  # TensorBoard scalars
    assert json.loads((run / "config.json").read_text())["maml"]["num_tasks"] == 2
    trained = json.loads((run / "meta_test.json").read_text())["returns"]
    assert len(trained) == 2

    # the checkpoint restores the trained params exactly
    config = load_config(run / "config.json")
    algo = build_algorithm(config)
    state = checkpoint.restore_latest(run / "checkpoints", algo.init(jax.random.key(0)))[0]
    assert int(state.iteration) == 2

    # evaluate re-runs the same protocol on the checkpoint, prints the table and writes its
    # own file, leaving the training's meta_test.json alone
    capsys.readouterr()
    before = (run / "meta_test.json").read_text()
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "| adaptation steps | mean return | s.e. |" in out
    evaluated = json.loads((run / "evaluations" / "step_2.json").read_text())
    np.testing.assert_allclose(evaluated["returns"], trained, rtol=1e-5)
    assert (run / "meta_test.json").read_text() == before

    # a second start with the same name fails before touching the earlier run
    before = (run / "metrics.jsonl").read_text()
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run / "metrics.jsonl").read_text() == before


def test_evaluate_rejects_a_non_run_directory(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a metajax run directory" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "seeds=3"]) == 2
    err = capsys.readouterr().err
    assert "evaluate takes meta_test.* overrides only" in err and err.count("\n") == 1


def test_python_dash_m_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "metajax", "train", "maml.num_tasks=0"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "metajax: error: maml.num_tasks must be a positive integer, got 0"


def test_meta_step_traces_once(algo):
    chex.clear_trace_counter()
    step = jax.jit(chex.assert_max_traces(algo.step, n=1))
    state = algo.init(jax.random.key(0))
    for i in range(3):
        state, _ = step(state, jax.random.key(i))
    jax.block_until_ready(state)


def test_optax_outer_loop(tmp_path):
    from conftest import tiny_algo

    algo = tiny_algo(outer="adam", outer_lr=1e-2)
    state = algo.init(jax.random.key(0))
    new, metrics = jax.jit(algo.step)(state, jax.random.key(1))
    changed = jax.tree.map(lambda a, b: bool(np.any(a != b)), state.params, new.params)
    assert all(jax.tree.leaves(changed)) and np.isfinite(float(metrics["grad_norm"]))


def test_env_kwargs_are_checked():
    with pytest.raises(ConfigError, match="env_kwargs for Navigation2D-v0: .*'bogus'"):
        build_algorithm(load_config(None, ["env_kwargs={bogus: 1}"]))
    with pytest.raises(ConfigError, match="env_kwargs must be of type dict"):
        load_config(None, ["env_kwargs=3"])
    for kwargs, message in (("{goal_low: a}", "env_kwargs.goal_low must be of type float"),
                            ("{horizon: 0.5}", "env_kwargs.horizon must be of type int, got 0.5"),
                            ("{horizon: 0}", "horizon must be > 0, got 0")):
        with pytest.raises(ConfigError, match=message):
            build_algorithm(load_config(None, [f"env_kwargs={kwargs}"]))


