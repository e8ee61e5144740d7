"""The compiled training step: the readable agents' update, with each network pass in one call.

Read ``td3.py`` and ``sac.py`` first: they are the reference, and this module is their twin
(llm.c's discipline: ``train_gpt2.py`` beside ``train_gpt2.c``, tested equal). Each compiled
agent subclasses a readable one and replaces only ``update``, mirroring it step by step, with
the same names, in the same order, drawing the same random numbers from the same generator. What
changes is how a network runs:

* the readable ``MLP.forward`` makes one Python call per layer (checks, allocations, a kernel,
  a bias add, an activation): about 30 small calls per TD3 iteration, whose Python overhead is
  most of the time of a 90%-sparse update;
* here a whole network's forward (or backward) pass is one call of
  :func:`minidst.kernels.mlp_forward` (:func:`~minidst.kernels.mlp_backward`) over the layers'
  own arrays, into buffers allocated once per batch size, and so is a whole target network's
  Polyak update (:func:`soft_update_compiled`).

Nothing is copied: :class:`PackedMLP` holds *references* to each layer's arrays (values,
indices, bias, gradients, the transposed index), grouped into tuples the kernels can loop over.
The optimizer updates those same arrays in place. When a layer's connections change, its
``topology_version`` moves, and the pack is rebuilt before the next pass.

What stays readable: rewiring iterations run the readable ``update`` (prune and regrow, RigL's
dense gradient, remapping the optimizer), and so do checkpoints, topology statistics and FLOPs,
which live on the layers themselves. A test ties every compiled update to the readable one
(``tests/test_compiled.py``).

Tried and not kept (measured on a 2-core AMD EPYC Zen 4, AVX-512, one thread, side by side in
one process, median of 5 runs of 1,000 updates at HalfCheetah sizes): a whole non-rewiring TD3
iteration as **one** compiled call (the six forward and three backward passes, both Adam steps
and the three target updates inside one ``@njit`` function taking the packs as nested tuples,
tested equal to this module's update). DS-TD3 at 90% sparsity, batch 100: 1.44 ms against
1.45 ms here; batch 256: 2.54 against 2.60; the paper's densities and dense TD3 within noise.
What Python still spends between the kernels is now small beside the kernels themselves, and
the one function doubled the trainer's cold compile (58 against 27 CPU-s: LLVM optimises every
inlined network pass again inside it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from minidst import kernels
from minidst.layers import SparseLinear
from minidst.nn import MLP, mse_loss
from minidst.sac import SAC, squashed_gaussian, squashed_gaussian_backward
from minidst.target import hard_update, soft_update_sparse_weight
from minidst.td3 import TD3

#: How an agent's updates run (the ``update_engine`` setting, read by ``factory.build_agent``).
ENGINES = ("compiled", "reference")
ACTIVATION_CODES = {"relu": kernels.RELU, "tanh": kernels.TANH, "identity": kernels.IDENTITY}
TARGET_RULE_CODES = {"topk": kernels.TOPK_RULE, "copy": kernels.COPY_RULE}


class PackedMLP:
    """An :class:`~minidst.nn.MLP`'s arrays grouped by role, one tuple entry per layer.

    Entries a layer does not have (a dense layer's CSR arrays, a sparse layer's 2-D weight) are
    empty placeholders, so every tuple holds one array type and the kernels can index it by
    layer. Call :meth:`refresh` before each pass: it rebuilds the pack only if a layer's
    topology has changed since.

    Args:
        net: the network (its arrays are referenced, not copied).
        backward: also pack what the backward pass needs (the transposed index); target
            networks only run forward.
    """

    def __init__(self, net: MLP, backward: bool = True):
        self.net = net
        self.backward = backward
        self.dtype = net.layers[0].dtype
        self.kinds = np.array(
            [
                kernels.SPARSE_LAYER if isinstance(layer, SparseLinear) else kernels.DENSE_LAYER
                for layer in net.layers
            ],
            dtype=np.int8,
        )
        self.activations = np.array(
            [ACTIVATION_CODES[act.name] for act in net.activations], dtype=np.int8
        )
        self.versions: list[int] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Re-reference the layers' arrays if any layer's connections changed."""
        versions = [layer.topology_version for layer in self.net.layers]
        if versions == self.versions:
            return
        self.versions = versions
        no_ints = np.zeros(0, dtype=np.int32)
        no_values = np.zeros(0, dtype=self.dtype)
        no_matrix = np.zeros((0, 0), dtype=self.dtype)
        indptr, indices, values, weights, transposed = [], [], [], [], []
        value_grads, weight_grads = [], []
        for layer in self.net.layers:
            if isinstance(layer, SparseLinear):
                W = layer.weight
                indptr.append(W.indptr)
                indices.append(W.indices)
                values.append(W.data)
                weights.append(no_matrix)
                value_grads.append(layer.weight_grad)
                weight_grads.append(no_matrix)
                if self.backward:
                    t_indptr, t_rows, t_perm = layer._transposed_index()
                    transposed.append((t_indptr, t_rows, t_perm, np.empty_like(W.data)))
                else:
                    transposed.append((no_ints, no_ints, no_ints, no_values))
            else:
                indptr.append(no_ints)
                indices.append(no_ints)
                values.append(no_values)
                weights.append(layer.weight)
                value_grads.append(no_values)
                weight_grads.append(layer.weight_grad)
                transposed.append((no_ints, no_ints, no_ints, no_values))
        self.indptr, self.indices = tuple(indptr), tuple(indices)
        self.values, self.weights = tuple(values), tuple(weights)
        self.t_indptr, self.t_rows, self.t_perm, self.t_values = (
            tuple(a) for a in zip(*transposed)
        )
        self.value_grads, self.weight_grads = tuple(value_grads), tuple(weight_grads)
        self.bias = tuple(layer.bias for layer in self.net.layers)
        self.bias_grads = tuple(layer.bias_grad for layer in self.net.layers)


