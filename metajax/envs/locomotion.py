"""The MAML paper's MuJoCo locomotion task distributions on brax physics: HalfCheetahVel-v0,
HalfCheetahDir-v0, AntVel-v0, AntDir-v0 and AntGoal-v0 (``pip install 'metajax[brax]'``).

Spec: pytorch-maml-rl's ``maml_rl/envs/mujoco/half_cheetah.py`` and ``ant.py`` (from
cbfinn/maml_rl's rllab envs), with its ``normalization_scale: 10`` action wrapper and its
100-step episodes. ``a`` below is the action the physics receives: the policy's action
clipped to [-10, 10] and mapped linearly onto the actuators' control range ([-1, 1]).

- HalfCheetahVel: goal velocity ~ U[0, 2]; reward ``-|v_x - v_goal| - 0.05 |a|^2``.
- HalfCheetahDir: direction ±1 with probability 1/2; reward ``dir * v_x - 0.05 |a|^2``.
- AntVel: goal velocity ~ U[0, 3]; reward ``-|v_x - v_goal| + 1 - ctrl + 0.05``.
- AntDir: direction ±1; reward ``dir * v_x - ctrl + 0.05``.
- AntGoal: goal ~ U[-3, 3]^2; reward ``-|xy - goal|_1 + 4 - ctrl + 0.05``.

``v_x`` is the change of the root's x position (HalfCheetah: the ``rootx`` joint; Ant: the
torso) over one control step, ``dt`` = frames x physics timestep. Ant's ``ctrl = 0.005 |a /
s|^2`` with ``s`` half the control range, and its episode terminates when the torso height
``q[2]`` leaves [0.2, 1.0] or the state is not finite; HalfCheetah never terminates. The task is
the ``EnvParams``; every episode is truncated after ``horizon`` steps.

What differs from mujoco-py, and why:

- **Contact cost (Ant).** The reference subtracts ``0.5e-3 |clip(cfrc_ext, -1, 1)|^2``, which
  brax does not compute on any pipeline (brax's own Ant sets it to 0; MJX leaves ``cfrc_ext``
  zero). It is omitted; it is bounded by ``0.5e-3 * 84 = 0.042`` per step.
- **Observations.** HalfCheetah: ``q[1:]`` (8), ``qd`` (9) and the torso's position (3), as
  the reference. Ant: ``q`` (15), ``qd`` (14), the torso's rotation matrix (9) and position
  (3); the reference's 84 clipped external contact forces are not available (see above). The
  torso's position is its frame origin (brax's ``x.pos``), which is what gym's
  ``get_body_com`` returns (rllab's returned the subtree's centre of mass).
- **Physics.** ``backend="mjx"`` (default) and ``"generalized"`` run the reference's models:
  brax's robots with Gymnasium's contacts, where every body geom collides with the floor
  (brax's own models let only some do, so a fallen ant's torso sank through the floor and ended
  16% of its episodes under a freshly initialised policy, against 0% in C MuJoCo), and for Ant
  the contact margin 0.01 and the RK4 integrator; every episode starts from the model's
  ``qpos0`` plus the reference's reset noise, ``q += U[-0.1, 0.1]``, ``qd = 0.1 N(0, 1)``.
  ``mjx`` is MuJoCo itself (MJX) with the Newton solver at 2 iterations and 4 line-search
  iterations (at 1, MuJoCo Playground's locomotion setting, HalfCheetah blew up now and
  then). ``"spring"`` and ``"positional"`` are brax's approximate pipelines on brax's own
  models: brax changes their gear ratios and timestep, so their dynamics differ from MuJoCo's
  and from each other (fine for tests and quick runs; fidelity against the papers needs
  ``"mjx"`` or ``"generalized"``).
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from metajax import xla_cpu
from metajax.envs.base import TaskEnvironment

BACKENDS = ("mjx", "generalized", "spring", "positional")
NORMALIZATION_SCALE = 10.0  # pytorch-maml-rl's normalization_scale for these envs
# MJX's Newton iterations per physics step: at 1 (MuJoCo Playground's locomotion setting) the
# reference's HalfCheetah, whose torso and shins touch the floor, blew up now and then (joint
# speeds of 190 in 400 random episodes, a return of 7e21 in a ProMP run); at 2 none did and
# speeds stay within 5% of the converged solver's (99th percentile)
MJX_SOLVER_ITERATIONS = 2


@struct.dataclass
class EnvState(environment.EnvState):
    physics: Any  # brax's pipeline state
    time: int


@struct.dataclass
class VelocityTask(environment.EnvParams):
    velocity: jax.Array = struct.field(default_factory=lambda: jnp.zeros(()))
    max_steps_in_episode: int = struct.field(pytree_node=False, default=100)


@struct.dataclass
class DirectionTask(environment.EnvParams):
    direction: jax.Array = struct.field(default_factory=lambda: jnp.ones(()))
    max_steps_in_episode: int = struct.field(pytree_node=False, default=100)


@struct.dataclass
class GoalTask(environment.EnvParams):
    goal: jax.Array = struct.field(default_factory=lambda: jnp.zeros(2))
    max_steps_in_episode: int = struct.field(pytree_node=False, default=100)


@dataclasses.dataclass(frozen=True)
class Motion:
    """What a task's reward reads from one control step: the root's x before and after, the
    torso's xy after, ``dt`` and the physics action."""

    x_before: jax.Array
    x_after: jax.Array
    xy_after: jax.Array
    dt: float
    action: jax.Array

    @property
    def velocity(self) -> jax.Array:
        return (self.x_after - self.x_before) / self.dt


