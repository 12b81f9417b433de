"""Property test: random bad configs (wrong types, ranges, unknown keys, non-finite numbers,
integers past 2**62, bad ``env_kwargs``) and config files thrown at the CLI each give a
one-line error and exit status 2, with no traceback and no file created or changed under the
runs directory."""

import dataclasses
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metajax.cli import main
from metajax.config import TrainConfig

FREE_FORM = {"run_name", "runs_dir", "wandb_project", "env_kwargs"}  # any string is valid


def typed_fields(cls=TrainConfig, prefix=""):
    """(dotted key, default) for every leaf field of the config dataclasses."""
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(default):
            yield from typed_fields(type(default), f"{prefix}{f.name}.")
        elif f.name not in FREE_FORM:
            yield f"{prefix}{f.name}", default


FIELDS = list(typed_fields())
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def bad_override(draw):
    """A wrong-typed, out-of-range or unknown ``key=value``, or a malformed override."""
    key, default = draw(st.sampled_from(FIELDS))
    kind = draw(st.sampled_from(["type", "range", "unknown", "malformed"]))
    if kind == "unknown":
        return f"{key}{draw(words)}=1"
    if kind == "malformed":
        return draw(st.sampled_from(["=1", "nokey", "maml.inner_lr=[1,", "a..b=1"]))
    if kind == "range" and isinstance(default, (int, float)) and not isinstance(default, bool):
        return f"{key}={draw(st.integers(-10**6, -1))}"
    if isinstance(default, bool):
        value = draw(st.sampled_from(["3", "x", "[1]", "1.5"]))
    elif isinstance(default, (int, float)):
        value = draw(st.sampled_from(["abc", "[1, 2]", "true", "{a: 1}"]))
    elif isinstance(default, tuple):
        value = draw(st.sampled_from(["abc", "7", "{a: 1}"]))
    else:  # a string from a fixed set (env, algo, activation, ...)
        value = "zz" + draw(words)
    return f"{key}={value}"


non_finite = st.sampled_from([".nan", ".inf", "-.inf"])
fractional = st.floats(-1e6, 1e6).filter(lambda x: not float(x).is_integer())


@st.composite
def bad_value(draw):
    """A non-finite float, an integer past 2**62, a fraction for an integer field, or an
    ``env_kwargs`` that the environment's constructor refuses (unknown name, wrong type,
    out of range)."""
    kind = draw(st.sampled_from(["non_finite", "huge", "fraction", "env_kwargs"]))
    floats = [k for k, d in FIELDS if isinstance(d, float)]
    ints = [k for k, d in FIELDS if isinstance(d, int) and not isinstance(d, bool)]
    if kind == "non_finite":
        return f"{draw(st.sampled_from(floats))}={draw(non_finite)}"
    if kind == "huge":
        return f"{draw(st.sampled_from(ints))}={draw(st.integers(2**62 + 1, 2**80))}"
    if kind == "fraction":
        return f"{draw(st.sampled_from(ints))}={draw(fractional)!r}"
    return "env_kwargs=" + draw(st.one_of(
        words.filter(lambda w: w not in {"goal_low", "goal_high", "max_action", "horizon",
                                         "goal_tolerance", "action_scale"}).map(
            lambda w: f"{{{w}: 1}}"),
        fractional.map(lambda x: f"{{horizon: {x!r}}}"),
        st.integers(-10**6, 0).map(lambda x: f"{{horizon: {x}}}"),
        words.filter(lambda w: w not in {"true", "false", "yes", "no", "on", "off", "null",
                                         "y", "n"}).map(lambda w: f"{{goal_low: {w}}}"),
        st.floats(0.5, 10).map(lambda x: f"{{goal_low: {x!r}}}")))


INCOMPATIBLE = [
    ["algo=dqn", "env=Pendulum-v1"],
    ["algo=maml", "env=CartPole-v1"],
    ["policy.kind=categorical"],
    ["maml.adapt=context"],
    ["algo=rl2", "env=Sinusoid-5shot"],
    ["algo=a2c", "env=CartPole-v1", "ppo.algo=ppo"],
    ["meta_test.step_sizes=[0.1]"],
    ["devices=3"],
    ["maml.task_chunk=7"],
    ["maml.task_groups=3"],
]


def run_cli(args, runs: Path, capsys) -> None:
    before = sorted(runs.rglob("*"))
    code = main(["train", f"runs_dir={runs}", "run_name=r", *args])
    err = capsys.readouterr().err
    assert code == 2, (args, err)
    assert err.startswith("metajax: error: ") and err.count("\n") == 1, (args, err)
    assert "Traceback" not in err
    assert sorted(runs.rglob("*")) == before


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(st.one_of(bad_override(), bad_value()), min_size=1, max_size=3))
def test_bad_overrides_are_one_line_errors(overrides, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        run_cli(overrides, Path(tmp), capsys)


@settings(max_examples=len(INCOMPATIBLE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(combo=st.sampled_from(INCOMPATIBLE))
def test_incompatible_combinations_are_one_line_errors(combo, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        run_cli(combo, Path(tmp), capsys)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.text(max_size=200).map(str.encode), st.binary(max_size=200)),
       suffix=st.sampled_from([".yaml", ".json", ".txt"]))
def test_bad_config_files_are_one_line_errors(content, suffix, capsys):
    if suffix != ".txt":  # a file that parses to a valid (possibly empty) config is fine
        try:
            text = content.decode("utf-8")
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except Exception:
            data = "unparsable"
        assume(not (data is None or data == {}))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"config{suffix}"
        path.write_bytes(content)
        runs = Path(tmp) / "runs"
        runs.mkdir()
        run_cli(["--config", str(path)], runs, capsys)