class Buffers:
    """Activations and gradients of one network at one batch size, allocated once.

    ``Z[l]``, ``A[l]``, ``dZ[l]``: ``(out_l, batch)``; ``dA[l]``: the gradient of ``A[l]``
    (written by layer ``l + 1``); ``dX``: ``(in_0, batch)``, the input gradient.
    """

    def __init__(self, net: MLP, batch: int):
        dtype = net.layers[0].dtype
        widths = [layer.out_features for layer in net.layers]
        self.Z = tuple(np.empty((width, batch), dtype) for width in widths)
        self.A = tuple(np.empty((width, batch), dtype) for width in widths)
        self.dZ = tuple(np.empty((width, batch), dtype) for width in widths)
        self.dA = tuple(np.empty((width, batch), dtype) for width in widths)
        self.dX = np.empty((net.layers[0].in_features, batch), dtype)


class CompiledMLP:
    """Forward and backward of one :class:`~minidst.nn.MLP` through the network kernels.

    Same arithmetic as ``net.forward`` / ``net.backward``, and the same effect on the layers'
    gradients; outputs live in buffers reused by the next pass (copy what must outlive it).
    """

    def __init__(self, net: MLP, backward: bool = True):
        self.net = net
        self.pack = PackedMLP(net, backward)
        self._buffers: dict[int, Buffers] = {}
        self._last: tuple[np.ndarray, Buffers] | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(n_0, batch)``, C-contiguous -> output ``(n_L, batch)`` (a reused buffer)."""
        kernels.mlp_forward(*self.forward_arguments(X))
        return self._last[1].A[-1]

    def backward(
        self, dY: np.ndarray, input_grad: bool = False, param_grads: bool = True
    ) -> np.ndarray | None:
        """As :meth:`MLP.backward`: sets the layers' gradients (unless ``param_grads`` is False)
        and returns the input gradient (a reused buffer) if ``input_grad``."""
        kernels.mlp_backward(*self.backward_arguments(dY), param_grads, input_grad)
        return self._last[1].dX if input_grad else None

    def forward_arguments(self, X: np.ndarray) -> tuple:
        """The arguments of :func:`~minidst.kernels.mlp_forward` for input ``X``."""
        batch = X.shape[1]
        buffers = self._buffers.get(batch)
        if buffers is None:
            buffers = self._buffers[batch] = Buffers(self.net, batch)
        p = self.pack
        p.refresh()
        self._last = (X, buffers)
        return (
            p.kinds, p.activations, p.indptr, p.indices, p.values, p.weights, p.bias,
            X, buffers.Z, buffers.A,
        )  # fmt: skip

    def backward_arguments(self, dY: np.ndarray) -> tuple:
        """The arguments of :func:`~minidst.kernels.mlp_backward` for output gradient ``dY``
        after the last forward pass, but for the two flags that end its list."""
        X, buffers = self._last
        p = self.pack
        return (
            p.kinds, p.activations, p.indptr, p.indices, p.values, p.weights,
            p.t_indptr, p.t_rows, p.t_perm, p.t_values,
            X, buffers.Z, buffers.A, dY, buffers.dZ, buffers.dA, buffers.dX,
            p.value_grads, p.weight_grads, p.bias_grads,
        )  # fmt: skip


def soft_update_compiled(target: CompiledMLP, online: CompiledMLP, tau: float, rule: str) -> None:
    """``target.soft_update(target.net, online.net, tau, rule)`` in one kernel call.

    :func:`minidst.kernels.soft_update_network` updates every layer's values in place and says
    which layers' connections it moved; those are told here (``connections_moved``), so every
    pack of them is rebuilt before its next pass. A layer whose entry count would change (once a
    run, after the freeze) is left to the readable update, which reallocates its arrays.
    """
    t, o = target.pack, online.pack
    t.refresh()
    o.refresh()
    status = np.empty(len(t.kinds), dtype=np.int8)
    kernels.soft_update_network(
        t.kinds, t.indptr, t.indices, t.values, t.weights, t.bias,
        o.indptr, o.indices, o.values, o.weights, o.bias, tau, TARGET_RULE_CODES[rule], status,
    )  # fmt: skip
    for code, t_layer, o_layer in zip(status, target.net.layers, online.net.layers):
        if code == kernels.PATTERN_MOVED:
            t_layer.connections_moved()
        elif code == kernels.COUNT_CHANGED:
            soft_update_sparse_weight(t_layer, o_layer, tau, rule)


class CompiledPair:
    """Two networks of one architecture, the twin critics, run side by side.

    With more than one Numba thread (``numba.set_num_threads``; ``--threads``) the second
    network's pass runs on a helper thread while the first runs here: the network kernels release
    the GIL, so the two use two cores. With one thread they run one after the other. Either way
    each network runs the same serial code, so the numbers do not depend on the thread count.
    """

    def __init__(self, first: CompiledMLP, second: CompiledMLP):
        self.networks = (first, second)
        self._helper: ThreadPoolExecutor | None = None

    def _in_parallel(self, kernel, first_arguments: tuple, second_arguments: tuple) -> None:
        if numba.get_num_threads() == 1:
            kernel(*first_arguments)
            kernel(*second_arguments)
            return
        if self._helper is None:
            self._helper = ThreadPoolExecutor(max_workers=1)
        second = self._helper.submit(kernel, *second_arguments)
        kernel(*first_arguments)
        second.result()

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first, second = self.networks
        self._in_parallel(
            kernels.mlp_forward, first.forward_arguments(X), second.forward_arguments(X)
        )
        return first._last[1].A[-1], second._last[1].A[-1]

    def backward(
        self, dY: tuple[np.ndarray, np.ndarray], input_grad: bool = False, param_grads: bool = True
    ) -> tuple:
        """Backprop ``dY[i]`` into network ``i``; returns the two input gradients (or Nones)."""
        first, second = self.networks
        flags = (param_grads, input_grad)
        self._in_parallel(
            kernels.mlp_backward,
            (*first.backward_arguments(dY[0]), *flags),
            (*second.backward_arguments(dY[1]), *flags),
        )
        if not input_grad:
            return None, None
        return first._last[1].dX, second._last[1].dX


class CompiledNetworks:
    """What both compiled agents add to their readable parent: a compiled twin of every network
    and the critics' half of an iteration through them."""

    def compile_networks(self) -> None:
        self.compiled_actor = CompiledMLP(self.actor)
        self.compiled_critics = [CompiledMLP(critic) for critic in self.critics]
        self.compiled_critic_targets = [
            CompiledMLP(target, backward=False) for target in self.critic_targets
        ]
        # The twin critics (and their targets) share an input: one thread each, if there are two.
        self.critic_pair = CompiledPair(*self.compiled_critics)
        self.critic_target_pair = CompiledPair(*self.compiled_critic_targets)

    def compiled_critic_step(self, batch: dict[str, np.ndarray], target: np.ndarray) -> dict:
        """``Agent.train_critics`` after its ``td_target``: the critic loss (``critic_loss``),
        one Adam step, the metrics (no rewiring: rewiring iterations run the readable path)."""
        critic_input = np.concatenate([batch["obs"], batch["action"]], axis=0)
        qs = self.critic_pair.forward(critic_input)
        (loss1, dq1), (loss2, dq2) = (mse_loss(q, target) for q in qs)
        self.critic_pair.backward((dq1, dq2))
        loss = loss1 + loss2
        self.critic_optimizer.step()
        return {
            "losses/critic": loss,
            "values/q1": float(np.mean(qs[0])),
            "values/q2": float(np.mean(qs[1])),
            "values/target": float(np.mean(target)),
        }


