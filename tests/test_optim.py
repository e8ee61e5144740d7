"""Adam over flat arrays: the update rule, weight decay flavours, and state across rewiring."""

import numpy as np
import pytest

from minidst import Adam, DenseLinear, SparseLinear, evolve_layer, mse_loss
from minidst.nn import MLP


def test_first_adam_step_moves_each_weight_by_lr_against_the_gradient_sign(rng):
    layer = DenseLinear(4, 3, rng, np.float64)
    before = layer.weight.copy()
    layer.weight_grad[...] = rng.standard_normal(layer.weight.shape)
    layer.bias_grad[...] = 0
    Adam([layer], lr=0.01, eps=1e-12).step()
    # Bias-corrected m / sqrt(v) = g / |g| on step 1.
    np.testing.assert_allclose(before - layer.weight, 0.01 * np.sign(layer.weight_grad), rtol=1e-9)


def test_l2_and_decoupled_weight_decay_differ_as_defined(rng):
    def one_step(decoupled):
        layer = DenseLinear(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
        layer.weight_grad[...] = 0.0
        layer.bias_grad[...] = 0.0
        start = layer.weight.copy()
        Adam([layer], lr=0.1, weight_decay=0.5, decoupled=decoupled, eps=1e-12).step()
        return start, layer.weight

    start, l2 = one_step(False)
    np.testing.assert_allclose(l2, start - 0.1 * np.sign(start), rtol=1e-9)  # g = wd * p
    start, adamw = one_step(True)
    np.testing.assert_allclose(adamw, start * (1 - 0.1 * 0.5), rtol=1e-9)  # zero grad: only decay


def test_optimizer_memory_is_one_slot_per_stored_connection(rng):
    layer = SparseLinear(300, 200, 0.05, rng)
    optimizer = Adam([layer])
    assert optimizer.m[0][0].shape == optimizer.v[0][0].shape == (layer.nnz,)


def test_remap_carries_survivors_and_zeroes_newcomers(rng):
    layer = SparseLinear(6, 5, 0.5, rng)
    optimizer = Adam([layer])
    optimizer.m[0][0][:] = np.arange(layer.nnz)
    optimizer.v[0][0][:] = np.arange(layer.nnz) + 100
    source = np.array([3, -1, 0, -1])
    optimizer.layers[0] = layer
    optimizer.remap(layer, source)
    assert list(optimizer.m[0][0]) == [3, 0, 0, 0] and list(optimizer.v[0][0]) == [103, 0, 100, 0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": -1.0}, "lr must be a finite number"),
        ({"weight_decay": float("nan")}, "weight_decay must be a finite number"),
        ({"betas": (0.9, 1.0)}, "betas must be in"),
    ],
)
def test_bad_hyperparameters(kwargs, message, rng):
    with pytest.raises(ValueError, match=message):
        Adam([DenseLinear(2, 2, rng)], **kwargs)


def test_remap_of_an_unknown_layer_is_an_error(rng):
    with pytest.raises(ValueError, match="is not optimised by this Adam"):
        Adam([DenseLinear(2, 2, rng)]).remap(SparseLinear(2, 2, 0.5, rng), np.array([0]))


@pytest.mark.parametrize("densities", [[None, None, None], [0.3, 0.3, None]])
def test_sparse_and_dense_mlps_fit_a_regression(densities, rng):
    """Real learning: a 2-hidden-layer MLP fits a smooth function to well below its variance."""
    X = rng.uniform(-1, 1, (4, 512)).astype(np.float32)
    y = (np.sin(2 * X[:1]) + X[1:2] * X[2:3] - 0.5 * X[3:4] ** 2).astype(np.float32)
    net = MLP.build([4, 64, 64, 1], densities, rng)
    optimizer = Adam(net.layers, lr=3e-3)
    for _ in range(600):
        batch = rng.integers(0, 512, 64)
        _, dY = mse_loss(net.forward(np.ascontiguousarray(X[:, batch])), y[:, batch])
        net.backward(dY)
        optimizer.step()
    final, _ = mse_loss(net.forward(X), y)
    assert final < 0.05 * y.var()


def test_a_topology_change_without_remap_is_caught(rng):
    layer = SparseLinear(8, 6, 0.5, rng, np.float64)
    optimizer = Adam([layer])
    layer.forward(rng.standard_normal((8, 3)))
    layer.backward(rng.standard_normal((6, 3)))
    optimizer.step()
    evolve_layer(layer, None, 0.3, rng)  # same count, moved connections, moments not remapped
    with pytest.raises(ValueError, match=r"without Adam\.remap"):
        optimizer.step()
    evolve_layer(layer, optimizer, 0.3, rng)  # with the optimizer, everything lines up again
    optimizer.step()
