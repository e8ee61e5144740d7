# %% [markdown]
# # Chapter 13: SAC and DS-SAC
#
# The DS-TD3 paper's appendix repeats its experiment with a second agent, **SAC**, *Soft
# Actor-Critic* (Haarnoja et al., 2018), and calls the dynamic sparse version **DS-SAC**. SAC keeps
# much of TD3 (chapter 7): a replay buffer, twin critics, the minimum of the two in the target,
# target critics that trail the online ones. What changes is the policy and what it is trained for:
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
# where float32 quietly breaks it; then the three SAC losses, each checked against an independent
# computation; then DS-SAC with the appendix's settings at HalfCheetah sizes; and last, a short
# run of dense SAC against DS-SAC on Pendulum-v1.

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

from minidst import count_parameters, rundir, warmup
from minidst.agent import NetworkDensities
from minidst.config import TrainConfig
from minidst.envs import env_sizes, make_env, paper_lambdas
from minidst.factory import build_agent
from minidst.flops import layer_table
from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.layers import SparseLinear
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
from minidst.sparsity import erdos_renyi_density
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
path = OUT / "09_squashed_gaussian.png"
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
# `target_update_every = N > 1`, by a hard copy every `N` iterations (the appendix's choice, below).
# The update returns its metrics:

# %%
metrics = agent.update(batch)
for key, value in metrics.items():
    print(f"{key:16s} {value:10.4f}")
print(f"actor Adam steps {agent.actor_optimizer.t}, critic Adam steps {agent.critic_optimizer.t}")
assert agent.actor_optimizer.t == agent.critic_optimizer.t == 1  # no policy delay in SAC

# %% [markdown]
# ## DS-SAC
#
# The appendix builds DS-SAC from the same four parts as DS-TD3 (chapter 8): an Erdős–Rényi sparse
# initialisation, a topology update every 1,000 iterations, SET's prune and random regrowth, and
# target networks kept as sparse as their online networks. Its settings differ from DS-TD3's in a
# few places:
#
# * SAC `256-256`, learning rate `3e-4`, batch 256, no weight decay, `alpha = 0.2` fixed;
# * drop fraction `zeta = 0.1` instead of 0.05;
# * its own Erdős–Rényi lambdas per environment (below);
# * a **hard** target update every 1,000 steps. minidst's default is SAC's usual Polyak averaging
#   with `tau = 0.005`; `target_update_every=1000` (`--target-update-every 1000`) gives the
#   appendix's choice.
#
# `TrainConfig` fills in the SAC family's defaults when `algo` ends in `sac`:

# %%
ds_config = TrainConfig(algo="ds-sac", env="HalfCheetah-v5").validate()
for name in ("hidden", "lr", "batch_size", "weight_decay", "alpha", "entropy", "tau"):
    print(f"{name:20s} {getattr(ds_config, name)}")
for name in ("target_update_every", "rewire_every", "drop_fraction", "target_rule"):
    print(f"{name:20s} {getattr(ds_config, name)}")
print("\nErdős–Rényi lambdas (first layer, hidden layer):")
for task in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"):
    print(f"  {task:15s} DS-SAC {paper_lambdas(task, 'sac')}   DS-TD3 {paper_lambdas(task)}")

# %% [markdown]
# ### Densities, parameters and FLOPs at HalfCheetah sizes
#
# HalfCheetah has 17 observations and 6 actions, all in `[-1, 1]`. We only need those sizes to
# build the agents, not the simulator. Note the actor's output layer: it has `2 * 6 = 12` rows (a
# mean and a raw log-std per action), and, as in DS-TD3, output layers and biases stay dense.

# %%
cheetah_obs, cheetah_act, cheetah_max = 17, 6, np.ones(6)
cheetah_agents = {
    algo: build_agent(
        TrainConfig(algo=algo, env="HalfCheetah-v5"), cheetah_obs, cheetah_act, cheetah_max, rng
    )
    for algo in ("sac", "static-sac", "ds-sac")
}


