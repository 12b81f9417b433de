"""DQN, PPO and A2C as runs of the training loop (``metajax train algo=dqn ...``).

- On a single environment (any gymnax id, e.g. ``CartPole-v1``), :class:`SingleTaskRun`
  trains one learner; an iteration of the loop is a chunk of its updates (the whole run is
  split into ``num_iterations`` chunks), scored by the return of the episodes that ended in
  it and by the greedy policy's return. The final test is the greedy policy over
  ``meta_test.num_episodes`` episodes.
- On a task distribution (a metajax id, e.g. ``CartPoleDynamics-v0``), :class:`MetaInitRun`
  meta-learns the learner's initialisation by Reptile: an iteration is one Reptile step whose
  inner runs are whole training runs on sampled tasks. The meta-test fine-tunes the
  initialisation for one inner run on held-out tasks and reports the greedy return before
  and after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct

from metajax.algorithms.learner import Learner, mean_return, update_keys, whole_run
from metajax.algorithms.meta_init import ReptileConfig, make_reptile_step
from metajax.envs.base import TaskEnvironment
from metajax.meta_learner import Curves, MetaTestPlan

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig

AGENTS = ("dqn", "ppo", "a2c")
EPISODE_METRICS = ("episode_return_sum", "episodes")


@struct.dataclass
class LearnerRunState:
    learner: Any  # the learner's own state (DQNState, PPOState)
    run_key: jax.Array  # raw key data: update i draws from fold_in(run_key, i)
    iteration: jax.Array

    @property
    def meta_params(self):
        return self.learner.params


@struct.dataclass
class MetaInitState:
    params: Any  # the meta-learned initialisation
    iteration: jax.Array

    @property
    def meta_params(self):
        return self.params


class SingleTaskRun:
    """One learner on one environment, ``num_iterations`` chunks of updates."""

    score_names = ("train_return", "greedy_return")
    curves = Curves(("training episodes", "greedy policy"), "training runs", 1)

    def __init__(self, learner: Learner, num_iterations: int, eval_episodes: int = 10):
        if num_iterations > learner.num_updates:
            raise ValueError(f"num_iterations ({num_iterations}) must be at most the "
                             f"learner's number of updates ({learner.num_updates})")
        self.learner = learner
        self.eval_episodes = eval_episodes
        self.chunk = -(-learner.num_updates // num_iterations)  # updates per iteration

    def init(self, key: jax.Array) -> LearnerRunState:
        """The state of ``whole_run(learner)(key)`` before its first update."""
        init_key, run_key = jax.random.split(key)
        return LearnerRunState(self.learner.init(init_key), jax.random.key_data(run_key),
                               jnp.zeros((), jnp.int32))

    def step(self, state: LearnerRunState, eval_key: jax.Array):
        """The next chunk of updates (slots past the run's last update do nothing), then a
        greedy evaluation with ``eval_key``; the updates draw the whole run's keys."""
        learner = self.learner
        first = state.iteration * self.chunk
        indices = first + jnp.arange(self.chunk)
        keys = update_keys(jax.random.wrap_key_data(state.run_key), indices)
        metric_shapes = jax.eval_shape(learner.update, state.learner, keys[0])[1]

        def skip(s, _):
            return s, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shapes)

        def slot(s, xs):
            index, k = xs
            return jax.lax.cond(index < learner.num_updates, learner.update, skip, s, k)

        inner, metrics = jax.lax.scan(slot, state.learner, (indices, keys))
        active = jnp.maximum(jnp.sum(indices < learner.num_updates), 1)
        done = jnp.minimum(first + self.chunk, learner.num_updates)
        out = {name: jnp.sum(value) / active for name, value in metrics.items()
               if name not in EPISODE_METRICS}
        out |= {"train_return": mean_return(metrics),
                "greedy_return": jnp.mean(learner.evaluate(inner.params, eval_key,
                                                           self.eval_episodes)),
                "env_steps": done * learner.steps_per_update}
        return state.replace(learner=inner, iteration=state.iteration + 1), out

    # ----- the MetaLearner protocol -----

    def sample_tasks(self, key: jax.Array, num_tasks: int) -> jax.Array:
        """A single environment has no tasks: a placeholder axis of ``num_tasks``."""
        del key
        return jnp.zeros((num_tasks,))

    def meta_test(self, params, tasks, key: jax.Array, plan: MetaTestPlan) -> jax.Array:
        """The greedy policy's return in each of ``plan.num_episodes`` episodes,
        ``[num_episodes, 1]`` (the test episodes take the place of tasks)."""
        del tasks  # a single environment
        return self.learner.evaluate(params, key, plan.num_episodes)[:, None]

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return (f"test: greedy policy over {protocol.num_episodes} episodes "
                f"(seed {protocol.seed}):")


class MetaInitRun:
    """Reptile meta-initialisation of a learner over a task distribution."""

    score_names = ("inner_return", "adapted_return")
    curves = Curves(("inner runs: training episodes", "inner runs: final greedy policy"),
                    "fine-tuning runs", 0)

    def __init__(self, learner: Learner, env: TaskEnvironment, config: ReptileConfig,
                 num_iterations: int):
        self.learner, self.env, self.config = learner, env, config
        self.train = whole_run(learner)
        self._step = make_reptile_step(self.train, env, config, num_iterations,
                                       learner.evaluate)

    def init(self, key: jax.Array) -> MetaInitState:
        return MetaInitState(self.learner.init(key).params, jnp.zeros((), jnp.int32))

    def step(self, state: MetaInitState, key: jax.Array):
        (params, iteration), metrics = self._step((state.params, state.iteration), key)
        steps = self.learner.num_updates * self.learner.steps_per_update
        metrics["env_steps"] = (iteration * self.config.tasks_per_iteration * steps)
        return MetaInitState(params, iteration), metrics

    # ----- the MetaLearner protocol -----

    def sample_tasks(self, key: jax.Array, num_tasks: int):
        return self.env.sample_tasks(key, num_tasks)

    def meta_test(self, params, tasks, key: jax.Array, plan: MetaTestPlan) -> jax.Array:
        """Each task's greedy return (mean of ``plan.num_episodes`` episodes) before and after
        one inner run of fine-tuning from ``params``: ``[tasks, 2]``."""
        num_tasks = jax.tree.leaves(tasks)[0].shape[0]
        run_key, eval_key = jax.random.split(key)
        eval_keys = jax.random.split(eval_key, num_tasks)
        evaluate = jax.vmap(self.learner.evaluate, (0, 0, None, 0))
        before = evaluate(jax.tree.map(lambda p: jnp.broadcast_to(p, (num_tasks,) + p.shape),
                                       params), eval_keys, plan.num_episodes, tasks)
        states, _ = jax.vmap(self.train, (0, None, 0))(jax.random.split(run_key, num_tasks),
                                                       params, tasks)
        after = evaluate(states.params, eval_keys, plan.num_episodes, tasks)
        return jnp.stack([jnp.mean(before, 1), jnp.mean(after, 1)], 1)

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return (f"meta-test on {protocol.num_tasks} held-out tasks (seed {protocol.seed}): "
                f"greedy return over {protocol.num_episodes} episodes before and after one "
                "fine-tuning run of the inner budget:")
