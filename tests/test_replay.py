"""The replay buffer: every stored transition can be drawn, and a wrapped ring round-trips."""

import numpy as np

from minidst.replay import ReplayBuffer


def filled(capacity: int, count: int) -> ReplayBuffer:
    """A 1-d buffer whose i-th transition has obs = reward = i."""
    buffer = ReplayBuffer(1, 1, capacity)
    for i in range(count):
        buffer.add(np.array([i]), np.array([0.0]), float(i), np.array([i + 1]), False)
    return buffer


def test_sampling_draws_every_stored_transition_and_nothing_else(rng):
    for capacity, count in ((50, 20), (20, 20), (20, 33)):  # part-full, full, wrapped
        buffer = filled(capacity, count)
        drawn = set(buffer.sample(4000, rng)["obs"][0].astype(int))
        assert drawn == set(range(max(0, count - capacity), count)), (capacity, count)
    # The newest transition is drawn at its uniform rate, 1 / size.
    buffer = filled(10, 10)
    share = np.mean(buffer.sample(20_000, rng)["obs"][0] == 9)
    assert abs(share - 0.1) < 0.01


def test_a_wrapped_buffer_round_trips_and_keeps_writing_where_it_was():
    buffer = filled(5, 8)  # holds 5, 6, 7 in slots 0-2 and 3, 4 in slots 3-4; next write: slot 3
    assert buffer.position == 3 and len(buffer) == 5
    restored = ReplayBuffer(1, 1, 5)
    restored.load_state_dict(buffer.state_dict())
    assert restored.position == 3 and len(restored) == 5
    for name in ReplayBuffer.FIELDS:
        np.testing.assert_array_equal(getattr(restored, name), getattr(buffer, name))
    for ring in (buffer, restored):
        ring.add(np.array([8]), np.array([0.0]), 8.0, np.array([9]), False)
    np.testing.assert_array_equal(restored.obs[:, 0], [5, 6, 7, 8, 4])  # the oldest (3) went
    np.testing.assert_array_equal(restored.obs, buffer.obs)