print(layer_table(cheetah_agents["ds-sac"].named_layers()))

# %% [markdown]
# The stored densities follow the Erdős–Rényi formula `lambda * (n_in + n_out) / (n_in * n_out)`
# with the appendix's HalfCheetah lambdas, to within one connection:

# %%
lambda_1, lambda_2 = paper_lambdas("HalfCheetah-v5", "sac")
expected_density = {
    "actor_l1": erdos_renyi_density(cheetah_obs, 256, lambda_1),
    "critic1_l1": erdos_renyi_density(cheetah_obs + cheetah_act, 256, lambda_1),
    "actor_l2": erdos_renyi_density(256, 256, lambda_2),
    "critic1_l2": erdos_renyi_density(256, 256, lambda_2),
}
ds_stats = cheetah_agents["ds-sac"].layer_stats()
layer_sizes = {
    "actor_l1": 17 * 256,
    "critic1_l1": 23 * 256,
    "actor_l2": 256**2,
    "critic1_l2": 256**2,
}
for layer_name, formula in expected_density.items():
    stored = ds_stats[f"topology/{layer_name}_density"]
    print(f"{layer_name:11s} formula {formula:.4f}  stored {stored:.4f}")
    assert abs(stored - formula) <= 1 / layer_sizes[layer_name]

# %% [markdown]
# And the totals for the three agents. Weights are counted over actor and both critics (biases and
# targets not counted), as the paper does; FLOPs per training iteration are
# `SAC.flops_per_iteration` at batch 256, which counts every pass an iteration makes: the actor on
# `s'` and both target critics for the TD target, both critics forward and backward, the actor
# forward and backward, and both critics forward plus their input gradients inside the actor loss.

# %%
batch_256 = ds_config.batch_size
dense_flops = cheetah_agents["sac"].flops_per_iteration(batch_256)
print(f"{'algo':<12}{'weights':>10}{'dense':>10}{'sparsity':>10}{'FLOPs/iter':>12}{'vs sac':>8}")
for algo, sac_agent in cheetah_agents.items():
    counts = count_parameters(layer for _, layer in sac_agent.named_layers())
    flops = sac_agent.flops_per_iteration(batch_256)
    print(
        f"{algo:<12}{counts['weights']:>10,}{counts['dense_weights']:>10,}"
        f"{1 - counts['weights'] / counts['dense_weights']:>10.1%}{flops:>12.3e}"
        f"{flops / dense_flops:>8.2f}"
    )

# %% [markdown]
# The appendix's lambdas for HalfCheetah (12 and 80) are larger than DS-TD3's (7 and 64), so the
# layers are denser and the saving is smaller than chapter 8's 51%: read it off the `sparsity` and
# `vs sac` columns. The FLOP ratio is close to the weight ratio, because every pass costs 2 FLOPs
# per stored weight; the two differ a little because actor and critics do not run the same number
# of passes per iteration, so their layers weigh differently in the FLOP count.
#
# ### Rewiring with exact counts, and the hard target update
#
# Now we watch DS-SAC rewire, with the appendix's hard target update. As in DS-TD3, the topology
# update fires on iterations where `iteration % rewire_every == 2`, so the first one comes on
# iteration 2. SAC has no policy delay, so the 2 has no special meaning here; it keeps the two
# agents on the same schedule. The critics are rewired right after the critic Adam step, the actor
# right after the actor Adam step, and the target critics (SAC has no target actor) are hard copies
# of the online critics, taken every `target_update_every` iterations.
#
# The agent trains on random transitions at HalfCheetah sizes, without the simulator: the
# mechanics do not need meaningful data. In full mode the interval is the appendix's 1,000
# iterations, both for the topology and for the hard copy; quick mode shrinks it to 10. After every
# iteration we assert that every sparse layer, online and target, still holds exactly its initial
# number of connections, and we record how much of the online critics' topology their targets hold.

