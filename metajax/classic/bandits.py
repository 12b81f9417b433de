"""Non-learned Bernoulli-bandit agents: the reference rows of RL^2 (Duan et al. 2016, Table 1).

Each agent acts on ONE task, rlax style, and is vmapped by the caller: it is a pure function
``select(key, successes [K], failures [K], t, remaining) -> arm`` of the per-arm float counts,
the pulls made so far ``t`` and the pulls left including this one. Ties are broken uniformly
at random. Sources: UCB1 (Auer et al. 2002), Thompson sampling (Thompson 1933; Chapelle & Li
2011), optimistic Thompson sampling (May et al. 2012), finite-horizon Gittins indices
(:mod:`metajax.classic.gittins`).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from metajax.classic.gittins import gittins_table
from metajax.envs.bandit import BernoulliBandit

Agent = Callable[[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def random_argmax(key: jax.Array, values: jax.Array) -> jax.Array:
    """Index of a maximum of ``values [K]``, uniform over ties."""
    noise = jax.random.uniform(key, values.shape)
    return jnp.argmax(jnp.where(values == values.max(), noise, -1.0))


def posterior_mean(successes: jax.Array, failures: jax.Array) -> jax.Array:
    """Mean of the ``Beta(1 + successes, 1 + failures)`` posterior of each arm."""
    return (1.0 + successes) / (2.0 + successes + failures)


def random_agent(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
                 remaining: jax.Array) -> jax.Array:
    """Pulls an arm uniformly at random."""
    return jax.random.randint(key, (), 0, successes.shape[-1])


def greedy(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
           remaining: jax.Array) -> jax.Array:
    """Pulls the arm with the highest posterior mean (uniform ``Beta(1, 1)`` prior)."""
    return random_argmax(key, posterior_mean(successes, failures))


def epsilon_greedy(epsilon: float = 0.1) -> Agent:
    """Greedy, but pulls a uniformly random arm with probability ``epsilon``."""

    def select(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
               remaining: jax.Array) -> jax.Array:
        coin_key, random_key, greedy_key = jax.random.split(key, 3)
        explore = jax.random.uniform(coin_key) < epsilon
        return jnp.where(explore, random_agent(random_key, successes, failures, t, remaining),
                         greedy(greedy_key, successes, failures, t, remaining))

    return select


def ucb1(c: float = 1.0) -> Agent:
    """UCB1 (Auer et al. 2002): every arm once, then ``mean + c sqrt(2 ln t / n_a)``."""

    def select(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
               remaining: jax.Array) -> jax.Array:
        pulls = successes + failures
        safe = jnp.maximum(pulls, 1.0)
        bound = successes / safe + c * jnp.sqrt(2.0 * jnp.log(jnp.maximum(t, 1)) / safe)
        return random_argmax(key, jnp.where(pulls == 0, jnp.inf, bound))

    return select


def thompson_sampling(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
                      remaining: jax.Array) -> jax.Array:
    """Pulls the argmax of one ``Beta(1 + s, 1 + f)`` sample per arm (key split in two:
    the samples, then the tie break)."""
    sample_key, tie_key = jax.random.split(key)
    return random_argmax(tie_key, jax.random.beta(sample_key, 1.0 + successes, 1.0 + failures))


def optimistic_thompson_sampling(key: jax.Array, successes: jax.Array, failures: jax.Array,
                                 t: jax.Array, remaining: jax.Array) -> jax.Array:
    """Thompson sampling whose samples are raised to at least the posterior mean (OTS)."""
    sample_key, tie_key = jax.random.split(key)
    sample = jax.random.beta(sample_key, 1.0 + successes, 1.0 + failures)
    return random_argmax(tie_key, jnp.maximum(sample, posterior_mean(successes, failures)))


def gittins(horizon: int) -> Agent:
    """Pulls the argmax of the finite-horizon Gittins index ``G[remaining, 1 + s, 1 + f]``;
    valid for games of at most ``horizon`` pulls."""
    table = jnp.asarray(gittins_table(horizon))

    def select(key: jax.Array, successes: jax.Array, failures: jax.Array, t: jax.Array,
               remaining: jax.Array) -> jax.Array:
        index = table[remaining, 1 + successes.astype(jnp.int32), 1 + failures.astype(jnp.int32)]
        return random_argmax(key, index)

    return select


def play_bandit(agent: Agent, probs: jax.Array, num_pulls: int, key: jax.Array) -> jax.Array:
    """Rewards ``[num_pulls]`` of ``agent`` on the Bernoulli bandit with arm means ``probs``."""

    def pull(counts, step):
        successes, failures = counts
        t, step_key = step
        act_key, reward_key = jax.random.split(step_key)
        arm = agent(act_key, successes, failures, t, num_pulls - t)
        reward = jax.random.bernoulli(reward_key, probs[arm]).astype(probs.dtype)
        counts = successes.at[arm].add(reward), failures.at[arm].add(1.0 - reward)
        return counts, reward

    zeros = jnp.zeros_like(probs)
    steps = jnp.arange(num_pulls), jax.random.split(key, num_pulls)
    return jax.lax.scan(pull, (zeros, zeros), steps)[1]


def default_bandit_agents(num_pulls: int) -> dict[str, Agent]:
    """The Table 1 rows: random, Gittins, TS, OTS, UCB1, epsilon-greedy and greedy; UCB1's
    ``c = 0.2`` and epsilon ``0.05`` come from a sweep on 100 pulls of 5 arms."""
    return {"random": random_agent, "gittins": gittins(num_pulls), "ts": thompson_sampling,
            "ots": optimistic_thompson_sampling, "ucb1": ucb1(0.2),
            "epsilon_greedy": epsilon_greedy(0.05), "greedy": greedy}


def evaluate_bandit_agents(num_arms: int, num_pulls: int, num_tasks: int, key: jax.Array,
                           agents: dict[str, Agent] | None = None,
                           probs: jax.Array | None = None) -> dict[str, jax.Array]:
    """Total reward per task ``[num_tasks]`` of each agent on tasks ``p ~ U[0, 1]^K`` (or on
    the given ``probs [num_tasks, K]``); all agents face the same tasks and random streams,
    one jit per agent."""
    agents = default_bandit_agents(num_pulls) if agents is None else agents
    task_key, play_key = jax.random.split(key)
    if probs is None:
        probs = BernoulliBandit(num_arms).sample_tasks(task_key, num_tasks).probs
    keys = jax.random.split(play_key, num_tasks)

    def total(agent):
        return jax.jit(jax.vmap(lambda p, k: play_bandit(agent, p, num_pulls, k).sum()))

    return {name: total(agent)(probs, keys) for name, agent in agents.items()}
