"""Run configuration: frozen dataclasses validated on construction, loaded from YAML or JSON
plus dotted ``key=value`` overrides (``maml.inner_lr=0.5``). Every problem is a one-line
:class:`ConfigError` naming the field and what is allowed, raised before any compilation."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import itertools
import json
import math
from pathlib import Path
from typing import Any, Sequence

import gymnax

from metajax import checks
from metajax.algorithms import dqn, ppo
from metajax.algorithms.agent_runs import AGENTS
from metajax.algorithms.maml_config import MAMLConfig
from metajax.algorithms.meta_init import ReptileConfig
from metajax.algorithms.rl2 import RL2Config
from metajax.meta_learner import MetaLearner
from metajax.envs.registry import constructor, registered_envs
from metajax.metrics_log import check_wandb
from metajax.networks import check_policy_args
# parsing lives in config_parsing; these names are also the config API (metajax.config.X)
from metajax.config_parsing import (ConfigError, coerce_value, field_default, from_dict,  # noqa: F401
                                    merge, parse_overrides, read_config_file)
from metajax.protocol import DEFAULT_EPISODES, DEFAULT_LR, MetaTestConfig


# supervised few-shot task families (trained by FewShotRegression): id -> shots
SUPERVISED = {"Sinusoid-5shot": 5, "Sinusoid-10shot": 10, "Sinusoid-20shot": 20}
# the MAML paper's sinusoid setup, used for those ids unless the run says otherwise
SUPERVISED_DEFAULTS: dict[str, Any] = {
    "num_iterations": 70_000, "checkpoint_every": 10_000,
    "policy": {"hidden_sizes": [40, 40], "activation": "relu"},
    "maml": {"num_tasks": 25, "inner_lr": 0.01, "outer": "adam", "outer_lr": 1e-3},
    "meta_test": {"num_tasks": 600, "num_steps": 10, "lr": 0.01},
}


# each algorithm of the MAML family is MAML with these settings: ``algo=anil`` sets
# ``maml.adapt=head``, and a ``maml.*`` value that contradicts its algo is a config error
ALGORITHMS: dict[str, dict[str, Any]] = {
    "maml": {},
    "fomaml": {"first_order": True},
    "metasgd": {"inner_rule": "meta_sgd"},
    "anil": {"adapt": "head"},
    "cavia": {"adapt": "context"},
    "reptile": {"outer": "reptile", "first_order": True},
    "promp": {"estimator": "lvc", "outer": "promp"},
    "emaml": {"exploration": True},
    "dice": {"estimator": "dice"},
}
# the config sections each ``algo`` reads: a run that sets another learner's section is refused
# (its values would be silently ignored); the first is the algo's own settings
SECTIONS: dict[str, tuple[str, ...]] = {
    **{name: ("maml", "policy") for name in ALGORITHMS},
    "rl2": ("rl2",),
    "dqn": ("dqn", "meta_init"),
    "ppo": ("ppo", "meta_init"),
    "a2c": ("ppo", "meta_init"),
}
LEARNER_SECTIONS = ("policy", "maml", "rl2", "dqn", "ppo", "meta_init")
# Reptile needs several inner steps (with one it is joint training: Nichol et al. 2018), each
# on fresh samples in RL; its outer step: near 1 in RL, 0.01 on sinusoids (0.1 diverged)
REPTILE_RL: dict[str, Any] = {"inner_steps": 5, "outer_lr": 1.0}
REPTILE_SUPERVISED: dict[str, Any] = {"inner_steps": 5, "outer_lr": 0.01}
# meta-gradient estimators of the RL objective: no meaning for supervised regression
RL_ONLY = ("promp", "emaml", "dice")
# deep-RL learners (``dqn.*``, ``ppo.*`` settings; a2c is ppo.algo=a2c): trained on a single
# gymnax environment, or meta-initialised by Reptile (``meta_init.*``) on a task distribution
META_INIT_DEFAULTS: dict[str, Any] = {  # a short inner run: the fine-tuning budget
    "num_iterations": 30,
    "dqn": {"total_steps": 20_000, "learning_starts": 1_000, "epsilon_fraction": 0.3},
    "ppo": {"total_steps": 16_384},
}
SINGLE_TASK_DEFAULTS: dict[str, Any] = {"meta_test": {"num_episodes": 100}}


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    kind: str = "auto"
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    init_std: float = 1.0
    context_dim: int = 0

    def __post_init__(self):
        check_policy_args(self.kind, self.hidden_sizes, self.activation, self.init_std,
                          self.context_dim)


# fields that do not change what a checkpointed state means (a resume may extend a run)
BOOKKEEPING = ("num_iterations", "run_name", "runs_dir", "checkpoint_every", "checkpoint_at",
               "log_every", "devices", "max_nonfinite", "wandb_project", "meta_test")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A whole run; the defaults are the ``make demo`` run (reference MAML-TRPO, shortened)."""

    env: str = "Navigation2D-v0"
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    algo: str = "maml"
    num_iterations: int = 100
    seed: int = 0
    run_name: str | None = None
    runs_dir: str = "runs"
    checkpoint_every: int = 50
    checkpoint_at: tuple[int, ...] = ()  # also checkpoint these iterations, never pruned
    log_every: int = 1  # progress line every n iterations when output is not a terminal
    devices: int = 1  # MAML family: shard the task axis over this many devices (0: all)
    seeds: int = 1  # independent meta-learners (seed, seed + 1, ...) in one vmapped run
    max_nonfinite: int = 3  # non-finite updates in a row (each skipped) before the run stops
    wandb_project: str | None = None  # also log to Weights & Biases (needs wandb installed)
    policy: PolicyConfig = PolicyConfig()
    maml: MAMLConfig = MAMLConfig()
    rl2: RL2Config = RL2Config()
    dqn: dqn.DQNConfig = dqn.DQNConfig()
    ppo: ppo.PPOConfig = ppo.PPOConfig()
    meta_init: ReptileConfig = ReptileConfig()
    meta_test: MetaTestConfig = MetaTestConfig()
    # traced hyperparameters swept in one vmapped run, {"maml.inner_lr": [0.05, 0.1]} (grid)
    sweep: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        checks.one_of("algo", self.algo, tuple(SECTIONS))
        object.__setattr__(self, "sweep", _check_sweep(self))
        distributions = registered_envs() + tuple(SUPERVISED)
        if self.algo in AGENTS and self.env not in distributions:
            checks.one_of("env", self.env, distributions + tuple(gymnax.registered_envs))
        elif self.env in gymnax.registered_envs and self.env not in distributions:
            raise ValueError(f"env {self.env} is a single gymnax environment, not a task "
                             f"distribution: algo {self.algo} needs one of "
                             f"{', '.join(distributions)} (on {self.env}, use algo "
                             f"{'|'.join(AGENTS)})")
        else:
            checks.one_of("env", self.env, distributions)
        checks.positive("num_iterations", self.num_iterations, integer=True)
        checks.non_negative_int("seed", self.seed)
        checks.positive("checkpoint_every", self.checkpoint_every, integer=True)
        for step in self.checkpoint_at:
            checks.positive("checkpoint_at", step, integer=True)
            if step > self.num_iterations:
                raise ValueError(f"checkpoint_at {step} is past num_iterations="
                                 f"{self.num_iterations}")
        object.__setattr__(self, "checkpoint_at", tuple(sorted(set(self.checkpoint_at))))
        checks.positive("log_every", self.log_every, integer=True)
        checks.non_negative_int("devices", self.devices)
        checks.positive("max_nonfinite", self.max_nonfinite, integer=True)
        checks.positive("seeds", self.seeds, integer=True)
        if self.seeds > 1 and self.devices != 1:
            raise ValueError(f"seeds={self.seeds} with devices={self.devices}: several seeds "
                             "run on one device; use devices=1")
        check_wandb(self.wandb_project)
        if self.run_name is not None and (not self.run_name or "/" in self.run_name
                                          or self.run_name.startswith(".")):
            raise ValueError(f"run_name must be a plain directory name, got {self.run_name!r}")
        if self.run_name is not None and len(self.run_name.encode()) > 200:
            raise ValueError(f"run_name must be at most 200 bytes (file systems allow 255), "
                             f"got {len(self.run_name.encode())}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def state_fingerprint(self) -> str:
        """SHA-256 of the fields that give a checkpointed state its meaning (everything but
        the run's bookkeeping and meta-test protocol), stored with every checkpoint."""
        data = {k: v for k, v in self.to_dict().items() if k not in BOOKKEEPING}
        if not self.sweep:  # runs from before sweeps existed keep their fingerprint
            del data["sweep"]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def members(self) -> int:
        """Learners trained side by side in one vmapped run: the seeds, or the sweep's points."""
        return len(sweep_points(self.sweep)) if self.sweep else self.seeds

    def member(self, index: int) -> TrainConfig:
        """The single-learner run that sweep point ``index`` stands for (``self`` without a
        sweep): swept member ``i`` equals this run."""
        if not self.sweep:
            return self
        sections: dict[str, dict[str, Any]] = {}
        for key, value in sweep_points(self.sweep)[index].items():
            section, name = key.split(".")
            sections.setdefault(section, {})[name] = value
        return dataclasses.replace(self, sweep={}, **{
            section: dataclasses.replace(getattr(self, section), **fields)
            for section, fields in sections.items()})

    def meta_test_from_training(self) -> tuple[str, ...]:
        """The ``meta_test`` fields left unset that follow the training's inner loop
        (``lr`` -> ``maml.inner_lr``, ``num_episodes`` -> ``maml.num_episodes``)."""
        if self.algo not in ALGORITHMS:
            return ()
        names = ("num_episodes",) if self.meta_test.step_sizes else ("lr", "num_episodes")
        return tuple(name for name in names if getattr(self.meta_test, name) is None)

    def meta_test_protocol(self) -> MetaTestConfig:
        """The meta-test protocol in effect: ``meta_test`` with an unset step size and
        episodes per step taken from ``maml`` (MAML family) or else 0.1 and 20."""
        if self.algo in ALGORITHMS:
            return self.meta_test.resolve(self.maml.inner_lr, self.maml.num_episodes)
        return self.meta_test.resolve(DEFAULT_LR, DEFAULT_EPISODES)


# hyperparameters that only enter traced arithmetic, so a sweep over them is one vmap and one
# compile (the MAML family); anything that changes shapes or program structure is not here
SWEEPABLE = tuple(f"maml.{name}" for name in (
    "inner_lr", "outer_lr", "max_kl", "gamma", "gae_lambda", "clip_eps", "kl_coef",
    "cg_damping"))
MAX_SWEEP_POINTS = 256


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def sweep_points(sweep: dict[str, tuple]) -> list[dict[str, float]]:
    """Every combination of a checked sweep's values (a grid), the first key slowest."""
    return [dict(zip(sweep, values)) for values in itertools.product(*sweep.values())]


def _check_sweep(config: TrainConfig) -> dict[str, tuple]:
    """The sweep as ``{"maml.inner_lr": (0.05, 0.1)}``; a name that cannot be swept, a value
    that is not a number, or a point that is not a valid config is a one-line error."""
    sweep = _flatten(config.sweep)
    if not sweep:
        return {}
    if SECTIONS[config.algo][0] != "maml":
        raise ValueError(f"sweep: algo {config.algo} has no sweepable hyperparameters (the "
                         "MAML family has)")
    if config.seeds != 1 or config.devices != 1:
        raise ValueError("a sweep runs one learner per point on one device: use seeds=1 and "
                         "devices=1")
    for key, values in sweep.items():
        if key not in SWEEPABLE:
            raise ValueError(f"sweep.{key} cannot be swept; allowed: sweep."
                             + ", sweep.".join(SWEEPABLE))
        if not isinstance(values, (list, tuple)) or not values or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values):
            raise ValueError(f"sweep.{key} must be a non-empty list of finite numbers, got "
                             f"{values!r}")
        sweep[key] = tuple(float(v) for v in values)
    if (points := math.prod(len(v) for v in sweep.values())) > MAX_SWEEP_POINTS:
        raise ValueError(f"the sweep has {points} points; at most {MAX_SWEEP_POINTS} run in "
                         "one program")
    for point in sweep_points(sweep):
        for key, value in point.items():
            section, name = key.split(".")
            try:
                dataclasses.replace(getattr(config, section), **{name: value})
            except ValueError as err:
                raise ValueError(f"sweep.{key}={value}: {err}") from None
    return sweep


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Defaults, then the algorithm's presets (:data:`ALGORITHMS`), then the file (if any),
    then the overrides."""
    data = merge(read_config_file(path) if path is not None else {}, parse_overrides(overrides))
    base: dict[str, Any] = dict(SUPERVISED_DEFAULTS) if data.get("env") in SUPERVISED else {}
    algo = data.get("algo", "maml")
    _refuse_unread_sections(algo, data)
    if algo in AGENTS:
        single = data.get("env", TrainConfig.env) not in registered_envs()
        base = merge(SINGLE_TASK_DEFAULTS if single else META_INIT_DEFAULTS,
                     {"ppo": {"algo": algo}} if algo != "dqn" else {})
    if algo in ALGORITHMS:
        given = data.get("maml") if isinstance(data.get("maml"), dict) else {}
        for key, value in ALGORITHMS[algo].items():
            if key in given and given[key] != value:
                raise ConfigError(f"algo={algo} means maml.{key}={value}; maml.{key}="
                                  f"{given[key]} contradicts it (choose the algo that has it)")
        presets = dict(ALGORITHMS[algo])
        if algo == "reptile":
            presets.update(REPTILE_SUPERVISED if data.get("env") in SUPERVISED else REPTILE_RL)
        base = merge(base, {"maml": presets})
        if algo == "cavia":
            base = merge(base, {"policy": {"context_dim": 5}})
    data = merge(base, data)
    return from_dict(TrainConfig, data)


def _refuse_unread_sections(algo: str, data: dict[str, Any]) -> None:
    """A section that ``algo`` does not read, set to anything but its defaults, would be
    silently ignored: a one-line error. (A run's own ``config.json`` holds every section at
    its defaults, so it loads as a config file.)"""
    for section in LEARNER_SECTIONS:
        if section not in data or algo not in SECTIONS or section in SECTIONS[algo]:
            continue
        default = field_default(next(f for f in dataclasses.fields(TrainConfig) if f.name == section))
        if from_dict(type(default), data[section], f"{section}.") != default:
            raise ConfigError(f"{section}.* is not read by algo={algo}, which reads "
                              + ", ".join(f"{name}.*" for name in SECTIONS[algo])
                              + f"; remove {section}.* or choose an algo that reads it")


def build_algorithm(config: TrainConfig) -> MetaLearner:
    """The learner a config describes, built by its ``algo``'s entry in
    :data:`metajax.learners.LEARNERS`; a mismatch between the policy and the environment's
    action space is a :class:`ConfigError`."""
    from metajax.learners import LEARNERS  # the registry builds from configs: it sits above

    if config.devices != 1 and (config.algo not in ALGORITHMS or config.env in SUPERVISED):
        raise ConfigError(f"devices={config.devices}: sharding over devices is for the MAML "
                          "family on RL task distributions; use devices=1")
    return LEARNERS[config.algo].build(config)


def check_env_kwargs(env_id: str, kwargs: dict[str, Any]) -> None:
    """Each of ``kwargs`` must be a keyword argument of ``env_id``'s constructor, of the type
    of its default (``horizon: 0.5`` is refused as not an int): one-line errors, before
    anything is built."""
    parameters = inspect.signature(constructor(env_id)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    named = {n: p for n, p in parameters.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    for name, value in kwargs.items():
        if name not in named:
            raise ConfigError(f"env_kwargs for {env_id}: unknown argument {name!r}; "
                              f"allowed: {', '.join(named) or 'none'}")
        default = named[name].default
        if default is not inspect.Parameter.empty:
            coerce_value(f"env_kwargs.{name}", value, default, str(named[name].annotation))