def _load_brax(robot: str, backend: str):
    try:
        from brax import envs as brax_envs
    except ImportError:
        raise ImportError("the locomotion task distributions need brax: pip install "
                          "'metajax[brax]'") from None
    with warnings.catch_warnings():  # brax's notice that its own pipelines are unmaintained
        warnings.filterwarnings("ignore", message="Brax System", category=UserWarning)
        env = brax_envs.get_environment(robot, backend=backend)
        if backend in ("mjx", "generalized"):
            env.unwrapped.sys = _reference_model(env.sys, robot, backend)
    return env


def _reference_model(sys, robot: str, backend: str):
    """brax's robot made the reference's (Gymnasium's ``half_cheetah.xml``/``ant.xml``, as
    mujoco-py ran them): every body geom collides with the floor (brax's lets only some
    do, so a flipped cheetah's torso or a fallen ant's torso sinks through it); brax's
    massless extra foot spheres on Ant do not collide (the ankle capsules' ends are the feet);
    Ant keeps the reference's contact margin 0.01 and RK4 integrator. With ``mjx``: the Newton
    solver at :data:`MJX_SOLVER_ITERATIONS` iterations and 4 line-search iterations."""
    import copy

    import mujoco
    from brax.io import mjcf

    model = copy.copy(sys.mj_model)
    feet = [i for i in range(model.ngeom) if model.geom(i).name.endswith("_foot_geom")]
    model.geom_contype[:] = 1
    model.geom_contype[feet] = model.geom_conaffinity[feet] = 0
    if robot == "ant":
        model.geom_margin[:] = 0.01
        model.opt.integrator = mujoco.mjtIntegrator.mjINT_RK4
    reference = mjcf.load_model(model)
    if backend == "mjx":
        reference = reference.tree_replace({"opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
                                            "opt.iterations": MJX_SOLVER_ITERATIONS,
                                            "opt.ls_iterations": 4})
    return reference


