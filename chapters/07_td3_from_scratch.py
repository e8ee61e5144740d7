# %% [markdown]
# # Chapter 7: TD3 from scratch
#
# Chapters 1 to 5 built sparse layers, made them fast and taught them to rewire, and chapter 6
# gave the reinforcement-learning background on problems small enough to solve exactly. Before
# we put sparse layers inside an agent, we need the agent itself. The DS-TD3 paper builds on
# **TD3**, *Twin Delayed Deep Deterministic policy gradient* (Fujimoto, van Hoof and Meger, 2018),
# an actor-critic method for continuous actions:
#
# * the **actor** `pi(s)` is a network that maps an observation to an action;
# * a **critic** `Q(s, a)` is a network that estimates the discounted return of taking action `a`
#   in state `s` and following `pi` afterwards;
# * the critic learns from transitions `(s, a, r, s')` stored in a **replay buffer**, by regressing
#   onto the temporal-difference (TD) target `r + gamma * Q'(s', pi'(s'))`, where `Q'` and `pi'`
#   are slowly moving copies, the **target networks**;
# * the actor learns by gradient ascent on `Q(s, pi(s))`: it moves its actions in the direction in
#   which the critic says the return grows.
#
# That much is DDPG (Lillicrap et al., 2016). TD3 adds three changes, each a fix for a way DDPG
# fails:
#
# 1. **twin critics and the minimum** ("clipped double Q-learning"): two critics are trained, and
#    the TD target uses the smaller of the two target estimates. Maximising a noisy critic
#    overestimates; taking a minimum pushes the bias the other way, which is much less harmful;
# 2. **delayed policy updates**: the actor and the target networks are updated only every second
#    critic update, so the actor chases a critic that has had time to settle;
# 3. **target policy smoothing**: the target action gets a little clipped noise, so the TD target
#    averages the critic over nearby actions instead of trusting a narrow peak.
#
# In this chapter we write one TD3 update out step by step with minidst's pieces (networks,
# Adam, replay buffer), check that `minidst.td3.TD3.update` computes exactly the same numbers,
# and train a dense agent on `Pendulum-v1`, a small task that TD3 learns in minutes on a CPU.
# Chapter 8 makes the networks sparse.

# %% [markdown]
# As in chapters 4 and 5, we pin BLAS to one thread: the matrices of a 256-wide network are small,
# and extra threads cost more than they bring.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import copy
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minidst import warmup
from minidst.envs import env_sizes, make_env, max_episode_steps
from minidst.plot import finish_figure
from minidst.replay import ReplayBuffer
from minidst.td3 import TD3, TD3Config
from minidst.train import evaluate

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
warmup()  # compile (or load) the Numba kernels now, not inside the first update

seed = 0
rng = np.random.default_rng(seed)

# %% [markdown]
# ## The task: Pendulum-v1
#
# A pendulum hangs from a motor. The agent applies a torque in `[-2, 2]` and should swing the
# pendulum up and hold it upright. The observation is `(cos theta, sin theta, theta_dot)`, and the
# reward at every step is `-(theta^2 + 0.1 theta_dot^2 + 0.001 torque^2)`, with `theta = 0`
# upright: it is never positive, and 0 is perfect. An episode lasts 200 steps and then is cut by
# a **time limit**. It never ends on its own: there is no state in which the pendulum "is done".
#
# `minidst.envs.make_env` makes a gymnasium environment and checks that the agents can drive it
# (a bounded, symmetric action box and a flat observation vector).

# %%
env = make_env("Pendulum-v1")
obs_dim, act_dim, max_action = env_sizes(env)
episode_limit = max_episode_steps(env)
print(f"observation size {obs_dim}, action size {act_dim}, max action {max_action}")
print(f"time limit: {episode_limit} steps per episode")

# %% [markdown]
# Gymnasium's `step` returns two separate flags. `terminated` says the episode reached a terminal
# state of the task (a robot fell over, a goal was reached): nothing follows, and the value of the
# next state is zero by definition. `truncated` says the episode was cut from the outside, here by
# the time limit: the pendulum would happily keep swinging. One random episode shows which flag
# Pendulum raises:

# %%
obs, _ = env.reset(seed=seed)
flags = []
episode_return = 0.0
while True:
    obs, reward, terminated, truncated, _ = env.step(rng.uniform(-max_action, max_action))
    episode_return += reward
    flags.append((terminated, truncated))
    if terminated or truncated:
        break
