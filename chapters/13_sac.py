# %% [markdown]
# # Chapter 13: SAC
#
# The DS-TD3 paper's appendix repeats its experiment with a second agent, **SAC**, *Soft
# Actor-Critic* (Haarnoja et al., 2018), and calls the dynamic sparse version **DS-SAC**. This
# chapter builds SAC; chapter 14 makes it sparse. SAC keeps much of TD3 (chapter 7): a replay
# buffer, twin critics, the minimum of the two in the target, target critics that trail the
# online ones. What changes is the policy and what it is trained for:
#
# * the actor is **stochastic**: for each state it outputs a distribution over actions, a Gaussian
#   squashed by `tanh` into the action box, and the agent explores by sampling from it, with no
#   added noise;
# * the objective has an **entropy bonus**: the agent maximises `E[sum_t r_t + alpha H(pi(.|s_t))]`,
#   so it is paid for staying random where randomness costs little. The temperature `alpha` sets
#   the exchange rate between reward and entropy;
# * so the critics learn **soft** values: the TD target subtracts `alpha log pi(a'|s')` of a fresh
#   action sampled from the current policy;
# * there is **no target actor**, no target policy smoothing and no policy delay: the actor is
#   trained on every iteration, through the minimum of both critics.
#
# This chapter writes the squashed Gaussian out by hand, forward and backward, with the one place
# where float32 quietly breaks it; then the three SAC losses and the temperature, each checked
# against an independent computation; and last, a short run of SAC on Pendulum-v1.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import copy
import math
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from minidst import rundir, warmup
from minidst.agent import NetworkDensities
from minidst.config import TrainConfig
from minidst.envs import env_sizes, make_env
from minidst.factory import build_agent
from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.plot import finish_figure, plot_runs, read_run
from minidst.replay import ReplayBuffer
from minidst.sac import (
    LOG_STD_MAX,
    LOG_STD_MIN,
    SAC,
    SACConfig,
    softplus,
    squashed_gaussian,
    squashed_gaussian_backward,
)
from minidst.train import Trainer

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
RUNS = OUT / "runs"  # one directory per training run; created by Trainer.start
warmup()  # compile (or load) the Numba kernels now, not inside the first update

seed = 0
rng = np.random.default_rng(seed)

# %% [markdown]
# ## The squashed Gaussian
#
# ### Sampling, with the reparameterisation trick
#
# For a batch of `B` observations the actor MLP outputs `2 * A` rows per sample (`A` = number of
# actions): first `A` rows of **means**, then `A` rows of **raw log-stds**. The raw value is bounded
# smoothly into `[LOG_STD_MIN, LOG_STD_MAX] = [-5, 2]`, so the standard deviation can neither
# collapse to 0 nor explode:
#
# `log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (tanh(raw) + 1) / 2`.
#
# A sample is then drawn in three steps:
#
# 1. `u = mean + std * eps` with `eps ~ N(0, 1)`, a Gaussian sample;
# 2. `a = tanh(u)`, squashed into `(-1, 1)`;
# 3. `action = max_action * a`, scaled to the environment's box.
#
# Step 1 is the **reparameterisation trick**. The noise `eps` is drawn *outside* the network, so
# the sample is an ordinary differentiable function of the network's outputs: the actor's loss can
# be backpropagated through the sample itself, and `eps` is a constant for that pass. That is what
# lets SAC train its actor by plain backprop through the critics, as TD3 does.
#
# `minidst.sac.squashed_gaussian(head, eps)` does all of it on feature-major arrays and returns the
# sample `a`, its log-probability `logp` `(1, B)` and what the backward pass needs. We redo the
# three steps by hand on a small random head and compare.

# %%
n_actions, n_samples = 3, 5
head = rng.normal(size=(2 * n_actions, n_samples))
eps = rng.normal(size=(n_actions, n_samples))
sample = squashed_gaussian(head, eps)

mean, raw = head[:n_actions], head[n_actions:]
log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1) / 2
u = mean + np.exp(log_std) * eps
print("returned arrays:", {name: value.shape for name, value in sample.items()})
print(f"log_std within [{log_std.min():.2f}, {log_std.max():.2f}]")
assert np.allclose(sample["u"], u) and np.allclose(sample["a"], np.tanh(u))