class Locomotion(TaskEnvironment):
    """A brax robot with a task-dependent reward (see the module docstring); subclasses set
    ``robot``, the params class and :meth:`task_reward`."""

    robot: str
    params_class: type
    terminates: bool = False  # Ant: unhealthy torso height or non-finite state

    def __init__(self, backend: str = "mjx", horizon: int = 100):
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        if not isinstance(horizon, int) or horizon <= 0:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        self.backend, self.horizon = backend, horizon
        self.brax = _load_brax(self.robot, backend)
        sys = self.brax.sys
        self.control_low = jnp.asarray(sys.actuator.ctrl_range[:, 0], jnp.float32)
        self.control_high = jnp.asarray(sys.actuator.ctrl_range[:, 1], jnp.float32)
        self.action_dim = int(sys.act_size())
        self.q_size, self.qd_size = int(sys.q_size()), int(sys.qd_size())
        self.dt = float(self.brax.dt)  # one control step: frames x physics timestep
        self.obs_shape = (self._obs_size(),)

    def max_envs_per_call(self) -> int | None:
        """The most envs one call may step without risking XLA:CPU's LAPACK deadlock
        (:mod:`metajax.xla_cpu`). MJX factorises the ``nv x nv`` mass matrix and Newton
        Hessian (Cholesky, ``nv^3 / 3`` FLOPs): HalfCheetah 823, Ant 218; ``generalized``
        also solves against an ``nv x nv`` identity (``nv^3``): 274 and 72. ``spring`` and
        ``positional`` factorise nothing (``None``)."""
        if self.backend not in ("mjx", "generalized"):
            return None
        nv = self.qd_size
        return xla_cpu.serial_batch_limit(nv ** 3 // 3 if self.backend == "mjx" else nv ** 3)

    # ----- the task -----

    @abc.abstractmethod
    def task_reward(self, params, motion: Motion) -> jax.Array:
        """The task's reward for one control step (each task distribution defines it)."""

    def tasks(self, **values: jax.Array) -> environment.EnvParams:
        return self.params_class(**values, max_steps_in_episode=self.horizon)

    @property
    def default_params(self) -> environment.EnvParams:
        return self.params_class(max_steps_in_episode=self.horizon)

    # ----- gymnax -----

    def physics_action(self, action: jax.Array) -> jax.Array:
        """The policy's action clipped to [-10, 10] and mapped onto the control range."""
        s = NORMALIZATION_SCALE
        action = jnp.clip(action, -s, s)
        mapped = self.control_low + (action + s) * (self.control_high - self.control_low) / (2 * s)
        return jnp.clip(mapped, self.control_low, self.control_high)

    def reward_and_termination(self, params, before, after, action: jax.Array):
        """The task's reward and termination for one control step from physics state
        ``before`` to ``after`` under physics action ``action`` (pure: tested on hand-made
        states)."""
        root = 0 if self.robot == "halfcheetah" else None
        x_before = before.q[0] if root == 0 else before.x.pos[0, 0]
        x_after = after.q[0] if root == 0 else after.x.pos[0, 0]
        motion = Motion(x_before, x_after, after.x.pos[0, :2], self.dt, action)
        reward = self.task_reward(params, motion)
        if not self.terminates:
            return reward, jnp.array(False)
        finite = jnp.all(jnp.isfinite(after.q)) & jnp.all(jnp.isfinite(after.qd))
        height = after.q[2]
        return reward, ~(finite & (height >= 0.2) & (height <= 1.0))

    def step_env(self, key, state: EnvState, action, params):
        del key
        action = self.physics_action(action)
        physics = self.brax.pipeline_step(state.physics, action)
        reward, terminated = self.reward_and_termination(params, state.physics, physics, action)
        obs = self.observe(physics)
        state = EnvState(physics=physics, time=state.time + 1)
        obs, state = self._apply_transition_gradient_policy(obs, state)
        return jnp.nan_to_num(obs), state, jnp.nan_to_num(reward), terminated, {}

    def reset_env(self, key, params):
        del params
        noise_key, velocity_key = jax.random.split(key)
        sys = self.brax.sys
        q = sys.qpos0 + jax.random.uniform(noise_key, (self.q_size,), minval=-0.1, maxval=0.1)
        qd = 0.1 * jax.random.normal(velocity_key, (self.qd_size,))
        physics = self.brax.pipeline_init(q, qd)
        return self.observe(physics), EnvState(physics=physics, time=0)

    def observe(self, physics) -> jax.Array:
        if self.robot == "halfcheetah":
            parts = [physics.q[1:], physics.qd, physics.x.pos[0]]
        else:
            parts = [physics.q, physics.qd, _rotation_matrix(physics.x.rot[0]).ravel(),
                     physics.x.pos[0]]
        return jnp.concatenate(parts).astype(jnp.float32)

    def _obs_size(self) -> int:
        if self.robot == "halfcheetah":
            return self.q_size - 1 + self.qd_size + 3
        return self.q_size + self.qd_size + 9 + 3

    @property
    def name(self) -> str:
        return type(self).__name__ + "-v0"

    @property
    def num_actions(self) -> int:
        return self.action_dim

    def action_space(self, params=None) -> spaces.Box:
        s = NORMALIZATION_SCALE
        return spaces.Box(-s, s, (self.action_dim,), jnp.float32)

    def observation_space(self, params=None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, self.obs_shape, jnp.float32)


def _rotation_matrix(quat: jax.Array) -> jax.Array:
    """The 3x3 rotation matrix of a unit quaternion ``(w, x, y, z)`` (MuJoCo's ``xmat``)."""
    w, x, y, z = quat
    return jnp.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _ant_ctrl_cost(env: Locomotion, action: jax.Array) -> jax.Array:
    scaling = 0.5 * (env.control_high - env.control_low)
    return 0.5e-2 * jnp.sum(jnp.square(action / scaling))


class UniformTask(Locomotion):
    """Tasks drawn uniformly from ``[low, high]`` (each coordinate), the class's
    ``task_range`` unless given."""

    task_range: tuple[float, float]
    task_field: str = "velocity"
    task_shape: tuple[int, ...] = ()

    def __init__(self, low: float | None = None, high: float | None = None,
                 backend: str = "mjx", horizon: int = 100):
        super().__init__(backend, horizon)
        self.low, self.high = (self.task_range[0] if low is None else low,
                               self.task_range[1] if high is None else high)
        if not self.low < self.high:
            raise ValueError(f"low must be < high, got {self.low} and {self.high}")

    def sample_tasks(self, key, num_tasks):
        values = jax.random.uniform(key, (num_tasks,) + self.task_shape, minval=self.low,
                                    maxval=self.high)
        return self.tasks(**{self.task_field: values})


class DirectionTasks(Locomotion):
    """Tasks that are a direction, -1 or +1 with probability 1/2 each."""

    params_class = DirectionTask

    def sample_tasks(self, key, num_tasks):
        directions = jax.random.bernoulli(key, 0.5, (num_tasks,)).astype(jnp.float32)
        return self.tasks(direction=2.0 * directions - 1.0)


class HalfCheetahVel(UniformTask):
    """Goal velocity ~ U[0, 2]."""

    robot, params_class, task_range = "halfcheetah", VelocityTask, (0.0, 2.0)

    def task_reward(self, params, motion):
        return -jnp.abs(motion.velocity - params.velocity) - 0.05 * jnp.sum(motion.action ** 2)


class HalfCheetahDir(DirectionTasks):
    robot = "halfcheetah"

    def task_reward(self, params, motion):
        return params.direction * motion.velocity - 0.05 * jnp.sum(motion.action ** 2)


class AntVel(UniformTask):
    """Goal velocity ~ U[0, 3]."""

    robot, params_class, task_range, terminates = "ant", VelocityTask, (0.0, 3.0), True

    def task_reward(self, params, motion):
        forward = -jnp.abs(motion.velocity - params.velocity) + 1.0
        return forward - _ant_ctrl_cost(self, motion.action) + 0.05


class AntDir(DirectionTasks):
    robot, terminates = "ant", True

    def task_reward(self, params, motion):
        return params.direction * motion.velocity - _ant_ctrl_cost(self, motion.action) + 0.05


class AntGoal(UniformTask):
    """Goal position ~ U[-3, 3]^2."""

    robot, params_class, task_range, terminates = "ant", GoalTask, (-3.0, 3.0), True
    task_field, task_shape = "goal", (2,)

    def task_reward(self, params, motion):
        distance = jnp.sum(jnp.abs(motion.xy_after - params.goal))
        return -distance + 4.0 - _ant_ctrl_cost(self, motion.action) + 0.05


LOCOMOTION = {"HalfCheetahVel-v0": HalfCheetahVel, "HalfCheetahDir-v0": HalfCheetahDir,
              "AntVel-v0": AntVel, "AntDir-v0": AntDir, "AntGoal-v0": AntGoal}