print(f"random episode: {len(flags)} steps, return {episode_return:.1f}")
print(f"terminated on any step: {any(t for t, _ in flags)}")
print(f"truncated on the last step: {flags[-1][1]}")

# %% [markdown]
# ## The replay buffer, and the first pitfall: store `terminated`, not `done`
#
# A classic mistake is to store `done = terminated or truncated` and use `(1 - done)` in the TD
# target. On Pendulum that is wrong on every 200th transition: the target becomes just `r`, as if
# the future were worth nothing. Since all rewards are negative, "nothing" is the best future
# there is, so the critic is taught that the states where the clock happens to run out are
# wonderful. Worse, the observation carries no clock, so the critic sees the same kind of state
# with two incompatible targets. The fix is one word: store `terminated`, and let a truncated
# transition bootstrap from `s'` like any other. `minidst.replay.ReplayBuffer.add` takes exactly
# `terminated`, and minidst's training loop passes it.
#
# Let us collect a few episodes with random actions, the way TD3 starts every run ("start
# steps"), and check what went into the buffer.

# %%
demo_buffer = ReplayBuffer(obs_dim, act_dim, capacity=1000)
obs, _ = env.reset(seed=seed)
truncations = 0
for _ in range(demo_buffer.capacity):
    action = rng.uniform(-max_action, max_action)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    demo_buffer.add(obs, action, reward, next_obs, terminated)
    obs = next_obs
    if terminated or truncated:
        truncations += int(truncated)
        obs, _ = env.reset()
print(f"{len(demo_buffer)} transitions, {truncations} episodes cut by the time limit")
print(f"transitions stored as terminal: {int(demo_buffer.terminated.sum())}")
assert demo_buffer.terminated.sum() == 0

# %% [markdown]
# `sample` draws a batch uniformly (with replacement) and returns every field **feature-major**,
# `(dim, batch)`, ready for the networks:

# %%
batch = demo_buffer.sample(100, rng)
for name, values in batch.items():
    print(f"{name:10s} {values.shape} {values.dtype}")

# %% [markdown]
# ## The agent's networks
#
# `minidst.td3.TD3` holds six networks: the actor, two critics and a target copy of each. With no
# sparsity given, all of them are dense MLPs `256-256` with ReLU, as in the paper. The actor ends
# in `tanh`, scaled by `max_action`, so its actions always lie in the box. A critic reads the
# concatenation `(obs, action)` and outputs one number. The hyperparameters default to the DS-TD3
# paper's, which are TD3's:

# %%
print(TD3Config())
agent = TD3(obs_dim, act_dim, max_action, np.random.default_rng(seed + 1))
print("actor:", agent.actor)
print("critic 1:", agent.critics[0])

# %% [markdown]
# The target networks start as exact copies, and each critic is initialised independently, so
# the twins disagree from the start. That disagreement is what the minimum works on.

# %%
probe = np.concatenate([batch["obs"], batch["action"]], axis=0)
q1_probe, q2_probe = (critic.forward(probe) for critic in agent.critics)
print(
    f"untrained critics on one batch: mean |Q1 - Q2| = {np.mean(np.abs(q1_probe - q2_probe)):.4f}"
)
assert np.array_equal(agent.actor_target.layers[0].weight, agent.actor.layers[0].weight)

# %% [markdown]
# ## One update, written out
#
# We now write a TD3 update ourselves, step by step. To compare it with the library afterwards, we
# work on `mine`, a deep copy of `agent`: same weights, same Adam state, and a copy of the same
# random generator, so both will draw the same smoothing noise.

# %%
mine = copy.deepcopy(agent)
config = mine.config
scale = mine.max_action  # (act_dim, 1) float32: broadcasts over a feature-major batch

# %% [markdown]
# ### Step 1: the TD target, with target policy smoothing
#
# `y = r + gamma * (1 - terminated) * min(Q'_1(s', a'), Q'_2(s', a'))`, where
#
# `a' = clip(pi'(s') + clip(eps, -c, c), -max_action, max_action)`, `eps ~ N(0, sigma)`,
#
# with `sigma = 0.2` and `c = 0.5`, both in units of `max_action`. Everything on the right-hand side
# comes from the **target** networks, and no gradient flows through `y`: it is a fixed regression
# target for this update.


