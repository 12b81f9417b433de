"""Non-learned tabular-MDP agents: the reference rows of RL^2 (Duan et al. 2016, Table 2).

Each agent plays ONE task (a :class:`~metajax.envs.tabular_mdp.TabularMDP` ``EnvParams``) for
``num_episodes`` episodes of ``horizon`` steps from state 0, and is vmapped by the caller.
An agent is a planner ``plan(key, stats, task, horizon) -> policy [horizon, S]`` called at
the start of every episode with the counts gathered so far; the episode then follows the
non-stationary policy. Agents: ``random`` (uniform actions: a fresh uniform table each episode,
as each (step, state) is met at most once), ``psrl`` (posterior sampling for RL, Osband et
al. 2013, with the task prior: ``P(.|s, a) ~ Dirichlet(1)``, reward means ``~ N(1, 1)``,
unit reward noise) and ``optimal`` (the oracle acting by value iteration on the true task).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from metajax.envs.tabular_mdp import EnvParams, EnvState, TabularMDP, value_iteration


class Stats(NamedTuple):
    """Sufficient statistics of one task's experience."""

    transitions: jax.Array  # [S, A, S] counts of (s, a, s')
    visits: jax.Array  # [S, A] counts of (s, a)
    reward_sums: jax.Array  # [S, A] summed rewards


Planner = Callable[[jax.Array, Stats, EnvParams, int], jax.Array]


def random_plan(key: jax.Array, stats: Stats, task: EnvParams, horizon: int) -> jax.Array:
    """A uniformly random action per (step, state)."""
    num_states, num_actions = stats.visits.shape
    return jax.random.randint(key, (horizon, num_states), 0, num_actions)


def psrl_plan(key: jax.Array, stats: Stats, task: EnvParams, horizon: int) -> jax.Array:
    """PSRL: the optimal policy of one MDP drawn from the posterior; transitions from
    ``Dirichlet(1 + counts)``, reward means from ``N((1 + sum r) / (1 + n), 1 / (1 + n))``
    (the conjugate posterior of the ``N(1, 1)`` prior under unit noise)."""
    p_key, r_key = jax.random.split(key)
    transitions = jax.random.dirichlet(p_key, 1.0 + stats.transitions)
    precision = 1.0 + stats.visits
    means = (1.0 + stats.reward_sums) / precision
    reward_means = means + jax.random.normal(r_key, means.shape) / jnp.sqrt(precision)
    return value_iteration(transitions, reward_means, horizon)[1]


def optimal_plan(key: jax.Array, stats: Stats, task: EnvParams, horizon: int) -> jax.Array:
    """The oracle: the optimal non-stationary policy of the true task."""
    return value_iteration(task.transitions, task.reward_means, horizon)[1]


MDP_AGENTS: dict[str, Planner] = {"random": random_plan, "psrl": psrl_plan,
                                  "optimal": optimal_plan}


def play_mdp(agent_name: str, task_params: EnvParams, num_episodes: int, horizon: int,
             key: jax.Array) -> jax.Array:
    """Rewards ``[num_episodes, horizon]`` of agent ``agent_name`` (a key of
    :data:`MDP_AGENTS`) on one task; every episode starts in state 0."""
    plan = MDP_AGENTS[agent_name]
    num_states, num_actions = task_params.reward_means.shape
    env = TabularMDP(num_states, num_actions, horizon)

    def step(carry, inputs):
        state, stats = carry
        policy_h, step_key = inputs
        s, a = state.state, policy_h[state.state]
        _, next_state, reward, _, _ = env.step_env(step_key, state, a, task_params)
        stats = Stats(stats.transitions.at[s, a, next_state.state].add(1.0),
                      stats.visits.at[s, a].add(1.0), stats.reward_sums.at[s, a].add(reward))
        return (next_state, stats), reward

    def episode(stats, episode_key):
        plan_key, steps_key = jax.random.split(episode_key)
        policy = plan(plan_key, stats, task_params, horizon)
        start = EnvState(state=jnp.array(0), time=0)
        steps = policy, jax.random.split(steps_key, horizon)
        (_, stats), rewards = jax.lax.scan(step, (start, stats), steps)
        return stats, rewards

    zeros = jnp.zeros((num_states, num_actions))
    stats = Stats(jnp.zeros((num_states, num_actions, num_states)), zeros, zeros)
    return jax.lax.scan(episode, stats, jax.random.split(key, num_episodes))[1]


def evaluate_mdp_agents(num_episodes: int, num_tasks: int, key: jax.Array,
                        env: TabularMDP | None = None, tasks: EnvParams | None = None
                        ) -> dict[str, jax.Array]:
    """Total reward per task ``[num_tasks]`` over ``num_episodes`` episodes for each agent of
    :data:`MDP_AGENTS` on fresh tasks (or the given batched ``tasks``; same tasks and random
    streams for every agent, one jit per agent), plus
    ``expected_optimum = num_episodes * env.optimal_return(task)``."""
    env = TabularMDP() if env is None else env
    task_key, play_key = jax.random.split(key)
    if tasks is None:
        tasks = env.sample_tasks(task_key, num_tasks)
    keys = jax.random.split(play_key, num_tasks)

    def total(name):
        def play(task, k):
            return play_mdp(name, task, num_episodes, env.horizon, k).sum()
        return jax.jit(jax.vmap(play))

    results = {name: total(name)(tasks, keys) for name in MDP_AGENTS}
    return results | {"expected_optimum": num_episodes * env.optimal_return(tasks)}
