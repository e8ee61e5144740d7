"""Counting parameters and FLOPs, dense versus sparse.

The convention is RigL's (Evci et al. 2020), which the DS-TD3 paper follows:

* a stored connection costs one multiply and one add per sample: **forward FLOPs = 2 * nnz**;
  biases and activations are ignored (they are ``O(width)``, not ``O(width^2)``);
* a training step costs ~3x the forward pass: the forward product, the input gradient
  ``W.T @ dZ`` and the weight gradient are each a product of the same size. (The first layer
  needs no input gradient; the convention still counts 3x, as the paper does.)

A dense layer counts every ``n_out * n_in`` position; a sparse one only its stored connections.
"""

from __future__ import annotations

from collections.abc import Iterable

from minidst.layers import DenseLinear, SparseLinear

Layer = DenseLinear | SparseLinear

#: Training-step cost as a multiple of the forward pass (forward + input grad + weight grad).
TRAINING_MULTIPLIER = 3


def forward_flops(layers: Iterable[Layer], batch: int = 1) -> int:
    """FLOPs of one forward pass of ``layers`` over ``batch`` samples: ``2 * nnz * batch``."""
    return sum(2 * layer.nnz for layer in layers) * batch


def dense_forward_flops(layers: Iterable[Layer], batch: int = 1) -> int:
    """What :func:`forward_flops` would be if every layer were dense."""
    return sum(2 * layer.out_features * layer.in_features for layer in layers) * batch


def training_flops(layers: Iterable[Layer], batch: int = 1) -> int:
    """FLOPs of one training step (forward + backward) of ``layers`` over ``batch`` samples."""
    return TRAINING_MULTIPLIER * forward_flops(layers, batch)


def count_parameters(layers: Iterable[Layer]) -> dict[str, int]:
    """Stored weights, biases, and the weights a dense version of the same layers would have."""
    layers = list(layers)
    return {
        "weights": sum(layer.nnz for layer in layers),
        "biases": sum(layer.out_features for layer in layers),
        "dense_weights": sum(layer.out_features * layer.in_features for layer in layers),
    }


def layer_table(named_layers: Iterable[tuple[str, Layer]]) -> str:
    """A plain-text table: one row per layer with shape, density, weights and forward FLOPs."""
    header = (
        f"{'layer':<16}{'shape':>12}{'density':>9}{'weights':>10}{'dense':>10}{'fwd FLOPs':>11}"
    )
    lines = [header, "-" * len(header)]
    total, total_dense = 0, 0
    for name, layer in named_layers:
        dense = layer.out_features * layer.in_features
        shape = f"{layer.out_features}x{layer.in_features}"
        lines.append(
            f"{name:<16}{shape:>12}{layer.density:>9.3f}{layer.nnz:>10}{dense:>10}"
            f"{2 * layer.nnz:>11}"
        )
        total, total_dense = total + layer.nnz, total_dense + dense
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<16}{'':>12}{total / total_dense:>9.3f}{total:>10}{total_dense:>10}"
        f"{2 * total:>11}"
    )
    return "\n".join(lines)