# %%
def smoothed_td_target(batch, actor_target, critic_targets, rng):
    next_obs = batch["next_obs"]
    noise = rng.normal(0.0, config.policy_noise, (act_dim, next_obs.shape[1]))
    noise = np.clip(noise, -config.noise_clip, config.noise_clip) * scale
    # The smoothed action must stay a legal action: clip it to the box as well.
    next_action = np.clip(scale * actor_target.forward(next_obs) + noise, -scale, scale).astype(
        next_obs.dtype
    )
    next_input = np.concatenate([next_obs, next_action], axis=0)
    q1_next = critic_targets[0].forward(next_input)
    q2_next = critic_targets[1].forward(next_input)
    next_q = np.minimum(q1_next, q2_next)  # clipped double Q: the pessimistic twin wins
    return batch["reward"] + config.gamma * (1.0 - batch["terminated"]) * next_q


# %% [markdown]
# How much does the smoothing noise move the target action? Most draws stay small; the clip only
# bounds the rare large ones.

# %%
draws = rng.normal(0.0, config.policy_noise, 100_000)
clipped = np.clip(draws, -config.noise_clip, config.noise_clip)
print(
    f"smoothing noise, in units of max_action: std {clipped.std():.3f}, "
    f"{np.mean(np.abs(draws) > config.noise_clip):.2%} of draws clipped at +-{config.noise_clip}"
)

# %% [markdown]
# ### Step 2: twin critics, the MSE loss and its gradient
#
# Each critic regresses onto the same target: `L_i = mean((Q_i(s, a) - y)^2)` over the batch of
# `B` transitions. Its gradient with respect to the critic's outputs is
#
# `dL_i / dQ_i = 2 (Q_i - y) / B`,
#
# and the critic's own `backward` (chapter 2) carries it to every weight and bias. The two losses
# are summed into one, `L_1 + L_2`, and one Adam steps both critics: each critic's parameters
# appear in only one of the two terms, and Adam works parameter by parameter, so this is the same
# as two separate optimizers.


# %%
def critic_step(batch, target, critics, optimizer):
    critic_input = np.concatenate([batch["obs"], batch["action"]], axis=0)
    total_loss = 0.0
    for critic in critics:
        q = critic.forward(critic_input)
        error = q - target
        total_loss += float(np.mean(error * error))
        dloss_dq = (2.0 / error.size) * error  # the hand-written MSE gradient
        critic.backward(dloss_dq)
    optimizer.step()
    return total_loss


# %% [markdown]
# ### Step 3: the delayed actor update, through critic 1
#
# Every `policy_delay = 2` iterations the actor takes a step to increase `Q_1(s, pi(s))` (TD3 uses
# the first critic only). Its loss is `-mean(Q_1(s, pi(s)))`. The chain rule runs backwards
# through critic 1 into its *input*, keeps the action rows of that input gradient, and continues
# into the actor:
#
# `dL/d tanh-output = dL/d action * max_action`, because `action = max_action * tanh(z)`.
#
# Critic 1 is only a path for the gradient here: we ask its backward pass for the input gradient
# and skip its parameter gradients (`param_grads=False`), which are not used and would cost one
# more product per layer.


# %%
def actor_step(batch, actor, critic1, optimizer):
    obs = batch["obs"]
    action = scale * actor.forward(obs)
    q = critic1.forward(np.concatenate([obs, action], axis=0))
    dloss_dq = np.full_like(q, -1.0 / q.size)  # d(-mean q)/dq
    d_input = critic1.backward(dloss_dq, input_grad=True, param_grads=False)
    d_action = d_input[obs_dim:]  # the input rows that are the action
    actor.backward(d_action * scale)
    optimizer.step()
    return -float(np.mean(q))


# %% [markdown]
# ### Step 4: Polyak-averaged targets
#
# Right after each actor step, every target network moves a small step `tau = 0.005` towards its
# online network: `theta' <- tau * theta + (1 - tau) * theta'`. So the targets, and with them the
# TD target `y`, change slowly, which keeps the regression from chasing itself. For dense layers
# this is two lines per array. (`minidst.target.soft_update` does the same, and in chapter 8 it
# also keeps sparse targets sparse.)


