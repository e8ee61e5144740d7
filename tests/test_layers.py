"""Layers, activations, loss and MLP: gradients against central differences in float64."""

import numpy as np
import pytest

from minidst import MLP, DenseLinear, SparseLinear, mse_loss
from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.nn import ACTIVATIONS


def make_layer(kind, n_in, n_out, rng, density=0.3):
    if kind == "dense":
        return DenseLinear(n_in, n_out, rng, np.float64)
    return SparseLinear(n_in, n_out, density, rng, np.float64)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("batch", [1, 7])
def test_layer_gradients(kind, batch, rng):
    layer = make_layer(kind, 9, 6, rng)
    X = rng.standard_normal((9, batch))
    C = rng.standard_normal((6, batch))  # loss = sum(C * Z), so dZ = C

    def loss():
        return float(np.sum(C * layer.forward(X)))

    loss()
    dX = layer.backward(C)
    assert_gradient_close(f"{layer} input", dX, central_difference(loss, X))
    assert_gradient_close(f"{layer} bias", layer.bias_grad, central_difference(loss, layer.bias))
    weight = layer.parameters()[0]
    assert_gradient_close(f"{layer} weight", layer.weight_grad, central_difference(loss, weight))


def test_sparse_weight_gradient_only_at_stored_connections(rng):
    layer = SparseLinear(20, 10, 0.2, rng, np.float64)
    X, dZ = rng.standard_normal((20, 5)), rng.standard_normal((10, 5))
    layer.forward(X)
    layer.backward(dZ)
    rows, cols = layer.weight.nonzero()
    assert layer.weight_grad.shape == (layer.nnz,)
    np.testing.assert_allclose(layer.weight_grad, (dZ @ X.T)[rows, cols], rtol=1e-12)
    np.testing.assert_allclose(layer.dense_weight_gradient(), dZ @ X.T, rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradients(name, rng):
    act = ACTIVATIONS[name]
    z = rng.standard_normal((4, 6))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the ReLU kink
    C = rng.standard_normal(z.shape)
    y = act.forward(z)
    analytic = act.backward(z, y, C)
    assert_gradient_close(
        name, analytic, central_difference(lambda: float(np.sum(C * act.forward(z))), z)
    )


def test_activations_do_not_modify_their_input(rng):
    z = rng.standard_normal((3, 4))
    before = z.copy()
    for act in ACTIVATIONS.values():
        y = act.forward(z)
        act.backward(z, y, np.ones_like(z))
        assert np.array_equal(z, before), act.name


def test_mse_loss_gradient(rng):
    pred, target = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    loss, grad = mse_loss(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    assert_gradient_close("mse", grad, central_difference(lambda: mse_loss(pred, target)[0], pred))


@pytest.mark.parametrize("output", ["identity", "tanh"])
def test_mlp_gradients_mixed_sparse_and_dense(output, rng):
    net = MLP.build(
        [5, 12, 9, 3], [0.5, 0.3, None], rng, output_activation=output, dtype=np.float64
    )
    X, target = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))

    def loss():
        return mse_loss(net.forward(X), target)[0]

    _, dY = mse_loss(net.forward(X), target)
    dX = net.backward(dY, input_grad=True)
    assert_gradient_close("MLP input", dX, central_difference(loss, X))
    analytic = [g.copy() for g in net.gradients()]
    for i, (param, grad) in enumerate(zip(net.parameters(), analytic)):
        assert_gradient_close(f"MLP parameter {i}", grad, central_difference(loss, param))


def test_gradient_check_names_the_wrong_entry():
    with pytest.raises(AssertionError, match=r"layer 3 bias: gradient mismatch at entry \(1,\)"):
        assert_gradient_close("layer 3 bias", np.array([1.0, 2.0]), np.array([1.0, 2.5]))


def test_sparse_layer_matches_dense_product(rng):
    layer = SparseLinear(33, 17, 0.25, rng)
    X = rng.standard_normal((33, 8)).astype(np.float32)
    Z = layer.forward(X)
    np.testing.assert_allclose(
        Z, layer.weight.toarray() @ X + layer.bias[:, None], rtol=1e-4, atol=1e-5
    )
    dZ = rng.standard_normal((17, 8)).astype(np.float32)
    np.testing.assert_allclose(
        layer.backward(dZ), layer.weight.toarray().T @ dZ, rtol=1e-4, atol=1e-5
    )


def test_sparse_weight_is_canonical_csr_sharing_its_data(rng):
    layer = SparseLinear(40, 30, 0.1, rng)
    W = layer.weight
    assert W.shape == (30, 40) and W.format == "csr"
    assert W.has_canonical_format and W.indices.dtype == np.int32 and W.indptr.dtype == np.int32
    assert layer.nnz == round(0.1 * 1200)
    assert layer.parameters()[0] is W.data  # the optimizer's in-place updates reach the weight


