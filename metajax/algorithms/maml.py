"""MAML for RL (Finn et al. 2017) with exact second-order meta-gradients, and its family on the
same code (:mod:`metajax.algorithms.maml_config` lists the variants and their settings).

Inner loop: ``inner_steps`` steps of the inner loss with step size ``inner_lr``, each on fresh
trajectories sampled with the current adapted params (as pytorch-maml-rl does). Outer loop:
any :class:`~metajax.algorithms.outer.OuterRule` (TRPO by default) on the post-adaptation
objective. The trajectories are data: the meta-gradient is the score-function gradient of the
post-adaptation objective, differentiated through the inner updates with ``jax.grad``
(``first_order=True`` stops the inner gradient: FOMAML). Environment transitions are not
differentiated (gymnax's default ``stop_gradient``). One meta-iteration, :meth:`MAML.step`,
is one pure function over all tasks of the meta-batch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from metajax import inner, xla_cpu
from metajax.algorithms.maml_config import MAMLConfig
from metajax.algorithms.outer import MetaObjective, MetaState, OuterRule
from metajax.algorithms.post_adaptation import (SYMMETRIC, Linearization,
                                                PostAdaptationPolicy, TaskAdaptation)
from metajax.batch import Batch, make_batch
from metajax.distributed import shard_tasks
from metajax.envs.base import TaskEnvironment
from metajax.losses import (ESTIMATORS, emaml_exploration_loss, normalized_dice_loss,
                            ppo_clip_loss, vpg_loss)
from metajax.estimators import weighted_mean
from metajax.meta_learner import ADAPTATION_CURVES, MetaTestPlan, describe_adaptation_test
from metajax.networks import Policy
from metajax.rollouts import rollout
from metajax.task_layout import TaskLayout, map_tasks

if TYPE_CHECKING:  # the config layer sits above the learners
    from metajax.protocol import MetaTestConfig


@dataclasses.dataclass(frozen=True)
class MAML:
    """MAML-RL as pure functions of ``(params, tasks, keys)``; see the module docstring.
    ``outer_rule`` (default: the one ``config.outer`` names), ``layout`` (default: from
    ``config.task_groups``/``task_chunk``) and ``linearization`` are options passed in."""

    env: TaskEnvironment
    policy: Policy
    config: MAMLConfig
    mesh: Mesh | None = None  # shard the task axis over these devices (metajax.distributed)
    outer_rule: OuterRule | None = None
    layout: TaskLayout | None = None
    linearization: Linearization = SYMMETRIC  # how TRPO linearises each task's adaptation

    score_names = ("pre_return", "post_return")
    curves = ADAPTATION_CURVES

    def __post_init__(self):
        c = self.config
        if self.layout is None:
            object.__setattr__(self, "layout", TaskLayout(c.task_groups, c.task_chunk))
        if self.mesh is not None and c.num_tasks % self.mesh.size:
            raise ValueError(f"num_tasks ({c.num_tasks}) must be divisible by the number of "
                             f"devices ({self.mesh.size})")
        if self.mesh is not None and self.layout.groups > 1:
            raise ValueError("task_groups > 1 splits the task axis on one device; with "
                             "several devices the mesh already splits it (use task_groups=1)")

    @property
    def learning_layout(self) -> TaskLayout:
        """The task layout of the post-adaptation objective: the layout itself, or its groups
        alone where it has both groups and chunks (the chunks then bound only the rollouts)."""
        return TaskLayout(self.layout.groups) if self.layout.groups > 1 else self.layout

    @property
    def outer(self) -> OuterRule:
        return self.outer_rule or self.config.make_outer_rule()

    @property
    def adaptation(self) -> TaskAdaptation:
        """How one task adapts from the meta-params (the inner loss, rule and mask)."""
        c = self.config
        return TaskAdaptation(self._inner_loss, inner.make_inner_rule(c.inner_rule, c.inner_lr),
                              c.adapt, c.first_order)

    def init(self, key: jax.Array) -> MetaState:
        params = self.policy.init(key)
        meta = {"params": params, "inner": self.adaptation.rule.init(params)}
        return MetaState(params, meta["inner"], self.outer.init(meta), jnp.zeros((), jnp.int32))

    def _batch(self, trajectory) -> Batch:
        c = self.config
        return make_batch(trajectory, c.gamma, c.gae_lambda, c.normalize_advantages,
                          c.baseline_reg, c.loss_weighting)

    def _inner_loss(self, params, batch: Batch) -> jax.Array:
        c = self.config
        if c.estimator == "dice" and c.dice_form == "normalized":
            return normalized_dice_loss(self.policy, params, batch, c.normalize_advantages)
        return ESTIMATORS[c.estimator](self.policy, params, batch)

    def adapt_on_batches(self, meta, batches: Batch):
        """One task's adapted params, one inner step per batch ``[steps, ...]``, from the
        meta-params ``{"params", "inner"}``: the function the meta-gradient differentiates."""
        return self.adaptation(meta, batches)

    def _start(self, meta):
        mask = inner.adapt_mask(meta["params"], self.config.adapt)
        return inner.start(meta["params"], mask, self.config.adapt == "context")

    def sample_and_adapt(self, meta, task, key: jax.Array, num_steps: int, num_episodes: int,
                         scale: float | jax.Array = 1.0):
        """Sample-then-update ``num_steps`` times on one task; ``scale`` (a scalar or one per
        step) multiplies the step size. Returns the adapted params, the batches ``[steps,
        ...]`` and the mean episode return before each step."""
        how = self.adaptation
        mask = inner.adapt_mask(meta["params"], how.mask_mode)

        def one_step(carry, inputs):
            params, state = carry
            step_key, step_scale = inputs
            trajectory = rollout(self.env, self.policy, params, task, step_key, num_episodes,
                                 self.env.max_steps_in_episode)
            batch = self._batch(trajectory)
            carry = inner.inner_step(how.loss_fn, how.rule, meta["inner"], params, state, batch,
                                     mask, how.first_order, step_scale)
            return carry, (batch, jnp.mean(trajectory.episode_returns))

        params = self._start(meta)
        (params, _), (batches, returns) = jax.lax.scan(
            one_step, (params, how.rule.reset(params, meta["inner"])),
            (jax.random.split(key, num_steps), jnp.broadcast_to(scale, (num_steps,))))
        return params, batches, returns

    def adapt(self, meta, task, key: jax.Array, num_steps: int | None = None,
              num_episodes: int | None = None):
        """Adapts to one task from its own fresh experience; ``meta`` is ``state.meta_params``."""
        c = self.config
        return self.sample_and_adapt(meta, task, key, num_steps or c.inner_steps,
                                     num_episodes or c.num_episodes)[0]

    def _sample_task(self, meta, task, key):
        adapt_key, valid_key = jax.random.split(key)
        c = self.config
        adapted, train, returns = self.sample_and_adapt(meta, task, adapt_key, c.inner_steps,
                                                        c.num_episodes)
        trajectory = rollout(self.env, self.policy, adapted, task, valid_key, c.num_episodes,
                             self.env.max_steps_in_episode)
        return (train, self._batch(trajectory), returns, jnp.mean(trajectory.episode_returns),
                adapted)

    def sample_meta_batch(self, meta, key: jax.Array):
        """Draws ``num_tasks`` tasks and, for each, the inner-loop batches ``[tasks, steps, ...]``,
        the validation batch ``[tasks, ...]`` from the adapted policy, the mean return before
        each inner step ``[tasks, steps]``, after adaptation ``[tasks]``, and the adapted
        params ``[tasks, ...]``."""
        self.check_env_batch(self.config.num_tasks, self.config.num_episodes, "the meta-batch",
                             sharded=True)
        task_key, sample_key = jax.random.split(key)
        tasks = self.env.sample_tasks(task_key, self.config.num_tasks)
        keys = jax.random.split(sample_key, self.config.num_tasks)
        tasks, keys = shard_tasks((tasks, keys), self.mesh)
        return self.layout._replace(groups=1).map(
            lambda task, k: self._sample_task(meta, task, k), tasks, keys)

    def post_adaptation(self, train: Batch, valid: Batch) -> PostAdaptationPolicy:
        """Every task's adapted policy on ``valid`` as a function of the meta-params (the
        distributions, the TRPO surrogate, its linearisation and Fisher-vector products)."""
        return PostAdaptationPolicy(self.policy, self.adaptation, train, valid,
                                    self.learning_layout,
                                    self.linearization)

    def meta_loss(self, meta: dict, train: Batch, valid: Batch,
                  post_returns: jax.Array | None = None) -> jax.Array:
        """Mean over tasks of the post-adaptation VPG loss (its gradient is the MAML
        meta-gradient, trajectories held fixed), plus E-MAML's term if ``exploration``.

        Args:
            meta: ``state.meta_params``, ``{"params": policy params, "inner": the inner rule's
                learned hyperparameters (() for SGD)}``.
            train: the inner-loop batches, ``[tasks, inner_steps, episodes, T]`` (the steps
                axis is there even for one step).
            valid: the post-adaptation batch, ``[tasks, episodes, T]``.
            post_returns: each task's post-adaptation mean return ``[tasks]`` (E-MAML only).

        These are :meth:`sample_meta_batch`'s first, second and fourth outputs."""
        per_task = lambda tr, va: vpg_loss(self.policy, self.adapt_on_batches(meta, tr), va)
        loss = jnp.mean(self.learning_layout.map(per_task, train, valid))
        return loss + self.exploration_loss(meta, train, post_returns)

    def exploration_loss(self, meta, train: Batch, post_returns) -> jax.Array:
        """:func:`~metajax.losses.emaml_exploration_loss` on the first pre-update batches;
        zero unless ``exploration``."""
        if not self.config.exploration or post_returns is None:
            return jnp.zeros(())
        first = jax.tree.map(lambda x: x[:, 0], train)
        return emaml_exploration_loss(self.policy, self._start(meta), first, post_returns)

    def promp_loss(self, meta, train: Batch, valid: Batch, old_post, old_pre, post_returns):
        """ProMP's objective (Rothfuss et al. 2019): the adapted policy's PPO-clip surrogate,
        plus ``kl_coef`` times the pre-update policy's KL to the one that sampled, plus
        E-MAML's term if ``exploration``. Returns it with what ProMP logs: that pre-update KL
        (``inner_kl``), the adapted policies' KL to the ones that sampled (``outer_kl``) and
        the fraction of clipped ratios (``clip_fraction``), each a mean over tasks."""
        c, dist = self.config, self.policy.distribution

        def per_task(tr, va, old, old0):
            new = self.policy.apply(self.adapt_on_batches(meta, tr), va.obs)
            log_prob, old_log_prob = dist.log_prob(new, va.action), dist.log_prob(old, va.action)
            surrogate = ppo_clip_loss(log_prob, old_log_prob, va.advantage, c.clip_eps,
                                      va.weight)
            clipped = jnp.abs(jnp.exp(log_prob - old_log_prob) - 1.0) > c.clip_eps
            pre = self.policy.apply(self._start(meta), tr.obs[0])
            return (surrogate, weighted_mean(dist.kl(old0, pre), tr.weight[0]),
                    weighted_mean(dist.kl(old, new), va.weight),
                    weighted_mean(clipped.astype(log_prob.dtype), va.weight))

        surrogate, kl, outer_kl, clip_fraction = self.learning_layout.map(
            per_task, train, valid, old_post, old_pre)
        loss = (jnp.mean(surrogate) + c.kl_coef * jnp.mean(kl)
                + self.exploration_loss(meta, train, post_returns))
        return loss, {"inner_kl": jnp.mean(kl), "outer_kl": jnp.mean(outer_kl),
                      "clip_fraction": jnp.mean(clip_fraction)}

    def meta_objective(self, train: Batch, valid: Batch, post_returns, adapted) -> MetaObjective:
        """What the outer rule may use at this meta-iteration (:mod:`outer`): the MAML
        objective, the adapted params, TRPO's trust region and ProMP's clipped objective."""
        post = self.post_adaptation(train, valid)
        explore = lambda m: self.exploration_loss(m, train, post_returns)

        def clipped_loss(meta):
            old_post = jax.lax.stop_gradient(post.dist(meta))
            old_pre = jax.lax.stop_gradient(jax.vmap(
                lambda tr: self.policy.apply(self._start(meta), tr.obs[0]))(train))
            return lambda m: self.promp_loss(m, train, valid, old_post, old_pre, post_returns)

        return MetaObjective(lambda m: self.meta_loss(m, train, valid, post_returns), adapted,
                             lambda meta: post.trust_region(meta, explore), clipped_loss)

    def step(self, state: MetaState, key: jax.Array) -> tuple[MetaState, dict[str, jax.Array]]:
        """Samples a meta-batch, adapts to each task, updates the meta-params by the outer rule."""
        train, valid, pre_returns, post_returns, adapted = self.sample_meta_batch(
            state.meta_params, key)
        objective = self.meta_objective(train, valid, post_returns, adapted)
        meta, opt_state, info = self.outer.update(objective, state.opt_state, state.meta_params)
        metrics = {"pre_return": jnp.mean(pre_returns[:, 0]),
                   "post_return": jnp.mean(post_returns), **info}
        return MetaState(meta["params"], meta["inner"], opt_state, state.iteration + 1), metrics

    def sample_tasks(self, key: jax.Array, num_tasks: int):
        return self.env.sample_tasks(key, num_tasks)

    def meta_test(self, meta, tasks, key: jax.Array, plan: MetaTestPlan) -> jax.Array:
        """Each task's mean episode return after 0..``plan.num_steps`` adaptation steps of
        ``plan.num_episodes`` fresh episodes each, step ``i`` with step size
        ``plan.step_sizes[i]`` (Meta-SGD: ``step_size / inner_lr`` scales its learned step
        sizes): ``[tasks, num_steps + 1]``; ``meta`` is ``state.meta_params``. Tasks run in
        the layout's chunks where they divide evenly (bounded env batches: memory, and MJX on
        a CPU)."""

        def per_task(task, task_key):
            adapt_key, final_key = jax.random.split(task_key)
            adapted, _, returns = self.sample_and_adapt(
                meta, task, adapt_key, plan.num_steps, plan.num_episodes,
                plan.step_sizes / self.config.inner_lr)
            final = rollout(self.env, self.policy, adapted, task, final_key, plan.num_episodes,
                            self.env.max_steps_in_episode)
            return jnp.append(returns, jnp.mean(final.episode_returns))

        num_tasks = jax.tree.leaves(tasks)[0].shape[0]
        self.check_env_batch(num_tasks, plan.num_episodes, "the meta-test")
        return map_tasks(per_task, tasks, jax.random.split(key, num_tasks),
                         chunk=self._chunk_of(num_tasks))

    def _chunk_of(self, num_tasks: int) -> int:
        """The layout's chunk where it divides ``num_tasks`` (else 0: one vmap)."""
        chunk = self.layout.chunk
        return chunk if chunk and num_tasks % chunk == 0 else 0

    def check_env_batch(self, num_tasks: int, num_episodes: int, what: str, *,
                        sharded: bool = False, copies: int = 1,
                        chunk_name: str = "task_chunk") -> None:
        """Refuses rollouts of ``num_tasks`` x ``num_episodes`` whose env batch per call (a
        chunk of tasks, or every task, over the mesh where ``sharded``, times ``copies``
        vmapped runs: seeds or sweep points) exceeds the env's ``max_envs_per_call()``: a
        ``ValueError`` before anything runs (:mod:`metajax.xla_cpu`)."""
        devices = self.mesh.size if self.mesh is not None and sharded else 1
        tasks_per_call = self._chunk_of(num_tasks) or num_tasks // devices
        xla_cpu.check_env_batch(
            f"{what} ({num_tasks} tasks x {num_episodes} episodes)",
            copies * tasks_per_call * num_episodes, self.env,
            f"set {chunk_name} to a divisor of the task count small enough that {chunk_name} "
            f"x episodes stays within the limit, or use fewer tasks or episodes")

    def describe_test(self, protocol: MetaTestConfig, inherited: tuple[str, ...]) -> str:
        return describe_adaptation_test(protocol, inherited)


def maml(env: TaskEnvironment, policy: Policy, **config: Any) -> MAML:
    """``metajax.maml(env, policy, inner_lr=0.1, outer="trpo", ...)``: see :class:`MAMLConfig`."""
    return MAML(env, policy, MAMLConfig(**config))