# %% [markdown]
# ### Why `tanh`?
#
# The action box is bounded and a Gaussian is not. Clipping a Gaussian sample to the box would pile
# a finite probability mass exactly on the bounds, where the density (and so `log pi`) is no longer
# defined, and the gradient of a clipped action with respect to the mean is 0. `tanh` is smooth and
# strictly increasing, so it maps the Gaussian to a proper density on `(-1, 1)` that we can write
# down exactly by a change of variables (next section), and it passes gradient everywhere.
#
# The figure shows three squashed Gaussians: for each, a histogram of samples and the density
# `exp(logp)` computed by `squashed_gaussian` on a grid. To ask for a given mean and std we invert
# the log-std bound: `raw = arctanh(2 (log_std - LOG_STD_MIN) / (LOG_STD_MAX - LOG_STD_MIN) - 1)`.
# A wide Gaussian (`std = 2`) puts most of its mass where `tanh` is flat, so the squashed density
# piles up near the bounds: a policy that wants extreme actions can express them without ever
# leaving the box.


# %%
def actor_head(mean, std, n):
    """An actor output `(2, n)` for one action dimension with the given mean and std."""
    raw = np.arctanh(2 * (np.log(std) - LOG_STD_MIN) / (LOG_STD_MAX - LOG_STD_MIN) - 1)
    return np.vstack([np.full(n, mean), np.full(n, raw)])


settings = [(0.0, 0.3), (0.0, 2.0), (1.5, 0.5)]
u_grid = np.linspace(-12, 12, 40_001)  # a = tanh(u) covers (-1, 1) densely, even near the bounds
n_draws = 20_000 if QUICK else 200_000
fig, axes = plt.subplots(1, len(settings), figsize=(13, 3.6), sharey=True)
for ax, (mean_value, std_value) in zip(axes, settings):
    draws = squashed_gaussian(
        actor_head(mean_value, std_value, n_draws), rng.normal(size=(1, n_draws))
    )["a"][0]
    # On the grid, pick eps so that u = mean + std * eps runs through u_grid.
    on_grid = squashed_gaussian(
        actor_head(mean_value, std_value, u_grid.size), ((u_grid - mean_value) / std_value)[None]
    )
    a_grid, density = on_grid["a"][0], np.exp(on_grid["logp"][0])
    # The trapezoidal rule, written out (np.trapezoid needs NumPy 2; minidst supports 1.24+).
    total_probability = np.sum((density[1:] + density[:-1]) / 2 * np.diff(a_grid))
    print(f"mean {mean_value}, std {std_value}: density integrates to {total_probability:.6f}")
    assert abs(total_probability - 1) < 1e-3
    ax.hist(draws, bins=100, range=(-1, 1), density=True, alpha=0.5, label="samples")
    ax.plot(a_grid, density, "k", lw=1, label="exp(logp)")
    ax.set_title(f"mean {mean_value}, std {std_value}")
    ax.set_xlabel("a = tanh(u)")
    ax.set_ylim(0, 3)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("density")
axes[0].legend()
fig.tight_layout()
path = OUT / "13_squashed_gaussian.png"
finish_figure(fig, path)
print("saved", path)

# %% [markdown]
# The histograms sit on the curves and each density integrates to 1 (the printed integrals), which
# is a first check of the log-probability formula. (Where the density rises steeply at the bounds
# the plot is cut at 3.)
#
# ### The log-probability, written out
#
# If `u` has density `p_U` and `a = tanh(u)`, then `p_A(a) = p_U(u) / |da/du|`, and
# `da/du = 1 - tanh(u)^2`. The action dimensions are independent, so their logs add up:
#
# `log pi(a|s) = sum_i [ log N(u_i; mean_i, std_i) - log(1 - tanh(u_i)^2) ]`.
#
# Written with `eps` (`u = mean + std * eps`), the Gaussian term is
# `-eps_i^2 / 2 - log_std_i - log(2 pi) / 2`. That is the form the library uses, and it says
# something useful for the backward pass: with `eps` held fixed, the Gaussian term depends on the
# network only through `log_std`, not through the mean at all.
#
# The log-probability is that of `a` in `(-1, 1)`. Scaling by `max_action` would subtract the
# constant `sum_i log(max_action_i)`; minidst leaves it out, as Spinning Up and Stable-Baselines3
# do, so that a target entropy of `-A` (below) means the same thing for every action bound.
#
# Now an independent check: `scipy.stats.norm.logpdf` of `u`, minus the correction computed the
# naive way, in float64. The naive correction is safe here because `|u|` stays small (asserted).