# %%
interval = 10 if QUICK else 1000
n_iterations = interval + 5  # rewirings at 2 and interval + 2, a hard copy at interval
hard_config = TrainConfig(
    algo="ds-sac", env="HalfCheetah-v5", rewire_every=interval, target_update_every=interval
)
ds_agent = build_agent(hard_config, cheetah_obs, cheetah_act, cheetah_max, rng)
random_buffer = ReplayBuffer(cheetah_obs, cheetah_act, capacity=5000)
for _ in range(random_buffer.capacity):
    random_buffer.add(
        rng.normal(size=cheetah_obs),
        rng.uniform(-1, 1, cheetah_act),
        rng.normal(),
        rng.normal(size=cheetah_obs),
        False,
    )

sparse_layers = {
    f"{name} L{i + 1}": (name, i)
    for name, (net, _) in ds_agent.online_networks().items()
    for i, layer in enumerate(net.layers)
    if isinstance(layer, SparseLinear)
}
initial_nnz = {
    key: ds_agent.online_networks()[name][0].layers[i].nnz
    for key, (name, i) in sparse_layers.items()
}
print(initial_nnz)


def held_by_target(sac, critic_index, layer_index):
    """Fraction of an online critic layer's connections that its target also holds."""
    online = sac.critics[critic_index].layers[layer_index]
    target = sac.critic_targets[critic_index].layers[layer_index]
    return float(np.isin(online.positions(), target.positions(), assume_unique=True).mean())


def same_layer(a, b):
    """True if two layers hold the same topology (if sparse) and the same values."""
    return all(
        np.array_equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values())
    )


# %% [markdown]
# The training iterations. On a rewiring iteration we also check that the newcomers are still
# exactly zero when `update` returns (no optimizer step came after their network's rewiring), as
# in chapter 8.

# %%
rewired_at, hard_copies_at, held = [], [], []
start_time = time.perf_counter()
for _ in range(n_iterations):
    metrics = ds_agent.update(random_buffer.sample(hard_config.batch_size, rng))
    for key, (name, i) in sparse_layers.items():
        assert ds_agent.online_networks()[name][0].layers[i].nnz == initial_nnz[key]
    for critic, target in zip(ds_agent.critics, ds_agent.critic_targets):
        for online_layer, target_layer in zip(critic.layers, target.layers):
            assert online_layer.nnz == target_layer.nnz
    held.append(held_by_target(ds_agent, 0, 1))  # critic 1, hidden layer
    if ds_agent.iteration % interval == 0:
        hard_copies_at.append(ds_agent.iteration)
        assert all(
            same_layer(online, target)
            for critic, target_net in zip(ds_agent.critics, ds_agent.critic_targets)
            for online, target in zip(critic.layers, target_net.layers)
        )
    if "topology/drop_fraction" in metrics:
        rewired_at.append(ds_agent.iteration)
        print(f"iteration {ds_agent.iteration}: drop fraction {metrics['topology/drop_fraction']}")
        for key, (name, i) in sparse_layers.items():
            layer = ds_agent.online_networks()[name][0].layers[i]
            regrown = int(metrics[f"topology/{name}_l{i + 1}_pruned"])
            print(f"  {key:11s} pruned and regrown {regrown:6d} of {layer.nnz:6d}")
            assert np.sum(layer.weight.data == 0) == regrown
print(f"{n_iterations} iterations in {time.perf_counter() - start_time:.1f} s")
print("topology updates at iterations", rewired_at, "| hard target copies at", hard_copies_at)
assert rewired_at == [2, interval + 2] and hard_copies_at == [interval]

# %% [markdown]
# Every count stayed exactly the same through both rewirings, and the number of exact zeros in each
# layer equals what it regrew. With a hard update the target's topology behaves quite differently
# from chapter 8's Polyak-and-top-k target. It does not follow the online network gradually: it
# stays frozen, holding the connections the online critic pruned, until the next copy makes it
# identical (topology and values, asserted above), and the following rewiring opens the gap again:

