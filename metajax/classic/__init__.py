"""Classic (non-learned) exploration agents: the reference rows of RL^2 (Duan et al. 2016)."""

from metajax.classic.bandits import (default_bandit_agents, epsilon_greedy, evaluate_bandit_agents,
                                     gittins, greedy, optimistic_thompson_sampling, play_bandit,
                                     random_agent, random_argmax, thompson_sampling, ucb1)
from metajax.classic.gittins import gittins_table
from metajax.classic.mdp import (MDP_AGENTS, Stats, evaluate_mdp_agents, optimal_plan, play_mdp,
                                 psrl_plan, random_plan)

__all__ = [
    "random_agent", "greedy", "epsilon_greedy", "ucb1", "thompson_sampling",
    "optimistic_thompson_sampling", "gittins", "random_argmax", "play_bandit",
    "default_bandit_agents", "evaluate_bandit_agents", "gittins_table", "Stats", "MDP_AGENTS",
    "random_plan", "psrl_plan", "optimal_plan", "play_mdp", "evaluate_mdp_agents",
]