# %%
# Means around 0 and raw log-stds near 0, i.e. stds of roughly 0.1 to 0.6: moderate |u|.
head = np.vstack([rng.normal(size=(n_actions, 64)), 0.3 * rng.normal(size=(n_actions, 64))])
eps = rng.normal(size=(n_actions, 64))
sample = squashed_gaussian(head, eps)
mean, std = head[:n_actions], sample["std"]
u = sample["u"]
assert np.abs(u).max() < 5  # float64 tanh is far from +-1 here: the naive log is accurate
independent_logp = np.sum(
    norm.logpdf(u, loc=mean, scale=std) - np.log(1 - np.tanh(u) ** 2), axis=0, keepdims=True
)
logp_difference = np.abs(independent_logp - sample["logp"]).max()
print(f"largest |u| in the batch {np.abs(u).max():.2f}")
print(f"largest difference from scipy's log-density: {logp_difference:.2e}")
assert logp_difference < 1e-10

# %% [markdown]
# ### A numerically stable `log(1 - tanh(u)^2)`
#
# The correction term is where float32 breaks. Once `|u|` is large enough that `tanh(u)` rounds to
# exactly `+-1`, `1 - tanh(u)^2` is 0 and its log is `-inf`; `log pi` becomes `+inf`, and one such
# sample turns the actor loss into NaN. Large `|u|` is not exotic: a policy that has learned to
# push an action against its bound does it with a large mean. Even before the `-inf`, the
# subtraction `1 - tanh(u)^2` cancels almost every significant digit.
#
# The way out is an identity. `1 - tanh(u)^2 = 1 / cosh(u)^2 = 4 / (e^u + e^-u)^2`, so
#
# `log(1 - tanh(u)^2) = 2 (log 2 - u - log(1 + e^(-2u))) = 2 (log 2 - u - softplus(-2u))`,
#
# exact for every `u`, with no subtraction of nearly equal numbers. `softplus(x) = log(1 + e^x)` is
# itself computed without overflow (`np.logaddexp(0, x)`). The table compares both forms in
# float32 against the stable form in float64.

# %%
u_values = np.array([0.5, 3.0, 6.0, 8.0, 9.0, 10.0, 20.0, -20.0], dtype=np.float32)
with np.errstate(divide="ignore"):  # the naive form takes log(0) on purpose
    naive = np.log(1 - np.tanh(u_values) ** 2)
stable = 2 * (math.log(2.0) - u_values - softplus(-2 * u_values))
u64 = u_values.astype(np.float64)
reference = 2 * (math.log(2.0) - u64 - np.logaddexp(0.0, -2 * u64))
print(f"{'u':>6}{'naive float32':>16}{'stable float32':>16}{'float64':>12}")
for row in zip(u_values, naive, stable, reference):
    print(f"{row[0]:>6.1f}{row[1]:>16.5f}{row[2]:>16.5f}{row[3]:>12.5f}")
assert np.all(np.isfinite(stable)) and np.allclose(stable, reference, rtol=1e-6)
assert np.isneginf(naive[u_values == 10.0]).all()

# %% [markdown]
# The naive float32 column drifts away from the reference well before it reaches `-inf`, while the
# stable column matches float64 all the way. Through the library, in float32: a policy with mean
# 12 and a small std has every `|u|` near 12, and `logp` stays finite.

