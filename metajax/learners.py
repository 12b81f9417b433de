"""The learner registry: every ``algo`` a run can name, with the config sections it reads
(:data:`metajax.config.SECTIONS`) and the builder that turns a checked
:class:`~metajax.config.TrainConfig` into a :class:`~metajax.meta_learner.MetaLearner`. The
CLI, the training loop and evaluation use only what these build."""

from __future__ import annotations

from typing import Callable, NamedTuple

import gymnax
from gymnax.environments import spaces

from metajax import xla_cpu
from metajax.algorithms import dqn, ppo
from metajax.algorithms.agent_runs import MetaInitRun, SingleTaskRun
from metajax.algorithms.maml import MAML
from metajax.algorithms.regression import FewShotRegression
from metajax.algorithms.rl2 import RL2, make_rl2_policy
from metajax.config import (ALGORITHMS, RL_ONLY, SECTIONS, SUPERVISED, ConfigError,
                            TrainConfig, check_env_kwargs)
from metajax.distributed import task_mesh
from metajax.envs.registry import make, registered_envs
from metajax.envs.sinusoid import Sinusoid
from metajax.envs.trials import Trials
from metajax.meta_learner import MetaLearner
from metajax.networks import Regressor, make_policy


def _task_env(config: TrainConfig):
    check_env_kwargs(config.env, config.env_kwargs)
    try:
        return make(config.env, **config.env_kwargs)[0]
    except (TypeError, ValueError, ArithmeticError) as err:
        raise ConfigError(f"env_kwargs for {config.env}: {err}") from None
    except ImportError as err:  # an optional extra (brax for the locomotion tasks)
        raise ConfigError(f"env {config.env}: {err}") from None


def _build_maml(config: TrainConfig) -> MAML | FewShotRegression:
    if config.env in SUPERVISED:
        return _build_regression(config)
    env = _task_env(config)
    p = config.policy
    try:
        policy = make_policy(p.kind, env.obs_shape, env.action_space(), p.hidden_sizes,
                             p.activation, p.init_std, p.context_dim)
    except ValueError as err:
        raise ConfigError(f"policy.{err}") from None
    if config.maml.adapt == "context" and not p.context_dim:
        raise ConfigError("maml.adapt=context (CAVIA) needs policy.context_dim > 0")
    try:
        mesh = task_mesh(config.devices or None) if config.devices != 1 else None
        algo = MAML(env, policy, config.maml, mesh)
    except ValueError as err:
        raise ConfigError(f"devices={config.devices}: {err}") from None
    test = config.meta_test_protocol()
    try:
        algo.check_env_batch(config.maml.num_tasks, config.maml.num_episodes, "maml",
                             sharded=True, copies=config.members, chunk_name="maml.task_chunk")
        algo.check_env_batch(test.num_tasks, test.num_episodes, "meta_test",
                             copies=config.members, chunk_name="maml.task_chunk")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return algo


def _build_rl2(config: TrainConfig) -> RL2:
    if config.env in SUPERVISED:
        _refuse_supervised(config)
    c = config.rl2
    env = _task_env(config)
    try:
        trials = Trials(env, c.trial_episodes)
        policy = make_rl2_policy(trials, c)
        algo = RL2(trials, policy, c, config.num_iterations)
        algo.check_env_batch(c.num_envs, "rl2", "rl2.num_envs", config.members)
        algo.check_env_batch(config.meta_test.num_tasks, "meta_test", "meta_test.num_tasks",
                             config.members)
    except ValueError as err:
        raise ConfigError(f"rl2 on {config.env}: {err}") from None
    return algo


def _build_agent(config: TrainConfig) -> SingleTaskRun | MetaInitRun:
    if config.env in SUPERVISED:
        _refuse_supervised(config)
    single = config.env not in registered_envs()
    try:
        env, env_params = (gymnax.make if single else make)(config.env, **config.env_kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"env_kwargs for {config.env}: {err}") from None
    action_space = env.action_space(env_params)
    if config.algo == "dqn":
        if not isinstance(action_space, spaces.Discrete):
            raise ConfigError(f"algo dqn needs discrete actions; {config.env} has a "
                              f"{type(action_space).__name__} action space (use algo ppo)")
        learner = dqn.make_learner(config.dqn, env, env_params)
    else:
        if config.ppo.algo != config.algo:
            raise ConfigError(f"ppo.algo={config.ppo.algo} contradicts algo={config.algo}; "
                              "set only algo (ppo or a2c)")
        learner = ppo.make_learner(config.ppo, env, env_params)
    try:
        if single:
            return SingleTaskRun(learner, config.num_iterations)
        _check_meta_init_env_batches(config, env)
        return MetaInitRun(learner, env, config.meta_init, config.num_iterations)
    except ValueError as err:
        raise ConfigError(f"{config.algo} on {config.env}: {err}") from None


def _check_meta_init_env_batches(config: TrainConfig, env) -> None:
    """Reptile runs every task's learner (its ``num_envs`` envs) in one vmap, and its meta-test
    evaluates every held-out task's episodes at once: both within ``max_envs_per_call()``."""
    envs = config.dqn.num_envs if config.algo == "dqn" else config.ppo.num_envs
    test = config.meta_test_protocol()
    tasks = config.meta_init.tasks_per_iteration
    xla_cpu.check_env_batch(f"meta_init ({tasks} tasks x {envs} envs)",
                            config.members * tasks * envs, env,
                            f"lower meta_init.tasks_per_iteration or {config.algo}.num_envs")
    xla_cpu.check_env_batch(f"meta_test ({test.num_tasks} tasks)",
                            config.members * test.num_tasks * max(envs, test.num_episodes), env,
                            "lower meta_test.num_tasks")


def _refuse_supervised(config: TrainConfig):
    raise ConfigError(f"algo {config.algo} works on RL environments only; for "
                      f"{config.env} use one of "
                      + ", ".join(a for a in ALGORITHMS if a not in RL_ONLY))


def _build_regression(config: TrainConfig) -> FewShotRegression:
    if config.algo in RL_ONLY:
        _refuse_supervised(config)
    p = config.policy
    if config.maml.adapt == "context" and not p.context_dim:
        raise ConfigError("maml.adapt=context (CAVIA) needs policy.context_dim > 0")
    network = Regressor(p.hidden_sizes, p.activation, 1, p.context_dim)
    try:
        return FewShotRegression(Sinusoid(SUPERVISED[config.env]), network, config.maml)
    except ValueError as err:
        raise ConfigError(f"maml.{err}") from None


class LearnerEntry(NamedTuple):
    """A registered learner: the config sections it reads and its builder."""

    sections: tuple[str, ...]  # TrainConfig fields it reads, its own settings first
    build: Callable[[TrainConfig], MetaLearner]

    @property
    def section(self) -> str:
        """The config section of the learner's own settings (maml, rl2, dqn, ppo)."""
        return self.sections[0]


_BUILDERS = {**{name: _build_maml for name in ALGORITHMS}, "rl2": _build_rl2,
             "dqn": _build_agent, "ppo": _build_agent, "a2c": _build_agent}
# every ``algo``, with its sections and builder
LEARNERS: dict[str, LearnerEntry] = {
    name: LearnerEntry(SECTIONS[name], _BUILDERS[name]) for name in SECTIONS}