# %%
print(f"{'iteration':>10}{'online connections held by target (critic1 L2)':>50}")
for iteration in sorted(
    {1, 2, 3, interval - 1, interval, interval + 1, interval + 2, n_iterations}
):
    print(f"{iteration:>10}{held[iteration - 1]:>50.4f}")
assert held[interval - 1] == 1.0 and held[interval + 1] < 1.0

# %% [markdown]
# After a rewiring the target misses the online layer's newcomers: up to the drop fraction
# `zeta = 0.1` of its connections, a little less in practice, because random regrowth may pick a
# position that was just pruned, and the target still holds those. Between copies the target
# network is simply the online critic as it was at the last copy, which is the point of a hard
# update, and with sparse layers it needs no rule for mixing two topologies at all.

# %% [markdown]
# ## Dense SAC against DS-SAC on Pendulum
#
# A short run of both agents through `TrainConfig` and `Trainer`, as in chapter 9. In full mode each
# runs 6,000 steps on Pendulum-v1: 1,000 random start steps, then one update per step, with an
# evaluation of 5 deterministic episodes every 1,000 steps (`SAC.act(obs, explore=False)` takes
# `tanh(mean)`, the policy's most likely squashed action, with no sampling). Everything else is the
# appendix's SAC setting. The paper did not run Pendulum, so DS-SAC gets minidst's default lambdas
# for an unknown environment (`paper_lambdas` returns them). With only 3 observations, the first
# layers then have a formula density above 1 and are built dense, and only the 256 x 256 hidden
# layers are sparse; the table after the runs shows the resulting counts.
#
# Quick mode shrinks the runs to a few hundred steps with one-episode evaluations and hidden layers
# of 32; at that width the Erdős–Rényi formula would make every layer dense, so DS-SAC gets 70%
# sparsity with ERK densities (`sparsity=0.7`) and rewires every 100 iterations. Quick mode checks
# that everything runs; it is far too short to learn the task.

# %%
env_id = "Pendulum-v1"
if QUICK:
    schedule = dict(steps=300, start_steps=50, eval_every=100, eval_episodes=1, log_every=100)
    network = dict(hidden=(32, 32))
    sparse_only = dict(sparsity=0.7, rewire_every=100)
else:
    schedule = dict(steps=6_000, start_steps=1_000, eval_every=1_000, eval_episodes=5)
    network = {}
    sparse_only = {}
configs = {
    "sac": TrainConfig(algo="sac", env=env_id, seed=seed, **schedule, **network),
    "ds-sac": TrainConfig(
        algo="ds-sac", env=env_id, seed=seed, **schedule, **network, **sparse_only
    ),
}

print(f"Erdős–Rényi lambdas for {env_id}: {paper_lambdas(env_id, 'sac')}")

run_dirs, trainers, seconds = {}, {}, {}
for algo, run_config in configs.items():
    run_dirs[algo] = RUNS / f"{env_id}_{algo}_seed{seed}"
    print(f"--- {algo} -> {run_dirs[algo]}")
    trainers[algo] = Trainer.start(run_config, run_dirs[algo], overwrite=True, out=sys.stdout)
    start_time = time.perf_counter()
    status = trainers[algo].run()
    seconds[algo] = time.perf_counter() - start_time
    print(f"{status} in {seconds[algo]:.0f} s")
    assert status == "done"

# %%
path = plot_runs(list(run_dirs.values()), OUT / "09_pendulum_sac_vs_ds_sac.png")
print("saved", path)
for algo, run_dir in run_dirs.items():
    run = read_run(run_dir)
    print(f"{algo:7s} evaluation returns {np.round(run['returns'], 1).tolist()}")
    print(f"{'':7s} final evaluation return {run['returns'][-1]:.1f}")

# %% [markdown]
# For scale (chapter 7): random torques score roughly -1000 to -1500 on Pendulum and a good
# swing-up policy about -150. A run this short, with one seed, is a check that both agents learn
# at all, not a comparison of the two: as chapter 9 explained, seeds of one algorithm can differ
# more than the paper's algorithms do.
#
# What the runs do show exactly is the cost: the weights of the online networks and the FLOPs per
# iteration, read from the trained agents, and the speed from the last row of each run's
# `progress.csv`.


