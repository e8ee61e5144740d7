"""Activations, a multi-layer perceptron and the MSE loss, with backprop written by hand.

Every piece has its forward and its backward side by side. Activations are pure functions: they
never modify their input (the original SET code mutated activations in place, which silently
corrupts anything that still holds the array).

Shapes are feature-major throughout: ``(features, batch)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from minidst import kernels
from minidst.layers import DenseLinear, SparseLinear


# --------------------------------------------------------------------------------------------
# Activations: y = f(z), and dz = f'(z) * dy
# --------------------------------------------------------------------------------------------
def relu(z: np.ndarray) -> np.ndarray:
    # np.maximum(z, 0), as a Numba loop: NumPy's version is slow for this (see kernels.relu).
    return kernels.relu(z)


def relu_backward(z: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # dy * (z > 0): the derivative at exactly 0 is taken as 0 (as PyTorch does).
    return kernels.relu_backward(z, dy)


def tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def tanh_backward(z: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # d tanh(z)/dz = 1 - tanh(z)^2: reuse the output y instead of recomputing tanh.
    return dy * (1 - y * y)


def identity(z: np.ndarray) -> np.ndarray:
    return z


def identity_backward(z: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy


class Activation(NamedTuple):
    """An activation: ``forward(z) -> y`` and ``backward(z, y, dy) -> dz``."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


ACTIVATIONS = {
    "relu": Activation("relu", relu, relu_backward),
    "tanh": Activation("tanh", tanh, tanh_backward),
    "identity": Activation("identity", identity, identity_backward),
}


def get_activation(name: str) -> Activation:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# --------------------------------------------------------------------------------------------
# Loss
# --------------------------------------------------------------------------------------------
def mse_loss(prediction: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries, and its gradient with respect to ``prediction``.

    ``loss = mean((prediction - target)^2)``, so
    ``d loss / d prediction = 2 (prediction - target) / n``.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {prediction.shape} and target {target.shape} differ in shape")
    diff = prediction - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


# --------------------------------------------------------------------------------------------
# MLP
# --------------------------------------------------------------------------------------------
Layer = DenseLinear | SparseLinear


class MLP:
    """A stack ``x -> act_1(L_1 x) -> ... -> act_n(L_n ...)`` of any mix of sparse and dense layers.

    Args:
        layers: the linear layers, ``layers[i].in_features == layers[i-1].out_features``.
        activations: one activation name per layer (``"relu"``, ``"tanh"``, ``"identity"``).
    """

    def __init__(self, layers: Sequence[Layer], activations: Sequence[str]):
        if len(layers) == 0 or len(layers) != len(activations):
            raise ValueError("an MLP needs at least one layer and exactly one activation per layer")
        for before, after in pairwise(layers):
            if before.out_features != after.in_features:
                raise ValueError(f"{before} does not feed {after}: sizes do not match")
        self.layers = list(layers)
        self.activations = [get_activation(name) for name in activations]
        self._cache: list[tuple[np.ndarray, np.ndarray]] = []

    @classmethod
    def build(
        cls,
        sizes: Sequence[int],
        densities: Sequence[float | None],
        rng: np.random.Generator,
        *,
        hidden_activation: str = "relu",
        output_activation: str = "identity",
        dtype=np.float32,
        **sparse_options,
    ) -> MLP:
        """Make an MLP from layer sizes ``[n_0, ..., n_L]`` and one density per layer.

        A density of ``None`` makes a :class:`DenseLinear`; a number makes a :class:`SparseLinear`
        (``sparse_options`` such as ``init`` or ``draw`` are passed on to it).
        """
        if len(densities) != len(sizes) - 1:
            raise ValueError(
                f"{len(sizes) - 1} layers need {len(sizes) - 1} densities, got {len(densities)}"
            )
        layers: list[Layer] = []
        for n_in, n_out, density in zip(sizes, sizes[1:], densities):
            if density is None:
                layers.append(DenseLinear(n_in, n_out, rng, dtype))
            else:
                layers.append(SparseLinear(n_in, n_out, density, rng, dtype, **sparse_options))
        activations = [hidden_activation] * (len(layers) - 1) + [output_activation]
        return cls(layers, activations)

    def __repr__(self) -> str:
        parts = [f"{layer!r} -> {act.name}" for layer, act in zip(self.layers, self.activations)]
        return "MLP(\n  " + ",\n  ".join(parts) + "\n)"

    @property
    def sparse_layers(self) -> list[SparseLinear]:
        return [layer for layer in self.layers if isinstance(layer, SparseLinear)]

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(n_0, batch)`` -> output ``(n_L, batch)``; keeps what backward needs."""
        # Pitfall: ``X[:, batch_indices]`` is not C-contiguous; fix the layout once, at the edge.
        X = np.ascontiguousarray(X)
        self._cache = []
        for layer, act in zip(self.layers, self.activations):
            Z = layer.forward(X)
            X = act.forward(Z)
            self._cache.append((Z, X))
        return X

    def backward(
        self, dY: np.ndarray, input_grad: bool = False, param_grads: bool = True
    ) -> np.ndarray | None:
        """Backprop ``dY`` ``(n_L, batch)``; sets every layer's gradients.

        Returns ``d loss / d input`` ``(n_0, batch)`` if ``input_grad`` (a critic needs it for the
        actor's loss), else None, which skips the first layer's input-gradient product. The
        default is False, unlike a single layer's ``backward`` (True): a network's input is
        data, whose gradient training rarely needs, while a layer's input is the previous
        layer's output. With
        ``param_grads=False`` the layers' gradients are left untouched: the pass only carries
        the gradient through to the input (the critic inside the actor's loss).
        """
        if len(self._cache) != len(self.layers):
            raise RuntimeError("MLP.backward() called before forward()")
        dY = np.ascontiguousarray(dY)
        for i in reversed(range(len(self.layers))):
            Z, Y = self._cache[i]
            dZ = self.activations[i].backward(Z, Y, dY)
            dY = self.layers[i].backward(
                dZ, input_grad=input_grad or i > 0, param_grads=param_grads
            )
        return dY

    def parameters(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.parameters()]

    def state_dict(self) -> list[dict[str, np.ndarray]]:
        """One :meth:`~minidst.layers.SparseLinear.state_dict` per layer."""
        return [layer.state_dict() for layer in self.layers]

    def load_state_dict(self, state: Sequence[dict[str, np.ndarray]]) -> None:
        if len(state) != len(self.layers):
            raise ValueError(f"saved network has {len(state)} layers, this one {len(self.layers)}")
        for layer, layer_state in zip(self.layers, state):
            layer.load_state_dict(layer_state)

    def gradients(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.gradients()]