# %%
saturated_head = np.vstack([np.full((1, 8), 12.0), np.full((1, 8), -3.0)]).astype(np.float32)
saturated = squashed_gaussian(saturated_head, rng.normal(size=(1, 8)).astype(np.float32))
with np.errstate(divide="ignore"):
    naive_correction = np.log(1 - saturated["a"] ** 2)
print("a rounds to exactly 1 in float32:", bool(np.all(saturated["a"] == 1.0)))
print("naive correction:", naive_correction[0, :4], "...")
print("library logp:    ", saturated["logp"][0, :4], "...")
assert saturated["logp"].dtype == np.float32 and np.all(np.isfinite(saturated["logp"]))

# %% [markdown]
# ### The backward pass, by hand
#
# The actor's loss (below) depends on the sample through two outputs: the action `a` and its
# log-probability `logp`. Given `dL/da` `(A, B)` and `dL/dlogp` `(1, B)`,
# `squashed_gaussian_backward` returns `dL/dhead` `(2A, B)` with `eps` held fixed:
#
# * `d logp / d u_i = 2 tanh(u_i)`: the derivative of `-log(1 - tanh(u)^2)` (and the Gaussian term
#   in its `eps` form does not depend on `u`);
# * `dL/du = dL/da * (1 - a^2) + dL/dlogp * 2a`, and `dL/dmean = dL/du`, since `du/dmean = 1`;
# * `dL/dlog_std = dL/du * std * eps - dL/dlogp`: through `u = mean + exp(log_std) eps`, plus the
#   `-log_std` of the Gaussian term;
# * `dL/draw = dL/dlog_std * (LOG_STD_MAX - LOG_STD_MIN) / 2 * (1 - tanh(raw)^2)`, the bound's
#   derivative.
#
# To check all paths at once we take a scalar test loss that uses both outputs with random
# weights, `L = sum(c_a * a) + sum(c_logp * logp)`, so `dL/da = c_a` and `dL/dlogp = c_logp`, and
# compare with central differences (`minidst.gradcheck`, always in float64). The means are spread
# wide (std 2), so that some `u` reach the region where `tanh` flattens, and the raw log-stds cover
# most of the bound's range.
#
# Why not make the head entries huge, to saturate everything? Central differences have an absolute
# rounding error of roughly `1e-16 * |L| / h`. Deep in saturation the true gradient entries are
# tiny while `|L|` (through `logp`) grows, so the numerical derivative is mostly rounding noise
# there, and the comparison would test the check, not the gradient.

# %%
head = np.vstack([2.0 * rng.normal(size=(n_actions, 6)), rng.normal(size=(n_actions, 6))])
eps = rng.normal(size=(n_actions, 6))
weight_on_a = rng.normal(size=(n_actions, 6))
weight_on_logp = rng.normal(size=(1, 6))


def test_loss():
    sample = squashed_gaussian(head, eps)
    return float(np.sum(weight_on_a * sample["a"]) + np.sum(weight_on_logp * sample["logp"]))


analytic = squashed_gaussian_backward(squashed_gaussian(head, eps), weight_on_a, weight_on_logp)
numeric = central_difference(test_loss, head)
assert_gradient_close("squashed_gaussian_backward", analytic, numeric)
print(f"largest gradient entry {np.abs(numeric).max():.3f}")
print(f"largest |analytic - central difference| {np.abs(analytic - numeric).max():.2e}")

# %% [markdown]
# ## The SAC losses
#
# We look at the three losses on an agent for Pendulum-v1 (chapter 7's task: 3 observations, one
# torque in `[-2, 2]`) built by `build_agent` with the appendix's SAC settings, and a replay buffer
# of random transitions.

# %%
env = make_env("Pendulum-v1")
obs_dim, act_dim, max_action = env_sizes(env)
config = TrainConfig(algo="sac", env="Pendulum-v1").validate()
agent = build_agent(config, obs_dim, act_dim, max_action, rng)
print(agent.config)
print("actor:", agent.actor)