# %%
print(f"{'algo':<8}{'weights':>9}{'sparsity':>10}{'FLOPs/iter':>12}{'vs sac':>8}{'steps/s':>9}")
sac_flops = trainers["sac"].agent.flops_per_iteration(configs["sac"].batch_size)
for algo, trainer in trainers.items():
    counts = count_parameters(layer for _, layer in trainer.agent.named_layers())
    flops = trainer.agent.flops_per_iteration(configs[algo].batch_size)
    rate = float(rundir.last_progress_row(run_dirs[algo])["time/steps_per_s"])
    print(
        f"{algo:<8}{counts['weights']:>9,}{1 - counts['weights'] / counts['dense_weights']:>10.1%}"
        f"{flops:>12.3e}{flops / sac_flops:>8.2f}{rate:>9.0f}"
    )

# %% [markdown]
# ## The real experiment, from the command line
#
# The appendix trains SAC and DS-SAC for 1M steps on each of the five MuJoCo tasks. With
# `minidst train` the SAC family's defaults are the appendix's, except the target update, which
# defaults to Polyak averaging; add `--target-update-every 1000` for the appendix's hard copy:
#
# ```bash
# for seed in 0 1 2 3 4; do
#   for algo in sac static-sac ds-sac; do
#     minidst train --algo $algo --env HalfCheetah-v5 --seed $seed \
#       --target-update-every 1000 --run-dir runs/HalfCheetah-v5_${algo}_seed${seed}
#   done
# done
# minidst plot runs/HalfCheetah-v5_*sac* --out sac_curves.png
# ```
#
# The paper reports, for HalfCheetah, final returns of 11645 for SAC and 11084 for DS-SAC; on
# Walker2d, Hopper, Ant and Humanoid DS-SAC comes out ahead of SAC. Everything from chapter 9 still
# applies: `--resume` continues a stopped run exactly, `minidst evaluate` scores a saved policy, and
# the progress line's steps/s and ETA tell you how long a run will take on your machine.
#
# To learn the temperature instead of fixing it, add `--entropy learned` (optionally with
# `--target-entropy`); to try DS-SAC at a chosen sparsity with ERK densities, `--sparsity 0.8`.

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
# * DS-SAC: the appendix's lambdas per environment, `zeta = 0.1`, a topology update every 1,000
#   iterations, sparse targets. At HalfCheetah sizes its lambdas are larger than DS-TD3's, so it
#   saves less; the printed table gives the counts. Every count stays exact through rewiring, and
#   a hard target update makes the target identical to its online critic at every copy.

# %% [markdown]
# ## Exercises
#
# 1. Write a copy of `squashed_gaussian` with the naive correction `np.log(1 - a**2)`, assign it to
#    `minidst.sac.squashed_gaussian`, and train float32 SAC on Pendulum with a large learning rate.
#    Does a `losses/actor` of NaN or infinity stop the run (`TrainingDiverged`), and when? Log the
#    largest `|u|` per update to see what the policy was doing.
# 2. Change the actor loss to use critic 1 alone, as TD3 does, and log `values/q1` against the
#    discounted return of evaluation episodes. Does the minimum of both critics matter for SAC?
# 3. Train on Pendulum with `entropy="learned"` and plot `values/alpha` and `values/entropy` from
#    `progress.csv`. Where does `alpha` settle, and how does the entropy track its target of -1?
# 4. Run DS-SAC on HalfCheetah for 100,000 steps with `--target-update-every 1` (Polyak and top-k,
#    chapter 8) and with `--target-update-every 1000` (the appendix). Compare the curves and the
#    critic loss right after each topology update.
# 5. `SAC.flops_per_iteration` counts the target critics and the extra critic passes inside the
#    actor loss. Write the paper's convention for SAC (training passes of actor and critics only)
#    and compare the DS-SAC / SAC ratio under both counts.
