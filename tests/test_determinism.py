"""Same seed -> same numbers, whatever the Numba thread count."""

import numba
import numpy as np

from minidst import MLP, Adam, evolve_layer, mse_loss


def train(seed: int, parallel: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    net = MLP.build([8, 96, 96, 2], [0.3, 0.3, None], rng, parallel=parallel)
    optimizer = Adam(net.layers, weight_decay=2e-4)
    for step in range(30):
        X = rng.standard_normal((8, 32)).astype(np.float32)
        _, dY = mse_loss(net.forward(X), np.ones((2, 32), np.float32))
        net.backward(dY)
        optimizer.step()
        if step % 10 == 9:
            for layer in net.sparse_layers:
                evolve_layer(layer, optimizer, 0.1, rng)
    return [p.copy() for p in net.parameters()]


def test_same_seed_same_numbers_and_other_seed_differs():
    a, b, c = train(0, False), train(0, False), train(1, False)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c) if x.shape == y.shape)


def test_training_is_bitwise_equal_for_one_and_two_threads():
    serial = train(0, False)
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            parallel = train(0, True)
            assert all(np.array_equal(x, y) for x, y in zip(serial, parallel)), threads
    finally:
        numba.set_num_threads(before)
