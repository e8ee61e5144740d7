# %% [markdown]
# # Chapter 6: A reinforcement-learning primer
#
# The next chapter builds TD3, an off-policy actor-critic for continuous actions. This one gives
# the five ideas it rests on, each on a problem small enough to solve exactly, so that every
# claim can be checked with an `assert`:
#
# 1. a Markov decision process (MDP) and the discounted return;
# 2. the Bellman equation, and value iteration, which solves it;
# 3. learning off-policy from a replay buffer: the same fixed point from stored transitions;
# 4. the deterministic policy gradient: with continuous actions, the actor climbs the critic;
# 5. why TD3 keeps target networks and twin critics: the maximum of noisy estimates is biased up.
#
# Nothing here uses minidst's networks; plain NumPy is enough. (Sutton and Barto's
# *Reinforcement Learning: An Introduction* is the textbook for all of it.)

# %%
import os

import numpy as np

QUICK = os.environ.get("MINIDST_QUICK") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. An MDP and its return
#
# An MDP has states `s`, actions `a`, a transition rule `s' ~ P(.|s, a)`, a reward `r(s, a)` and a
# discount `gamma` in [0, 1). An agent acts by a policy `pi(a|s)`; its goal is the expected
# **discounted return** `G = r_0 + gamma r_1 + gamma^2 r_2 + ...`. The discount keeps `G` finite
# and says how far ahead the agent looks: a reward `k` steps away counts `gamma^k` (with TD3's
# `gamma = 0.99`, a horizon of roughly 100 steps).
#
# Our MDP is a corridor of 6 cells. Action 0 steps left, action 1 steps right; reaching the right
# end pays 1 and ends the episode (a **terminal** state: nothing follows it); every other step
# pays 0, and a step into the left wall stays put.

# %%
n_states, n_actions, gamma = 6, 2, 0.9
goal = n_states - 1


def step(s: int, a: int) -> tuple[int, float, bool]:
    """``(next state, reward, terminated)`` of the corridor."""
    s_next = max(s - 1, 0) if a == 0 else s + 1
    return s_next, float(s_next == goal), s_next == goal


# %% [markdown]
# ## 2. The Bellman equation and value iteration
#
# The value of taking `a` in `s` and acting well afterwards, `Q*(s, a)`, satisfies the **Bellman
# optimality equation**: the reward now, plus the discounted value of the best action next,
#
# `Q*(s, a) = r(s, a) + gamma (1 - terminated) max_a' Q*(s', a')`.
#
# The right-hand side, applied to any table `Q`, is the Bellman operator. It is a contraction:
# each application multiplies the (max-norm) distance between two tables by at most `gamma`, so
# repeating it from any start converges to `Q*`. That repetition is **value iteration**.

# %%
Q = np.zeros((n_states, n_actions))
sweeps, change = 0, np.inf
while change > 1e-12:  # each sweep applies the Bellman operator once
    new_Q = np.zeros_like(Q)
    for s in range(goal):  # the goal is terminal: its row stays 0
        for a in range(n_actions):
            s_next, r, terminated = step(s, a)
            new_Q[s, a] = r + gamma * (1 - terminated) * Q[s_next].max()
    change = np.abs(new_Q - Q).max()
    Q, sweeps = new_Q, sweeps + 1
print(f"value iteration converged after {sweeps} sweeps")
print("Q*(s, left), Q*(s, right):\n", np.round(Q, 4))
# Going right from s reaches the goal in (goal - s) steps: its value is gamma^(goal - s - 1).
expected_right = gamma ** (goal - np.arange(goal) - 1.0)
assert np.allclose(Q[:goal, 1], expected_right)
assert np.all(Q[:goal].argmax(axis=1) == 1)  # the greedy policy: always right

# %% [markdown]
# ## 3. Off-policy learning from a replay buffer
#
# Value iteration needs the transition rule. An RL agent only has experience: transitions
# `(s, a, r, s', terminated)` it has seen. **Off-policy** methods learn `Q*` from transitions
# gathered by *any* behaviour, here a uniformly random one, stored in a **replay buffer** and
# reused many times. Each update regresses `Q(s, a)` toward the **TD target**
# `y = r + gamma (1 - terminated) max_a' Q(s', a')` built from the current table: the Bellman
# operator, estimated from samples. (TD3 does the same with networks and minibatches.)
#
# Pitfall, easy to overlook: store `terminated`, not "episode over". An episode cut by a time
# limit did not reach a terminal state; its last transition must still bootstrap from `s'`.

# %%
buffer = []
s = 0
for t in range(2000):
    a = int(rng.integers(n_actions))  # the behaviour policy: random
    s_next, r, terminated = step(s, a)
    buffer.append((s, a, r, s_next, terminated))
    s = 0 if terminated or t % 50 == 49 else s_next  # episodes also end at a 50-step limit
buffer = np.array(buffer)
states, actions = buffer[:, 0].astype(int), buffer[:, 1].astype(int)
rewards, next_states, terms = buffer[:, 2], buffer[:, 3].astype(int), buffer[:, 4]