buffer = ReplayBuffer(obs_dim, act_dim, capacity=1000)
obs, _ = env.reset(seed=seed)
for _ in range(buffer.capacity):
    action = rng.uniform(-max_action, max_action)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    buffer.add(obs, action, reward, next_obs, terminated)
    obs = next_obs if not (terminated or truncated) else env.reset()[0]
batch = buffer.sample(config.batch_size, rng)

# %% [markdown]
# ### The soft TD target
#
# `y = r + gamma * (1 - terminated) * (min(Q'_1(s', a'), Q'_2(s', a')) - alpha * log pi(a'|s'))`,
# with `a' ~ pi(.|s')` a **fresh** sample from the **current** actor (SAC has no target actor).
# The term `-alpha log pi(a'|s')` is the entropy bonus of the next state: the soft value of `s'`
# is what the critics expect there, plus `alpha` times how random the policy is there.
#
# We compute it by hand on a deep copy of the agent (same networks, and a copy of the same random
# generator, so the fresh next action uses the same `eps`) and compare with `SAC.td_target`.

# %%
mine = copy.deepcopy(agent)
next_sample = mine.policy(batch["next_obs"])  # draws eps from the copied generator
next_input = np.concatenate([batch["next_obs"], mine.max_action * next_sample["a"]], axis=0)
q1_next, q2_next = (critic.forward(next_input) for critic in mine.critic_targets)
soft_value = np.minimum(q1_next, q2_next) - mine.alpha * next_sample["logp"]
my_target = batch["reward"] + config.gamma * (1.0 - batch["terminated"]) * soft_value

library_target = agent.td_target(batch)
print(f"mean min Q'(s', a')              {np.minimum(q1_next, q2_next).mean():9.4f}")
print(f"mean entropy bonus -alpha * logp  {(-mine.alpha * next_sample['logp']).mean():9.4f}")
print(f"mean target y                     {my_target.mean():9.4f}")
assert np.array_equal(my_target, library_target)

# %% [markdown]
# Equal to the last bit. The critic loss is then TD3's: each critic regresses onto `y` with the
# MSE, `SAC.critic_loss`, and one Adam steps both.
#
# ### The actor loss: through the minimum of both critics
#
# `L_actor = mean(alpha * log pi(a|s) - min(Q_1(s, a), Q_2(s, a)))`, `a` reparameterised.
#
# The actor wants actions the critics value highly (`-min Q`) while staying random (`alpha log pi`
# is small when the policy is spread out). Two differences from TD3's actor: it uses the minimum of
# **both** critics, not critic 1 alone, and it is trained on every iteration.
#
# The gradient of `min(Q_1, Q_2)` is the gradient of whichever critic is smaller, **per sample**:
# for each column of the batch, `-1/B` enters the backward pass of the smaller critic and 0 that
# of the other. The critics only **route** the gradient to their action input
# (`backward(..., input_grad=True, param_grads=False)`): their own weight gradients are not touched,
# and only the actor's optimizer steps after this loss.
#
# We check the whole chain with central differences. Central differences need float64 and cost two
# loss evaluations per weight, so we build a small float64 `SAC` directly: 3 observations, 2 actions
# with different bounds (so a wrong `max_action` factor would show), hidden layers of 16, and
# sparse first and second layers (so the check covers `SparseLinear` as well). The noise `eps` is
# fixed: `actor_loss(batch, eps)` reuses it on every call.

# %%
check_rng = np.random.default_rng(seed + 1)
small_densities = NetworkDensities(actor=[0.5, 0.5, None], critic=[0.5, 0.5, None])
small_sac = SAC(
    obs_dim=3,
    act_dim=2,
    max_action=np.array([2.0, 0.5]),
    rng=check_rng,
    config=SACConfig(hidden=(16, 16)),
    densities=small_densities,
    dtype=np.float64,
)
check_batch = {"obs": check_rng.normal(size=(3, 16))}
check_eps = check_rng.normal(size=(2, 16))
print("actor:", small_sac.actor)

# %% [markdown]
# First, the routing. Two freshly initialised critics often differ by a roughly constant offset,
# so one of them may be the smaller for every sample, and the check below would exercise only one
# route. We shift critic 2's output bias by the median gap between the two on this batch: then the
# critics cross, and about half of the samples pick each.


