"""The locomotion section's prose: the published figures beside our runs, and what each run's
table needs said beside it (imported by report_locomotion.py)."""

# published figures, with where they come from (MAML paper: horizon 200, so a return is the
# sum of 200 rewards; ours: 100)
PUBLISHED = [
    "MAML (Finn et al. 2017), appendix Table 5, HalfCheetahDir at horizon 200, (100, 100) ReLU, "
    "40 tasks x 20 episodes: -50.69 before adaptation, 293.19 after 1 step, 313.48 after 2, "
    "315.65 after 3 (stated in the text). Per step of a 200-step episode: -0.25 and 1.47; "
    "the whole HalfCheetahDir run above gets 0.01 and 2.38 per step of a 100-step episode "
    "after 500 iterations (0.03 and 1.82 for the 100-iteration run below).",
    "MAML Figure 5, HalfCheetahVel at horizon 200, 40 x 20, (100, 100) ReLU: plotted only. "
    "Read off a copy of the figure (McKnightA/McKnightA.github.io, `figures/figure 5.png`, "
    "868 x 238 pixels, so about +- 3): MAML about -128 before adaptation, -79 after 1 step, "
    "-66 after 2, -61 after 3; the pretrained baseline about -157 to -130. Per step: -0.64 "
    "before and -0.39 after one step; the CPU-sized whole HalfCheetahVel run ends at -0.64 "
    "and -0.34 per step (horizon 100, a quarter of the meta-batch, [64, 64] tanh). The "
    "caption puts a random policy below -200.",
    "pytorch-maml-rl (issue #29, its author): HalfCheetahVel and HalfCheetahDir 'seem to match "
    "the results from the original paper' after 1000 meta-updates (horizon 200 at that time; "
    "today's configs use 100 and 500 updates); Ant tasks never reproduced there (#25, #45).",
    "ProMP (Rothfuss et al. 2019), Figure 2, HalfCheetahFwdBack (HalfCheetahDir) at horizon "
    "100, 40 x 20, [64, 64]: plotted against env steps sampled. Read off a copy of the figure "
    "(qqadssp/qqadssp.github.io, `assets/ProMP_Proximal_Meta_Policy_Search/Figure_2.png`, "
    "about +- 10): after one step, MAML-TRPO about 180, 215, 245, 255 and 260 at 0.25, 0.5, "
    "0.75, 1.0 and 1.2 x 10^8 steps; ProMP about 255, 290, 300, 310 and 313. At 160k steps "
    "per reference iteration (its trainer counts the pre- and post-update episodes: "
    "`meta_policy_search/meta_trainer.py`), 10^8 steps are about 600 iterations. The whole "
    "HalfCheetahDir run above reaches 238 +- 7 after 500 iterations of 40k steps (2 x 10^7 "
    "steps), where ProMP's MAML-TRPO curve is below 180.",
]

# what a single run's section needs said beside it
RUN_NOTES = {
    "locomotion_halfcheetahdir_rl2":
        "RL^2 adapts within the first episode: the reward shows the direction from the first "
        "steps, so a trial's first episode already runs the task's way (a policy that does "
        "not adapt averages about 0 over the two directions, as MAML-TRPO's before adaptation "
        "does), and the second episode adds the paired gain above. PPO takes 10 epochs of 8 "
        "minibatches per update here; at 4 x 4 a 300-update run (on the older 1-iteration "
        "solver) stayed under 10 (6.5 +- 1.1 first episode held out). A Gaussian in the "
        "box's units (std 10 on the [-10, 10] actions at the start, against 1 here) was "
        "tried and learned slower: 24 at update 80 of a 150-update run against 88, and "
        "104 +- 13 / 113 +- 14 held out after 300 updates, so it was not kept. This run was "
        "made while that option still existed, by a probe script that switched it off: the "
        "same computation as the command above without it. The time per iteration is with "
        "the reference-size HalfCheetahVel run sharing the 2 cores.",
    "locomotion_halfcheetahdir_rl2_full500":
        "The shipped RL^2 config at its full length (500 updates, 4M env steps). Training "
        "return per 50 updates, first / second episode: 10 / 12, 76 / 83, 120 / 131, "
        "148 / 160, 163 / 180, 181 / 193, 192 / 202, 200 / 210, 204 / 211, 208 / 214: it rises "
        "the whole way, more slowly after 300 updates, and never falls. Its averages over the "
        "first 350 updates equal, to 0.1, those of an earlier, unfinished run of the same "
        "command (the runs are deterministic). Part of "
        "the run shared the 2 cores with the test suite, so its time per update is an upper "
        "bound.",
    "locomotion_antvel_spring_500":
        "The 300-iteration AntVel run's command at the reference's 500 iterations. Its training "
        "gain per 50 iterations (the every-distribution table's note lists it) keeps rising to "
        "the end; the return before adapting rises too, with a dip after iteration 300. Held "
        "out, the gain "
        "(4.3 +- 1.3, paired) equals the 300-iteration run's, from a higher start. The two runs "
        "differ from the first iteration in the fourth digit (-21.821 against -21.819 before "
        "adapting), so something below the command changed between them; their gains per 50 "
        "iterations agree within 0.5.",
}

# long runs that stopped short of their iterations for good: why, in place of "in progress"
STOPPED_RUNS = {
    "long_run_halfcheetah_vel_reference":
        "It ends here. It ran in parts over several sessions, each continuing from "
        "the last checkpoint (`--checkpoints DIR`), and its checkpoints stayed on the machine "
        "that made them. Finishing it now means running it again from the start: about 7.5 "
        "hours of this 2-core CPU at 54 s per iteration, or an accelerator. What it shows so far "
        "is the plateau of the CPU-sized 500-iteration run above (-34.8 and -32.8 after one "
        "step at 200 and 300 iterations), reached sooner.",
}

# what the every-distribution table needs said beside it
SUMMARY_NOTES = [
    "AntVel adapts least, and its gain grows with training (training gain per 50 iterations of "
    "the 500-iteration run: 0.3, 0.5, 0.7, 1.4, 1.1, 2.3, 2.4, 3.6, 4.1, 4.3) while the return "
    "before adaptation rises (-37, -10, -3, 3, 4, 14, 10, 12, 13, 15). Our reading: AntVel's "
    "reward is -|v_x - v_goal| + constants, with goals in U[0, 3]. "
    "While the ant runs slower than a task's goal, that is v_x - v_goal + constants, whose "
    "policy gradient does not depend on the goal, so one inner step cannot tell those tasks "
    "apart; only as the ant gets fast enough to overshoot some goals do their gradients "
    "differ. AntDir's and AntGoal's rewards change sign or direction with the task from the "
    "first step, and both gain from adapting within 100 iterations.",
    "The Ant runs use `spring` because MJX's Ant steps 0.9k steps/s on this CPU: one 20 x 10 "
    "meta-iteration took about 3 minutes in a probe (sampling 88 s, the meta-step's rollouts "
    "90 s, with another job sharing the CPU), so 100 iterations would take 2.5 to 5 hours. "
    "MJX Ant runs wait for an accelerator.",
]
