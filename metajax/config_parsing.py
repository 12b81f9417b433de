"""Reading a run's configuration: YAML/JSON files, dotted ``key=value`` overrides, merging,
and building checked config dataclasses from nested dicts, field by field with the type of
each default. Every problem is a one-line :class:`ConfigError` naming the field."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import yaml


class ConfigError(ValueError):
    """A bad configuration value, file or override."""


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Builds config dataclass ``cls`` from a nested dict, checking names and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields), key=str)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(fields), n=1)
        hint = f"did you mean {prefix}{close[0]}? " if close else ""
        raise ConfigError(f"unknown config key {prefix}{unknown[0]}; {hint}allowed: "
                          f"{', '.join(sorted(fields))}")
    kwargs = {}
    for name, value in data.items():
        default = field_default(fields[name])
        if dataclasses.is_dataclass(default):
            kwargs[name] = from_dict(type(default), value, f"{prefix}{name}.")
        else:
            kwargs[name] = coerce_value(f"{prefix}{name}", value, default, str(fields[name].type))
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise ConfigError(f"{prefix}{err}") from None


def field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


INT_LIMIT = 2**62  # integers past this overflow JAX's int64 (seeds, counts)
FLOAT_LITERAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _float_literal(value: Any) -> Any:
    """``"1e-3"``, ``"3E-4"``, ``".5"`` as floats: YAML 1.1 (PyYAML) reads an exponent without a
    dot as a string, but people write numbers that way. Anything else is returned unchanged."""
    if isinstance(value, str) and FLOAT_LITERAL.fullmatch(value.strip()):
        return float(value)
    return value


def coerce_value(name: str, value: Any, default: Any, annotation: str) -> Any:
    """Checks ``value`` against the type of the field's default; a None default allows None
    or the first type its annotation names (``float | None``)."""
    expected = annotation if default is None else type(default).__name__
    if default is None and value is not None:
        default = {"float": 0.0, "int": 0}.get(annotation.split(" | ")[0], "")
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        value = _float_literal(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple))
        value = tuple(value) if ok else value
    elif default is None or isinstance(default, str):
        ok = value is None or isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{name} must be of type {expected}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_LIMIT:
        raise ConfigError(f"{name} must be an integer of magnitude at most 2**62, got {value}")
    return value


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """``["maml.inner_lr=0.5", "policy.hidden_sizes=[100,100]"]`` -> a nested dict."""
    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like key=value (e.g. maml.inner_lr=0.5)")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: cannot parse value {raw!r}") from None
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[leaf] = value
    return nested


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Reads a YAML (``.yaml``/``.yml``) or JSON (``.json``) config file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(f"config file {path} must end in .yaml, .yml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"config file {path} is malformed: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data