learned = np.zeros((n_states, n_actions))
learning_rate = 0.5
for _ in range(300 if QUICK else 2000):
    batch = rng.integers(len(buffer), size=64)  # a minibatch, with replacement
    target = rewards[batch] + gamma * (1 - terms[batch]) * learned[next_states[batch]].max(axis=1)
    for i, y in zip(batch, target):
        learned[states[i], actions[i]] += learning_rate * (y - learned[states[i], actions[i]])
print("largest |Q_learned - Q*|:", np.abs(learned - Q).max())
assert np.abs(learned - Q).max() < 1e-3  # random behaviour, greedy values

# %% [markdown]
# ## 4. Continuous actions: the deterministic policy gradient
#
# With continuous actions, `max_a' Q(s', a')` is no longer a lookup. DDPG and TD3 keep a
# deterministic **actor** `a = pi(s)` that should maximise the **critic** `Q(s, a)`, and improve it
# by the chain rule (Silver et al. 2014):
#
# `d Q(s, pi(s)) / d theta = dQ/da (s, pi(s)) * d pi(s) / d theta`.
#
# The critic's gradient with respect to the *action* tells the actor which way to move. Here a
# one-parameter actor `pi(s) = theta * s` climbs a known critic whose best action is `2 s`.


# %%
def critic(s, a):
    return -((a - 2 * s) ** 2)


def critic_action_gradient(s, a):
    return -2 * (a - 2 * s)  # dQ/da


theta = 0.0
for _ in range(200):
    s_batch = rng.uniform(-1, 1, 32)
    actions = theta * s_batch
    # Ascend mean Q(s, pi(s)): dQ/da times d pi / d theta = s.
    theta += 0.2 * np.mean(critic_action_gradient(s_batch, actions) * s_batch)
print(f"theta after 200 steps: {theta:.4f} (best: 2)")
assert abs(theta - 2) < 1e-3

# %% [markdown]
# ## 5. Why target networks and twin critics
#
# The TD target takes a maximum over the critic's *estimates*. Estimates are noisy, and the
# maximum of noisy values is biased upward: `E[max_i (q_i + noise_i)] >= max_i q_i`. Bootstrapping
# feeds that bias back into the critic, step after step: **overestimation**. TD3's answers:
#
# * **twin critics**: learn two critics and use the *smaller* of their two estimates in the target
#   (Fujimoto et al. 2018), which trades the upward bias for a small downward one;
# * **target networks**: compute the target with slowly moving copies of the networks (Polyak
#   averaging, `theta' <- tau theta + (1 - tau) theta'`), so the regression target does not chase
#   the very network being fitted;
# * **target policy smoothing** and **delayed actor updates** (chapter 7).
#
# The bias, measured: ten actions that are all worth 0, estimated with unit noise.

# %%
draws = 2000 if QUICK else 20000
true_values = np.zeros(10)
one_critic = (true_values + rng.standard_normal((draws, 10))).max(axis=1)
critic_a = true_values + rng.standard_normal((draws, 10))
critic_b = true_values + rng.standard_normal((draws, 10))
# Clipped double Q: the action one critic thinks best, valued by the smaller of the two.
best = critic_a.argmax(axis=1)
twin = np.minimum(critic_a[np.arange(draws), best], critic_b[np.arange(draws), best])
print(f"max of one noisy critic:   {one_critic.mean():+.3f} (true: 0)")
print(f"min of two, at its argmax: {twin.mean():+.3f}")
assert one_critic.mean() > 1.0  # ~ +1.54 for ten unit-noise estimates
assert abs(twin.mean()) < one_critic.mean()

# %% [markdown]
# ## Summary
#
# * An MDP and a discount define the return; `Q*(s, a)` is the value of acting well after `a`.
# * `Q*` is the fixed point of the Bellman operator, a contraction: value iteration finds it.
# * Off-policy learning estimates the same operator from stored transitions of any behaviour: a
#   replay buffer and TD targets `r + gamma (1 - terminated) max Q(s', .)`. Time-limit cuts are
#   not terminal.
# * With continuous actions an actor follows the critic's action gradient (the deterministic
#   policy gradient).
# * Maxima of noisy estimates overestimate; TD3 counters with twin critics, slow target networks,
#   smoothing and delays.
#
# ## Exercises
#
# 1. Make the corridor slippery: with probability 0.2 an action moves the other way. Change
#    `step` and value iteration (an expectation over the two outcomes) and check the greedy policy.
#    Give `Q*` as a `(6, 2)` array (rows: states; columns: left, right).
# 2. Treat the 50-step time limit as terminal in section 3 (store `terminated = True` there).
#    Which values come out wrong, and by how much?
# 3. Replace the random behaviour in section 3 by "always left". Can the learned table still
#    reach `Q*` (True or False)? Why does off-policy learning need the behaviour to cover the
#    actions?
# 4. In section 5, vary the number of actions (2, 10, 100) and the noise. What is the
#    overestimation of one critic with unit noise for each number of actions (to 2 decimals)? How
#    does it grow with the actions and with the noise, and how does the twin estimate behave?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(6)
# For example: exercises.chapter6_exercise3(True)  # or False