# %%
def polyak(target_net, online_net, tau):
    for target_layer, online_layer in zip(target_net.layers, online_net.layers):
        for target_array, online_array in [
            (target_layer.weight, online_layer.weight),
            (target_layer.bias, online_layer.bias),
        ]:
            target_array *= 1 - tau
            target_array += tau * online_array


# %% [markdown]
# ### The whole update


# %%
def my_update(td3, batch, iteration):
    """One TD3 iteration on `batch`, from the four steps above. Returns (critic, actor) loss."""
    target = smoothed_td_target(batch, td3.actor_target, td3.critic_targets, td3.rng)
    critic_loss = critic_step(batch, target, td3.critics, td3.critic_optimizer)
    actor_loss = None
    if iteration % config.policy_delay == 0:
        actor_loss = actor_step(batch, td3.actor, td3.critics[0], td3.actor_optimizer)
        polyak(td3.actor_target, td3.actor, config.tau)
        for critic_target, critic in zip(td3.critic_targets, td3.critics):
            polyak(critic_target, critic, config.tau)
    return critic_loss, actor_loss


# %% [markdown]
# ## Does `TD3.update` do the same thing?
#
# We run four iterations on the same batches: `my_update` on `mine`, the library's `update` on
# `agent`. After each, we compare every array of all six networks. The operations are the same,
# in the same order, on the same float32 numbers, so we expect the arrays to agree **exactly**,
# not just approximately.


# %%
def largest_difference(td3_a, td3_b):
    networks_b = td3_b.all_networks()
    return max(
        float(np.max(np.abs(p - q)))
        for name, net in td3_a.all_networks().items()
        for p, q in zip(net.parameters(), networks_b[name].parameters())
    )


for iteration in range(1, 5):
    batch = demo_buffer.sample(100, rng)
    actor_before = agent.actor.layers[0].weight.copy()
    metrics = agent.update(batch)
    my_critic_loss, my_actor_loss = my_update(mine, batch, iteration)
    actor_moved = not np.array_equal(actor_before, agent.actor.layers[0].weight)
    if actor_moved:
        actor_losses = f"library {metrics['losses/actor']:+.6f}, mine {my_actor_loss:+.6f}"
    else:
        actor_losses = "no actor step"
    print(
        f"iteration {iteration}: critic loss library {metrics['losses/critic']:.6f}, "
        f"mine {my_critic_loss:.6f} | actor loss {actor_losses} | "
        f"largest difference {largest_difference(agent, mine)}"
    )
    assert largest_difference(agent, mine) == 0.0
    assert actor_moved == (iteration % config.policy_delay == 0)

# %% [markdown]
# Identical to the last bit. The printout also shows the **delayed** update at work: the actor
# (and the targets) move on iterations 2 and 4 only, while the critics learn on every iteration.
# The optimizers' step counters tell the same story:

# %%
print(f"critic Adam steps: {agent.critic_optimizer.t}, actor Adam steps: {agent.actor_optimizer.t}")
assert agent.critic_optimizer.t == config.policy_delay * agent.actor_optimizer.t

# %% [markdown]
# ## Training on Pendulum
#
# Now a fresh agent and the whole loop, written out. One random generator drives everything: the
# random start actions, the exploration noise, the minibatches and the smoothing noise.
#
# * For the first `start_steps` steps the agent acts uniformly at random and does not learn, so
#   the buffer holds varied data before the first update.
# * After that, every environment step is followed by one update on a batch of 100 (the paper's
#   setting: one gradient iteration per step). Actions come from the actor plus Gaussian
#   exploration noise of `0.1 * max_action`.
# * Every `eval_every` steps we run the deterministic policy (no noise) on a separate environment
#   seeded `seed + 100` (`minidst.train.evaluate`), as the paper does.
#
# The full chapter trains for 10,000 steps, which is typically enough for TD3 to learn the
# swing-up; quick mode (`MINIDST_QUICK=1`) runs only a few hundred, which checks that the loop
# works but learns little.

# %%
total_steps = 600 if QUICK else 10_000
start_steps = 200 if QUICK else 1_000
eval_every = 200 if QUICK else 1_000
eval_episodes = 1 if QUICK else 5
batch_size = 100

