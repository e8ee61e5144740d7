"""Adam over flat arrays aligned with stored connections, so optimizer memory is O(nnz).

For a sparse layer the parameter is ``weight.data`` and its moments ``m`` and ``v`` have the same
length: one slot per stored connection, none for the zeros. When topology changes, the moments
follow the surviving connections and new connections start with zero moments
(:meth:`Adam.remap`).

Weight decay comes in two flavours:

* ``decoupled=False`` (default, the paper's setting, PyTorch ``Adam(weight_decay=...)``): L2, the
  term ``wd * p`` is *added to the gradient* before the moments are updated;
* ``decoupled=True`` (AdamW): the parameter is shrunk by ``lr * wd * p`` directly, outside the
  adaptive scaling.

The arithmetic of one step is the kernel :func:`minidst.kernels.adam_step` (beside its NumPy
twin); this module keeps the bookkeeping: which arrays, which moments, and what happens to them
when a layer's connections move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minidst.kernels import adam_step


class Adam:
    """Adam for a list of layers (anything with ``parameters()`` and ``gradients()``).

    Call :meth:`step` after the layers' ``backward``. The parameter arrays are fetched from the
    layers at every step, because a topology update replaces a sparse layer's arrays.
    """

    def __init__(
        self,
        layers: Sequence,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ):
        for name, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Adam {name} must be a finite number >= 0, got {value}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.layers = list(layers)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.t = 0
        self.m = [[np.zeros_like(p) for p in layer.parameters()] for layer in self.layers]
        self.v = [[np.zeros_like(p) for p in layer.parameters()] for layer in self.layers]
        self._versions = [_topology_version(layer) for layer in self.layers]

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self.check_topology()
        self.t += 1
        beta1, beta2 = self.betas
        for layer, ms, vs in zip(self.layers, self.m, self.v):
            for p, g, m, v in zip(layer.parameters(), layer.gradients(), ms, vs):
                adam_step(
                    p.ravel(),
                    g.ravel(),
                    m.ravel(),
                    v.ravel(),
                    self.lr,
                    beta1,
                    beta2,
                    self.eps,
                    self.weight_decay,
                    self.decoupled,
                    self.t,
                )

    def check_topology(self) -> None:
        """Raise if a layer's connections moved since its moments were aligned with them."""
        for layer, version in zip(self.layers, self._versions):
            # Pitfall: a topology change that bypasses remap() keeps the count but moves the
            # connections, so every moment would silently belong to another weight.
            if _topology_version(layer) != version:
                raise ValueError(
                    f"{layer}'s connections changed without Adam.remap(): its moments no longer "
                    "line up (pass the optimizer to evolve_layer)"
                )

    def _index(self, layer) -> int:
        for i, candidate in enumerate(self.layers):
            if candidate is layer:
                return i
        raise ValueError(f"{layer} is not optimised by this Adam")

    def remap(self, layer, source: np.ndarray) -> None:
        """Carry ``layer``'s weight moments across a topology change.

        ``source`` ``(new_nnz,)``: for each new stored connection, its index in the old
        ``weight.data``, or -1 for a newly grown one (whose moments start at zero).
        """
        i = self._index(layer)
        self._versions[i] = _topology_version(layer)
        kept = source >= 0
        for moments in (self.m[i], self.v[i]):
            new = np.zeros(len(source), dtype=moments[0].dtype)
            new[kept] = moments[0][source[kept]]
            moments[0] = new

    def state_dict(self) -> dict:
        """Everything needed to resume exactly (arrays are not copied)."""
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`. Load the layers first: the moments are checked against
        the layers' current parameters (a topology may have changed the counts)."""
        expected = [[p.shape for p in layer.parameters()] for layer in self.layers]
        for key in ("m", "v"):
            if [[np.shape(a) for a in moments] for moments in state[key]] != expected:
                raise ValueError("optimizer state does not match the network's shapes")
        self.t = int(state["t"])
        self.m = [[np.asarray(a) for a in moments] for moments in state["m"]]
        self.v = [[np.asarray(a) for a in moments] for moments in state["v"]]
        self._versions = [_topology_version(layer) for layer in self.layers]


def _topology_version(layer) -> int:
    """A layer's ``topology_version``; 0 for parameters without connections (SAC's
    temperature)."""
    return getattr(layer, "topology_version", 0)
