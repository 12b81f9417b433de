"""Strict JSON outputs: non-finite floats written as null and listed, never bare NaN."""

import json

from metajax.jsonio import strict_json, write_json_atomic


def test_non_finite_values_become_null_and_are_listed(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"returns": [1.0, float("nan")], "x": {"y": float("-inf")},
                             "ok": 2})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data == {"returns": [1.0, None], "x": {"y": None}, "ok": 2,
                    "nonfinite": ["returns[1]", "x.y"]}
    assert not list(tmp_path.glob("*.tmp"))


def test_finite_data_is_unchanged():
    data = {"a": [1, 2.5, {"b": "c"}], "d": None}
    assert strict_json(data) == (data, [])
