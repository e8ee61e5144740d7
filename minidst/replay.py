"""A replay buffer: a fixed-size ring of transitions, allocated once.

Transitions are stored **row per transition** (``(capacity, dim)``, float32), which makes adding
one cheap; :meth:`ReplayBuffer.sample` gathers a batch straight into the feature-major
``(dim, batch)`` layout the networks use (one compiled pass per field, no transposed copy).

Pitfall (easy to overlook): store ``terminated``, not ``done``. An episode cut by a time limit
(``truncated``) did not reach a terminal state, so its last transition must still bootstrap from
the next state's value.
"""

from __future__ import annotations

import numpy as np

from minidst import kernels


class ReplayBuffer:
    """Ring buffer of ``(obs, action, reward, next_obs, terminated, horizon)``; memory
    ``O(capacity)``. ``horizon`` is the number of rewards summed in ``reward`` (1, or up to
    ``n`` for :class:`NStepReturns`): the TD target discounts the bootstrap by ``gamma**horizon``.
    """

    FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "horizon")

    def __init__(self, obs_dim: int, act_dim: int, capacity: int):
        if capacity <= 0:
            raise ValueError(f"replay capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.action = np.zeros((capacity, act_dim), dtype=np.float32)
        self.reward = np.zeros((capacity, 1), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros((capacity, 1), dtype=np.float32)
        self.horizon = np.ones((capacity, 1), dtype=np.float32)
        self.position = 0  # where the next transition goes
        self.size = 0  # how many slots hold data

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward: float, next_obs, terminated: bool, horizon: int = 1) -> None:
        """Store one transition (observations are cast to float32 here, once)."""
        i = self.position
        self.obs[i] = obs
        self.action[i] = action
        self.reward[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = float(terminated)
        self.horizon[i] = horizon
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A uniform batch (with replacement), each field feature-major ``(dim, batch_size)``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = rng.integers(0, self.size, size=batch_size)
        batch = {}
        for name in self.FIELDS:
            source = getattr(self, name)
            batch[name] = np.empty((source.shape[1], batch_size), dtype=source.dtype)
            kernels.gather_columns(source, index, batch[name])  # source[index].T, in one pass
        return batch

    def state_dict(self) -> dict:
        """The filled part of the buffer and its counters (for checkpoints)."""
        state = {name: getattr(self, name)[: self.size] for name in self.FIELDS}
        state.update(position=self.position, size=self.size, capacity=self.capacity)
        return state

    def load_state_dict(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ValueError(
                f"checkpoint buffer capacity {int(state['capacity'])} != {self.capacity}"
            )
        size = int(state["size"])
        for name in self.FIELDS:
            if name == "horizon" and name not in state:
                self.horizon[:size] = 1  # a checkpoint from before n-step returns: all 1-step
                continue
            getattr(self, name)[:size] = state[name]
        self.position, self.size = int(state["position"]), size


class NStepReturns:
    """Folds the env's one-step transitions into n-step ones (multi-step TD targets, RLx2).

    For the transition at time ``t`` it emits ``(s_t, a_t, R, s_{t+k}, terminated, k)`` with
    ``R = sum_{i<k} gamma^i r_{t+i}`` and ``k = n``, or fewer where the episode ends first; the
    TD target is then ``R + gamma^k (1 - terminated) Q'(s_{t+k})``. With ``n = 1`` it passes
    transitions through unchanged.

    Pitfalls (easy to overlook): never sum rewards across an episode boundary, so every
    pending transition is emitted when an episode ends; and a time-limit truncation is not a
    termination: those transitions still bootstrap, from the last state, with ``gamma^k``.
    """

    def __init__(self, n: int, gamma: float):
        if n < 1:
            raise ValueError(f"n-step returns need n >= 1, got {n}")
        self.n, self.gamma = n, gamma
        self.pending: list[list] = []  # [obs, action, discounted reward sum, rewards summed]

    def add(self, obs, action, reward: float, next_obs, terminated: bool, truncated: bool) -> list:
        """Take one env step; return the n-step transitions it completes (arguments of
        :meth:`ReplayBuffer.add`)."""
        self.pending.append([obs, action, 0.0, 0])
        for item in self.pending:
            item[2] += self.gamma ** item[3] * float(reward)
            item[3] += 1
        done = []
        if self.pending[0][3] == self.n:
            first = self.pending.pop(0)
            done.append((first[0], first[1], first[2], next_obs, terminated, first[3]))
        if terminated or truncated:
            done += [(o, a, total, next_obs, terminated, k) for o, a, total, k in self.pending]
            self.pending = []
        return done