agent = TD3(obs_dim, act_dim, max_action, rng)
buffer = ReplayBuffer(obs_dim, act_dim, capacity=total_steps)
eval_env = make_env("Pendulum-v1")

history = {"eval_step": [], "eval_return": [], "episode_step": [], "episode_return": []}
history.update({"learning_episode_step": [], "episode_critic_loss": [], "episode_q1": []})
episode_metrics = []
start_time = time.perf_counter()
obs, _ = env.reset(seed=seed)
episode_return = 0.0
for step in range(1, total_steps + 1):
    if step <= start_steps:
        action = rng.uniform(-max_action, max_action)
    else:
        action = agent.act(obs, explore=True)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    buffer.add(obs, action, reward, next_obs, terminated)  # terminated, never `done`
    obs = next_obs
    episode_return += reward
    if step > start_steps:
        episode_metrics.append(agent.update(buffer.sample(batch_size, rng)))
    if terminated or truncated:
        history["episode_step"].append(step)
        history["episode_return"].append(episode_return)
        if episode_metrics:  # episodes during the random start steps have no updates
            history["learning_episode_step"].append(step)
            history["episode_critic_loss"].append(
                np.mean([m["losses/critic"] for m in episode_metrics])
            )
            history["episode_q1"].append(np.mean([m["values/q1"] for m in episode_metrics]))
        episode_metrics = []
        obs, _ = env.reset()
        episode_return = 0.0
    if step % eval_every == 0:
        returns = evaluate(agent, eval_env, seed + 100, eval_episodes)
        history["eval_step"].append(step)
        history["eval_return"].append(returns.mean())
        print(
            f"step {step:6d}: evaluation return {returns.mean():8.1f} +- {returns.std():6.1f} "
            f"({time.perf_counter() - start_time:.0f} s)"
        )
seconds = time.perf_counter() - start_time
updates = total_steps - start_steps
print(f"{total_steps} steps and {updates} updates in {seconds:.1f} s")
print(f"{updates / seconds:.0f} updates per second, environment steps included")

# %% [markdown]
# Random torques score roughly -1000 to -1500 per episode on Pendulum (the random episode at the
# top of the chapter is one sample), and a good swing-up policy about -150: rl-baselines3-zoo
# reports -150 +- 90 for TD3 after 20,000 steps. The swing-up itself costs reward, so even a
# perfect policy stays below 0. Compare the printed evaluation returns with those two marks.
#
# In the figure, the left panel shows the evaluation return and the return of each training
# episode (with exploration noise); the right panel shows the critic loss and the mean `Q_1` on
# the training batches, averaged per episode.

# %%
fig, (ax_return, ax_critic) = plt.subplots(1, 2, figsize=(11, 4.2))
ax_return.plot(
    history["episode_step"], history["episode_return"], ".", alpha=0.5, label="training episodes"
)
ax_return.plot(history["eval_step"], history["eval_return"], "o-", label="evaluation (no noise)")
ax_return.axvline(start_steps, color="gray", ls=":", label="end of random start steps")
ax_return.set_xlabel("environment step")
ax_return.set_ylabel("episode return")
ax_return.set_title("Dense TD3 on Pendulum-v1")
ax_return.legend()
learning_steps = history["learning_episode_step"]
ax_critic.plot(learning_steps, history["episode_critic_loss"], "o-", label="critic loss (Q1 + Q2)")
ax_critic.set_yscale("log")
ax_critic.set_xlabel("environment step")
ax_critic.set_ylabel("critic loss")
ax_q = ax_critic.twinx()
ax_q.plot(learning_steps, history["episode_q1"], "s-", color="C1", label="mean Q1")
ax_q.set_ylabel("mean Q1 on training batches")
ax_critic.set_title("Critics, averaged per training episode")
ax_critic.legend(loc="upper left")
ax_q.legend(loc="upper right")
for ax in (ax_return, ax_critic):
    ax.grid(alpha=0.3)
fig.tight_layout()
path = OUT / "07_td3_pendulum.png"
finish_figure(fig, path)
print("saved", path)

