"""Property test: every invalid override, env_kwargs included, is refused by the CLI with exit
status 2 and one line, no traceback, and leaves the runs directory untouched."""

import contextlib
import io
import string
import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from metajax.cli import main

POSITIVE_INTS = ["num_iterations", "maml.num_tasks", "maml.num_episodes", "maml.cg_iters",
                 "rl2.num_envs", "seeds"]
POSITIVE_FLOATS = ["maml.inner_lr", "maml.max_kl", "maml.outer_lr", "rl2.lr"]
UNIT_INTERVAL = ["maml.gamma", "maml.gae_lambda", "rl2.gamma"]

words = st.text(string.ascii_letters, min_size=1, max_size=8).filter(
    lambda w: w.lower() not in {"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
non_finite = st.sampled_from([".nan", ".inf", "-.inf"])
not_an_int = st.one_of(
    st.integers(max_value=0).map(str),
    st.integers(min_value=2**62 + 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: not float(x).is_integer()).map(repr),
    words, non_finite)
not_positive = st.one_of(st.floats(max_value=0.0, allow_nan=False).map(repr), words, non_finite)
outside_unit = st.one_of(st.floats(min_value=1.0001, max_value=1e9).map(repr),
                         st.floats(max_value=-1e-4, min_value=-1e9).map(repr), words)
bad_env_kwargs = st.one_of(
    st.sampled_from(["bogus", "goal", "Horizon"]).map(lambda k: f"{{{k}: 1}}"),
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: not float(x).is_integer()).map(lambda x: f"{{horizon: {x!r}}}"),
    st.integers(max_value=0).map(lambda x: f"{{horizon: {x}}}"),
    words.map(lambda w: f"{{goal_low: {w}}}"),
    st.floats(min_value=0.5, max_value=10).map(lambda x: f"{{goal_low: {x!r}}}"))

invalid_override = st.one_of(
    st.tuples(st.sampled_from(POSITIVE_INTS), not_an_int),
    st.tuples(st.sampled_from(POSITIVE_FLOATS), not_positive),
    st.tuples(st.sampled_from(UNIT_INTERVAL), outside_unit),
    st.tuples(st.just("env_kwargs"), bad_env_kwargs),
).map(lambda kv: f"{kv[0]}={kv[1]}")


@settings(max_examples=80, deadline=None)
@given(invalid_override)
def test_every_invalid_override_is_one_line_and_writes_nothing(override):
    with tempfile.TemporaryDirectory() as runs:
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            status = main(["train", f"runs_dir={runs}", override])
        message = err.getvalue()
        assert status == 2, (override, message, out.getvalue()[-500:])
        assert message.startswith("metajax: error: ") and message.count("\n") == 1, message
        assert "Traceback" not in message
        assert not any(Path(runs).iterdir()), override
