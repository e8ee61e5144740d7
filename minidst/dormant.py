"""Dormant units: hidden ReLU units that have all but stopped firing.

ReDo (Sokar, Agarwal, Castro, Evci; ICML 2023, "The dormant neuron phenomenon in deep RL") calls
unit ``i`` of a layer **tau-dormant** on a batch when its mean absolute activation, divided by
the mean of that over the layer's units, is at most ``tau``::

    s_i = mean_b |h_i(x_b)|  /  ( (1 / n) * sum_j mean_b |h_j(x_b)| )   <=  tau

A dormant unit passes (almost) nothing on and, behind a ReLU, gets (almost) no gradient, so the
network has lost that much capacity; in RL the fraction grows over training. ReDo's tau is
0.025. A sparse layer can make units dormant for a second reason: a unit whose incoming
connections were all pruned only has its bias.

The pass here is read-only: it multiplies the stored weights directly (``W @ X + b``, sparse or
dense) and touches no cache a training step relies on.
"""

from __future__ import annotations

import numpy as np

from minidst.nn import MLP

TAU = 0.025  #: ReDo's threshold


def unit_scores(net: MLP, X: np.ndarray) -> list[np.ndarray]:
    """Normalised activity ``s_i`` of every hidden unit, one ``(width,)`` array per hidden
    layer (all layers but the output), on the feature-major batch ``X`` ``(n_0, batch)``."""
    scores = []
    activations = np.ascontiguousarray(X, dtype=net.layers[0].dtype)
    for layer, activation in zip(net.layers[:-1], net.activations[:-1]):
        activations = activation.forward(layer.weight @ activations + layer.bias[:, None])
        activity = np.abs(activations).mean(axis=1)  # (width,): mean over the batch
        layer_mean = activity.mean()
        # A layer silent as a whole has every unit dormant (0 / 0 is read as 0).
        scores.append(activity / layer_mean if layer_mean > 0 else np.zeros_like(activity))
    return scores


def dormant_fraction(net: MLP, X: np.ndarray, tau: float = TAU) -> float:
    """The fraction of ``net``'s hidden units that are tau-dormant on the batch ``X``."""
    scores = np.concatenate(unit_scores(net, X))
    return float(np.mean(scores <= tau))


def agent_dormant_fractions(agent, batch: dict[str, np.ndarray], tau: float = TAU) -> dict:
    """``{"topology/dormant_<net>": fraction}`` for every online network of ``agent`` on a
    replay ``batch`` (feature-major fields): the actor sees ``obs``, a critic ``(obs, action)``."""
    critic_input = np.concatenate([batch["obs"], batch["action"]], axis=0)
    fractions = {}
    for name, (net, _) in agent.online_networks().items():
        inputs = critic_input if net.layers[0].in_features == len(critic_input) else batch["obs"]
        fractions[f"topology/dormant_{name}"] = dormant_fraction(net, inputs, tau)
    return fractions