class CompiledTD3(CompiledNetworks, TD3):
    """:class:`~minidst.td3.TD3` whose non-rewiring iterations run through the network kernels.

    ``update`` below is ``TD3.update`` (with ``train_critics``, ``td_target``, ``critic_loss``
    and ``actor_loss`` inlined) line for line; rewiring iterations call the readable one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compile_networks()
        self.compiled_actor_target = CompiledMLP(self.actor_target, backward=False)

    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """``TD3.act`` through the compiled actor."""
        x = np.asarray(obs, dtype=self.max_action.dtype).reshape(-1, 1)
        action = (self.max_action * self.compiled_actor.forward(x))[:, 0]
        if explore:
            noise = self.rng.normal(0.0, self.config.exploration_noise, self.act_dim)
            action = action + noise * self.max_action[:, 0]
        return np.clip(action, -self.max_action[:, 0], self.max_action[:, 0])

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        if self.rewires_at(self.iteration + 1):
            return super().update(batch)
        self.iteration += 1
        c = self.config
        obs, next_obs = batch["obs"], batch["next_obs"]
        # ---- td_target: y = r + gamma^h (1 - terminated) min_i Q'_i(s', smoothed pi'(s'))
        noise = self.rng.normal(0.0, c.policy_noise, (self.act_dim, next_obs.shape[1]))
        noise = np.clip(noise, -c.noise_clip, c.noise_clip) * self.max_action
        next_action = np.clip(
            self.max_action * self.compiled_actor_target.forward(next_obs) + noise,
            -self.max_action,
            self.max_action,
        ).astype(next_obs.dtype)
        next_input = np.concatenate([next_obs, next_action], axis=0)
        next_q = np.minimum(*self.critic_target_pair.forward(next_input))
        discount = c.gamma ** batch["horizon"]
        target = batch["reward"] + discount * (1.0 - batch["terminated"]) * next_q
        metrics = self.compiled_critic_step(batch, target)
        if self.iteration % c.policy_delay == 0:
            # ---- actor_loss: -mean Q_1(s, pi(s)), through critic 1 into the actor
            action = self.max_action * self.compiled_actor.forward(obs)
            critic1 = self.compiled_critics[0]
            q = critic1.forward(np.concatenate([obs, action], axis=0))
            d_input = critic1.backward(
                np.full_like(q, -1.0 / q.size), input_grad=True, param_grads=False
            )
            # d/d(tanh output) = d/d(action) * max_action, since action = max_action * tanh(z).
            self.compiled_actor.backward(d_input[self.obs_dim :] * self.max_action)
            metrics["losses/actor"] = -float(np.mean(q))
            self.actor_optimizer.step()
            soft_update_compiled(
                self.compiled_actor_target, self.compiled_actor, c.tau, self.target_rule
            )
            for target_net, critic in zip(self.compiled_critic_targets, self.compiled_critics):
                soft_update_compiled(target_net, critic, c.tau, self.target_rule)
        return metrics


class CompiledSAC(CompiledNetworks, SAC):
    """:class:`~minidst.sac.SAC` whose non-rewiring iterations run through the network kernels.

    ``update`` below is ``SAC.update`` (with ``td_target``, ``policy``, ``_critic_values`` and
    ``actor_loss`` inlined) line for line; rewiring iterations call the readable one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compile_networks()

    def _sample(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        """``SAC.policy``: a squashed-Gaussian sample, the noise drawn after the forward pass."""
        head = self.compiled_actor.forward(obs)
        eps = self.rng.standard_normal(head[: self.act_dim].shape).astype(self.dtype)
        return squashed_gaussian(head, eps)

    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """``SAC.act`` through the compiled actor."""
        x = np.asarray(obs, dtype=self.dtype).reshape(-1, 1)
        if explore:
            a = self._sample(x)["a"]
        else:
            a = np.tanh(self.compiled_actor.forward(x)[: self.act_dim])
        return (self.max_action * a)[:, 0]

    def _q_values(self, critics: CompiledPair, obs: np.ndarray, a: np.ndarray) -> tuple:
        """``SAC._critic_values``: both critics' ``Q(s, max_action * a)``."""
        x = np.concatenate([obs, (self.max_action * a).astype(self.dtype)], axis=0)
        return critics.forward(x)

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        if self.rewires_at(self.iteration + 1):
            return super().update(batch)
        self.iteration += 1
        c = self.config
        # ---- td_target: y = r + gamma^h (1 - terminated) (min_i Q'_i(s', a') - alpha log pi)
        sample = self._sample(batch["next_obs"])
        q1, q2 = self._q_values(self.critic_target_pair, batch["next_obs"], sample["a"])
        soft_value = np.minimum(q1, q2) - self.alpha * sample["logp"]
        discount = c.gamma ** batch["horizon"]
        target = batch["reward"] + discount * (1.0 - batch["terminated"]) * soft_value
        metrics = self.compiled_critic_step(batch, target)
        # ---- actor_loss: mean(alpha log pi(a|s) - min_i Q_i(s, a)), a reparameterised
        obs = batch["obs"]
        sample = self._sample(obs)
        q1, q2 = self._q_values(self.critic_pair, obs, sample["a"])
        batch_size = obs.shape[1]
        first_is_min = q1 <= q2
        d_action = np.zeros_like(sample["a"])
        dqs = (
            np.where(picked, -1.0 / batch_size, 0.0).astype(self.dtype)
            for picked in (first_is_min, ~first_is_min)
        )
        for d_input in self.critic_pair.backward(tuple(dqs), input_grad=True, param_grads=False):
            d_action += d_input[self.obs_dim :]
        d_logp = np.full_like(sample["logp"], self.alpha / batch_size)
        d_head = squashed_gaussian_backward(sample, d_action * self.max_action, d_logp)
        self.compiled_actor.backward(d_head.astype(self.dtype))
        logp = sample["logp"]
        metrics["losses/actor"] = float(np.mean(self.alpha * logp - np.minimum(q1, q2)))
        self.actor_optimizer.step()
        metrics["values/entropy"] = -float(np.mean(logp))
        metrics["values/alpha"] = self.alpha
        if c.learn_alpha:
            metrics["losses/alpha"] = self.temperature_loss(logp)
            self.temperature_optimizer.step()
        for target_net, critic in zip(self.compiled_critic_targets, self.compiled_critics):
            if c.target_update_every == 1:
                soft_update_compiled(target_net, critic, c.tau, self.target_rule)
            elif self.iteration % c.target_update_every == 0:
                hard_update(target_net.net, critic.net)
        return metrics


#: The compiled twin of each family's agent (read by ``factory.build_agent``).
COMPILED_AGENTS = {"td3": CompiledTD3, "sac": CompiledSAC}