# %%
def twin_q(sac, batch, eps):
    """Both critics' values of the reparameterised actions, as inside `actor_loss`."""
    sample = squashed_gaussian(sac.actor.forward(batch["obs"]), eps)
    critic_input = np.concatenate([batch["obs"], sac.max_action * sample["a"]], axis=0)
    return [critic.forward(critic_input) for critic in sac.critics]


q1, q2 = twin_q(small_sac, check_batch, check_eps)
print(f"before the shift: critic 1 is the smaller for {int(np.sum(q1 <= q2))} of {q1.size}")
small_sac.critics[1].layers[-1].bias += np.median(q1 - q2)
q1, q2 = twin_q(small_sac, check_batch, check_eps)
routed_to_first = int(np.sum(q1 <= q2))
print(f"samples routed to critic 1: {routed_to_first}, to critic 2: {q1.size - routed_to_first}")
assert 0 < routed_to_first < q1.size  # both routes are exercised by the check below

# %% [markdown]
# The critics' gradient buffers: we zero them, compute the actor loss, and they must still be zero.

# %%
for critic in small_sac.critics:
    for layer in critic.layers:
        layer.weight_grad[...] = 0
        layer.bias_grad[...] = 0
loss, logp = small_sac.actor_loss(check_batch, check_eps)
print(f"actor loss {loss:.6f}")
critic_grads_untouched = all(
    not np.any(gradient) for critic in small_sac.critics for gradient in critic.gradients()
)
print("critic gradients untouched by the actor loss:", critic_grads_untouched)
assert critic_grads_untouched

# %% [markdown]
# Now the gradient check of every weight and bias of the actor. `actor_loss` overwrites the actor's
# gradients on every call, the perturbed calls of the central differences included, so we copy the
# analytic gradients first.

# %%
small_sac.actor_loss(check_batch, check_eps)
analytic_grads = [gradient.copy() for gradient in small_sac.actor.gradients()]
for name, parameter, analytic in zip(
    [f"actor L{i + 1} {part}" for i in range(3) for part in ("weight", "bias")],
    small_sac.actor.parameters(),
    analytic_grads,
):
    numeric = central_difference(lambda: small_sac.actor_loss(check_batch, check_eps)[0], parameter)
    assert_gradient_close(name, analytic, numeric)
    print(
        f"{name:16s} {parameter.size:4d} entries, largest |analytic - numeric| "
        f"{np.abs(analytic - numeric).max():.1e}"
    )

# %% [markdown]
# ### The temperature
#
# The appendix keeps `alpha = 0.2` **fixed**, and so does minidst by default
# (`TrainConfig(entropy="fixed", alpha=0.2)`). The alternative (Haarnoja et al.'s second SAC paper)
# **learns** it: pick a target entropy, by default `-A` (here `-1`), and minimise
#
# `L(alpha) = -mean(log alpha * (log pi(a|s) + target_entropy))`, with `log pi` held fixed.
#
# Its gradient with respect to `log alpha` is `-mean(log pi + target_entropy)`. When the policy's
# entropy `-log pi` is below the target, the bracket is positive, the gradient negative, and
# gradient descent raises `alpha`: randomness is paid more, so the policy spreads out. Above the
# target, `alpha` falls. Optimising `log alpha` rather than `alpha` keeps the temperature
# positive. We take Adam steps on two made-up batches of log-probabilities, one from a nearly
# deterministic policy and one from a very random one:

# %%
learned = SAC(obs_dim, act_dim, max_action, rng, SACConfig(learn_alpha=True))
print(f"target entropy {learned.target_entropy}, start alpha {learned.alpha:.4f}")
for label, logp_value in [("entropy below target", 2.0), ("entropy above target", -3.0)]:
    temperature_agent = copy.deepcopy(learned)
    made_up_logp = np.full((1, 256), logp_value)
    for _ in range(100):
        temperature_agent.temperature_loss(made_up_logp)
        temperature_agent.temperature_optimizer.step()
    print(
        f"{label} (entropy {-logp_value:+.1f}): "
        f"alpha after 100 Adam steps {temperature_agent.alpha:.4f}"
    )
    assert (temperature_agent.alpha > learned.alpha) == (logp_value > -learned.target_entropy)