@pytest.mark.parametrize("init", ["sparse-fan-in", "dense-fan-in"])
def test_init_bounds_follow_the_fan_in_rule(init, rng):
    layer = SparseLinear(400, 50, 0.05, rng, init=init)
    fan_in = np.diff(layer.weight.indptr) if init == "sparse-fan-in" else np.full(50, 400)
    bound = np.repeat(1 / np.sqrt(np.maximum(fan_in, 1)), np.diff(layer.weight.indptr))
    assert np.all(np.abs(layer.weight.data) <= bound + 1e-7)
    assert np.abs(layer.weight.data).max() > 0.8 * bound.min()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda rng: SparseLinear(4, 3, 0.0, rng), r"density must be in \(0, 1\], got 0.0"),
        (lambda rng: SparseLinear(4, 3, 1.5, rng), r"density must be in \(0, 1\], got 1.5"),
        (lambda rng: SparseLinear(4, 3, float("nan"), rng), r"density must be in \(0, 1\]"),
        (lambda rng: SparseLinear(0, 3, 0.5, rng), r"in_features must be a positive integer"),
        (lambda rng: SparseLinear(4, 3, 0.5, rng, np.int32), r"dtype must be float32 or float64"),
        (lambda rng: DenseLinear(4, 3, rng, np.float16), r"dtype must be float32 or float64"),
        (lambda rng: SparseLinear(4, 3, 0.5, rng, draw="poisson"), r"unknown topology draw"),
        (lambda rng: SparseLinear(4, 3, 0.5, rng, init="xavier"), r"unknown init rule"),
    ],
)
def test_bad_layer_arguments(make, message, rng):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        make(rng)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_bad_inputs_get_one_line_errors(kind, rng):
    layer = make_layer(kind, 4, 3, rng)
    cases = [
        (rng.standard_normal((5, 2)), ValueError, "has 5 rows but"),
        (rng.standard_normal((4, 2)).astype(np.float32), TypeError, "has dtype float32"),
        (np.asfortranarray(rng.standard_normal((4, 2))), ValueError, "C-contiguous"),
        (rng.standard_normal(4), ValueError, "2-D array"),
    ]
    for X, error, message in cases:
        with pytest.raises(error, match=message) as info:
            layer.forward(X)
        assert "\n" not in str(info.value)
    with pytest.raises(RuntimeError, match="before forward"):
        make_layer(kind, 4, 3, rng).backward(np.zeros((3, 2)))


def test_mlp_rejects_mismatched_layers(rng):
    with pytest.raises(ValueError, match="does not feed"):
        MLP([DenseLinear(4, 5, rng), DenseLinear(6, 2, rng)], ["relu", "identity"])
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([DenseLinear(4, 5, rng)], ["gelu"])


def test_mlp_accepts_strided_batches(rng):
    """``X[:, idx]`` is not C-contiguous; the MLP fixes the layout at its edge."""
    net = MLP.build([6, 8, 2], [0.5, None], rng)
    X = rng.standard_normal((6, 50)).astype(np.float32)
    idx = rng.integers(0, 50, 10)
    assert not X[:, idx].flags.c_contiguous
    out = net.forward(X[:, idx])
    np.testing.assert_array_equal(out, net.forward(np.ascontiguousarray(X[:, idx])))
    net.backward(np.asfortranarray(np.ones((2, 10), np.float32)))


def test_input_only_backward_leaves_parameter_gradients_alone(rng):
    net = MLP.build([5, 8, 8, 1], [0.5, 0.5, None], rng, dtype=np.float64)
    X = rng.standard_normal((5, 4))
    dY1, dY2 = rng.standard_normal((1, 4)), rng.standard_normal((1, 4))
    net.forward(X)
    expected = net.backward(dY2, input_grad=True)
    net.forward(X)
    net.backward(dY1)
    saved = [g.copy() for g in net.gradients()]
    routed = net.backward(dY2, input_grad=True, param_grads=False)
    for before, after in zip(saved, net.gradients()):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(routed, expected)


def test_topology_version_moves_only_when_connections_do(rng):
    from minidst.target import soft_update
    from minidst.topology import evolve_layer

    layer = SparseLinear(8, 6, 0.5, rng, np.float64)
    target = SparseLinear(8, 6, 0.5, rng, np.float64)
    target.load_state_dict({k: v.copy() for k, v in layer.state_dict().items()})
    version = layer.topology_version
    layer.forward(rng.standard_normal((8, 3)))
    layer.backward(rng.standard_normal((6, 3)))
    layer.weight.data *= 2.0  # values change in place: same connections
    soft_update(target, layer, 0.5)  # same pattern: an in-place average
    assert layer.topology_version == version
    target_version = target.topology_version
    evolve_layer(layer, None, 0.3, rng)
    assert layer.topology_version == version + 1
    soft_update(target, layer, 0.5, rule="copy")  # the target takes the new pattern
    assert target.topology_version == target_version + 1
    assert DenseLinear(3, 2, rng).topology_version == 0


def test_positions_are_the_sorted_row_major_indices_of_stored_connections(rng):
    layer = SparseLinear(7, 5, 0.4, rng, np.float64)
    rows, cols = np.nonzero(layer.weight.toarray() != 0)  # init draws no exact zeros
    np.testing.assert_array_equal(layer.positions(), rows * 7 + cols)