# %% [markdown]
# Two things to read in the right panel. Mean `Q_1` starts near 0, where an untrained critic's
# outputs lie, and moves towards the discounted return, which on Pendulum is negative and large:
# every reward is negative, and with `gamma = 0.99` a return weighs on the order of 100 of them.
# It gets there gradually, because each update bootstraps from the target networks, which trail
# the critics. And the critic loss is not a score to drive to 0: its targets move with the policy
# and grow with the values, so it can rise while the agent improves.
#
# ## How big would the `done` mistake be?
#
# With a trained critic we can measure the first pitfall. Every 200th transition in the buffer is
# the last of an episode, cut by the time limit. For those we compare the correct target
# (bootstrapping from `s'`) with the target that `done` would give, which is just `r`.

# %%
# Every episode lasts exactly `episode_limit` steps and the buffer never wrapped around.
assert buffer.terminated.sum() == 0 and len(buffer) == total_steps
last_of_episode = np.arange(episode_limit - 1, len(buffer), episode_limit)
cut = {
    name: np.ascontiguousarray(getattr(buffer, name)[last_of_episode].T)
    for name in ReplayBuffer.FIELDS
}
correct_target = agent.td_target(cut)
done_target = cut["reward"]  # (1 - done) = 0: the future is dropped
print(f"{len(last_of_episode)} truncated transitions")
print(f"mean correct target {correct_target.mean():8.2f}")
print(f"mean 'done' target  {done_target.mean():8.2f}")
print(f"mean reward of all stored transitions {buffer.reward[: len(buffer)].mean():.2f}")

# %% [markdown]
# The `done` target throws away `gamma * min Q'(s', a')`, a whole discounted return: once the
# critic has learned (compare the printed means), that is many times one step's reward. A critic
# trained on it is pulled towards 0 on the truncated states, while the same kind of state
# elsewhere in the buffer says otherwise. On Pendulum this is one transition in 200. HalfCheetah,
# the task of chapters 8 and 9, never terminates either: every one of its episodes ends this way.
#
# ## The same loop in the library
#
# `minidst.train.Trainer` runs this loop, plus logging, checkpoints and exact resume, from a
# `TrainConfig`; `minidst train` is its command line. Chapter 9 uses it. The agent it builds for
# `algo="td3"` is the very `TD3` class we compared against above.

# %% [markdown]
# ## Summary
#
# * TD3 is DDPG with three fixes: twin critics with a minimum in the target (against
#   overestimation), delayed actor and target updates (the actor follows a settled critic), and
#   target policy smoothing (clipped noise on the target action, so the target averages over
#   nearby actions).
# * One iteration: the target `y = r + gamma (1 - terminated) min_i Q'_i(s', clip(pi'(s') + eps))`;
#   both critics regress onto it with the MSE gradient `2 (Q_i - y) / B`; every second iteration
#   the actor ascends `Q_1(s, pi(s))`, with the gradient carried through critic 1's input into the
#   actor (scaled by `max_action` for the `tanh` output); then all targets move by Polyak averaging
#   with `tau = 0.005`.
# * Written out with minidst's networks and Adam, the update matches `TD3.update` exactly.
# * Store `terminated`, not `done`: a time-limit cut is not the end of the task, and its transition
#   must still bootstrap. Pendulum never terminates, so `done` would be wrong on every episode.
# * Ten thousand steps of dense TD3 with the paper's hyperparameters are typically enough to learn
#   Pendulum's swing-up; the printed evaluation returns and the figure show how your run did.

# %% [markdown]
# ## Exercises
#
# 1. Train with `done = terminated or truncated` stored in the buffer instead of `terminated`.
#    Compare the learning curves and the mean `Q_1`. Which states does the critic now overvalue?
# 2. Replace the minimum of the twin targets by the target of critic 1 alone (DDPG's target) and
#    log `values/q1` against the true discounted return of the evaluation episodes. Do you see the
#    overestimation that TD3's minimum was designed against?
# 3. Set `policy_delay = 1` and then 4 in `TD3Config`. How do the learning curve and its noise
#    change? Why does the actor need a critic that has had time to settle?
# 4. Set `policy_noise = 0` (no target smoothing). On Pendulum the effect is small; argue why, and
#    suggest a task where a narrow peak in `Q` would be more tempting to exploit.
# 5. Write `polyak_flat(target_net, online_net, tau)`, the Polyak update for a whole network as
#    one operation on a single flat parameter vector, written back into the target's arrays. Why
#    does that not work any more once a layer is sparse and its topology changes (chapter 8)?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(7)
# For example: exercises.chapter7_exercise5(polyak_flat)