# %% [markdown]
# ### One update
#
# `SAC.update(batch)` puts it together: the soft TD target, the critic loss and Adam step, the actor
# loss and Adam step, the temperature step if `alpha` is learned, and the target critics. These
# follow their online critics by Polyak averaging with `tau = 0.005` on every iteration, or, with
# `target_update_every = N > 1`, by a hard copy every `N` iterations (the appendix's choice,
# chapter 14). The update returns its metrics:

# %%
metrics = agent.update(batch)
for key, value in metrics.items():
    print(f"{key:16s} {value:10.4f}")
print(f"actor Adam steps {agent.actor_optimizer.t}, critic Adam steps {agent.critic_optimizer.t}")
assert agent.actor_optimizer.t == agent.critic_optimizer.t == 1  # no policy delay in SAC


# %% [markdown]
# ## A short run on Pendulum
#
# A run through `TrainConfig` and `Trainer`, as in chapter 9. In full mode it is 6,000 steps on
# Pendulum-v1: 1,000 random start steps, then one update per step, with an evaluation of 5
# deterministic episodes every 1,000 steps (`SAC.act(obs, explore=False)` takes `tanh(mean)`, the
# policy's most likely squashed action, with no sampling). The rest is the appendix's SAC setting
# (lr, batch, alpha, networks) except the target update: Polyak averaging every step here, where
# the appendix copies the target every 1,000 steps (`--target-update-every 1000`, chapter 14).
# Quick mode shrinks the run to a few hundred steps with one-episode evaluations and hidden
# layers of 32: it checks that everything runs, and is far too short to learn the task.

# %%
env_id = "Pendulum-v1"
if QUICK:
    schedule = dict(steps=300, start_steps=50, eval_every=100, eval_episodes=1, log_every=100)
    network = dict(hidden=(32, 32))
else:
    schedule = dict(steps=6_000, start_steps=1_000, eval_every=1_000, eval_episodes=5)
    network = {}
run_config = TrainConfig(algo="sac", env=env_id, seed=seed, **schedule, **network)
run_dir = RUNS / f"{env_id}_sac_seed{seed}"
trainer = Trainer.start(run_config, run_dir, overwrite=True, out=sys.stdout)
start_time = time.perf_counter()
status = trainer.run()
print(f"{status} in {time.perf_counter() - start_time:.0f} s")
assert status == "done"

# %%
path = plot_runs([run_dir], OUT / "13_pendulum_sac.png")
print("saved", path)
run = read_run(run_dir)
print(f"evaluation returns {np.round(run['returns'], 1).tolist()}")
gain = run["returns"][-1] - run["returns"][0]
print(f"last evaluation {run['returns'][-1]:.1f}, {gain:.0f} above the first")
if not QUICK:
    assert gain > 500

# %% [markdown]
# For scale (chapter 7): random torques score roughly -1000 to -1500 on Pendulum and a good
# swing-up policy about -150. In full mode the last evaluation is far above the first (asserted:
# by more than 500). That shows SAC learning the task, with one seed; it says nothing about how
# SAC compares with TD3, which would need several seeds of each (chapter 9).
#
# The run's cost, from the agent and from the last row of its `progress.csv`:

# %%
row = rundir.last_progress_row(run_dir)
sac_flops = trainer.agent.flops_per_iteration(run_config.batch_size)
td3_config = TrainConfig(algo="td3", env=env_id, **network).validate()
td3_agent = build_agent(td3_config, obs_dim, act_dim, max_action, rng)
td3_flops = td3_agent.flops_per_iteration(td3_config.batch_size)
print(f"FLOPs per training iteration: SAC {sac_flops:.3e} (batch {run_config.batch_size})")
print(f"                              TD3 {td3_flops:.3e} (batch {td3_config.batch_size})")
print(f"speed in the last logged stretch {float(row['time/steps_per_s']):.0f} steps/s")
assert sac_flops > 2 * td3_flops

# %% [markdown]
# `SAC.flops_per_iteration` counts every pass an iteration makes: the actor on `s'` and both
# target critics for the TD target, both critics forward and backward, the actor forward and
# backward, and both critics forward plus their input gradients inside the actor loss. With batch
# 256 against TD3's 100, and the actor trained on every iteration instead of every second one, an
# iteration of SAC costs more than twice one of TD3 of the same widths (asserted; the printed
# ratio is the exact one).
#
# ## From the command line
#
# `minidst train --algo sac` runs SAC with the appendix's settings, and everything from chapter 9
# applies: `--resume`, `minidst evaluate`, `minidst plot`, the progress line's steps/s and ETA.
#
# ```bash
# minidst train --algo sac --env HalfCheetah-v5 --seed 0 --run-dir runs/HalfCheetah-v5_sac_seed0
# minidst train --algo sac --env Pendulum-v1 --steps 20000 --entropy learned    # learn alpha
# ```
#
# `--entropy learned` learns the temperature instead of fixing it (optionally with
# `--target-entropy`); `--target-update-every 1000` replaces the Polyak average of the target
# critics by a hard copy every 1,000 iterations, the appendix's choice (chapter 14).

# %% [markdown]
# ## Summary
#
# * SAC trains a stochastic actor for reward plus entropy. The policy is a squashed Gaussian:
#   `u = mean + std * eps` (reparameterised, so the sample is differentiable in the network's
#   outputs), `a = tanh(u)` inside the box, `action = max_action * a`.
# * `log pi(a|s) = sum_i [log N(u_i; mean_i, std_i) - log(1 - tanh(u_i)^2)]` by the change of
#   variables. Compute the correction as `2 (log 2 - u - softplus(-2u))`: the naive form loses its
#   digits and then becomes `-inf` in float32 once `tanh(u)` rounds to 1.
# * The backward pass is a few lines: `dL/du = dL/da (1 - a^2) + dL/dlogp 2a`, and the log-std gets
#   `dL/du std eps - dL/dlogp`. It matches central differences in float64.
# * Soft TD target: `r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s'))` with a
#   fresh `a'` from the current actor. Actor loss: `mean(alpha log pi - min(Q_1, Q_2))`; the min's
#   gradient goes to the smaller critic per sample, and the critics only route it. Temperature:
#   fixed at 0.2 (the appendix) or learned toward the target entropy `-A`.
# * `TrainConfig(algo="sac")` and `Trainer` run it like TD3; on Pendulum one seed learns the
#   swing-up within a few thousand updates.

# %% [markdown]
# ## Exercises
#
# 1. Write a copy of `squashed_gaussian` with the naive correction `np.log(1 - a**2)`, assign it to
#    `minidst.sac.squashed_gaussian`, and train float32 SAC on Pendulum with a large learning rate
#    and `update_engine="reference"` (the compiled engine, the default, holds its own reference to
#    the function). Does a `losses/actor` of NaN or infinity stop the run (`TrainingDiverged`),
#    and when? Log the largest `|u|` per update to see what the policy was doing.
# 2. Change the actor loss to use critic 1 alone, as TD3 does, and log `values/q1` against the
#    discounted return of evaluation episodes. Does the minimum of both critics matter for SAC?
# 3. Train on Pendulum with `entropy="learned"` and plot `values/alpha` and `values/entropy` from
#    `progress.csv`. Where does `alpha` settle, and how does the entropy track its target of -1?
# 4. Run SAC and TD3 on Pendulum with 5 seeds each for 6,000 steps (`minidst sweep`), and compare
#    them with `minidst report`: IQM of the final returns and its bootstrap interval (chapter 9).
#    Which learns faster here, and how sure can you be?
# 5. Train on Pendulum with a small and a large fixed temperature (`--alpha 0.01`, `--alpha 1`).
#    How does the policy's entropy (`values/entropy`) evolve in each, and what happens to the
#    returns?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(13)
# For example: exercises.chapter13_exercise1(naive_squashed_gaussian)
