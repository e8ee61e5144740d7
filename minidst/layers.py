"""Linear layers with one interface, dense and sparse.

Both compute ``Z = W @ X + b[:, None]`` on **feature-major** activations:

* ``X``: ``(in_features, batch)``, one column per sample;
* ``Z``: ``(out_features, batch)``;
* ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``.

``backward(dZ)`` returns ``dX = W.T @ dZ`` (shape of ``X``) and sets ``weight_grad`` and
``bias_grad``. For :class:`SparseLinear` the weight is a canonical ``scipy.sparse.csr_array`` and
``weight_grad`` is aligned with ``weight.data``: the gradient exists **only at stored
connections**, and computing it costs ``O(nnz * batch)``, like the forward pass.

The optimizer updates ``parameters()`` in place, so a layer's ``weight.data`` is the single
source of truth for its values. Pitfall: SciPy arithmetic between two sparse matrices
(``A + B``, ``A.multiply(B)``) silently drops stored zeros, and a regrown connection starts at
exactly zero, so never rebuild a weight through SciPy arithmetic; change topology with
:meth:`set_topology`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from minidst import kernels
from minidst.sparsity import check_density, init_values, linear_from_csr, random_topology

DTYPES = (np.float32, np.float64)


def _check_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_sizes(in_features: int, out_features: int) -> None:
    for name, size in (("in_features", in_features), ("out_features", out_features)):
        if not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"{name} must be a positive integer, got {size!r}")


class _Linear:
    """What both layers share: shapes, input checks, the bias, caching for backward."""

    in_features: int
    out_features: int
    dtype: np.dtype
    bias: np.ndarray
    weight_grad: np.ndarray
    bias_grad: np.ndarray
    #: Bumped whenever the layer's connections change (never for a dense layer). Whoever keeps
    #: arrays aligned with the stored weights (Adam's moments, packed copies) compares it with
    #: the version they were aligned to, to know when theirs are stale.
    topology_version: int = 0

    def _check_input(self, X: np.ndarray, name: str, rows: int) -> None:
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array (features, batch), got {type(X).__name__}"
            )
        if X.shape[0] != rows:
            raise ValueError(
                f"{name} has {X.shape[0]} rows but this {self} expects {rows} "
                f"(activations are feature-major: (features, batch))"
            )
        if X.dtype != self.dtype:
            raise TypeError(f"{name} has dtype {X.dtype} but this layer is {self.dtype}")
        if not X.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")

    def parameters(self) -> list[np.ndarray]:
        """The arrays the optimizer updates in place: ``[weight values, bias]``."""
        raise NotImplementedError

    def gradients(self) -> list[np.ndarray]:
        """Gradients aligned with :meth:`parameters`."""
        return [self.weight_grad, self.bias_grad]

    def state_dict(self) -> dict[str, np.ndarray]:
        """The arrays that define the layer (for checkpoints; not copied)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Install arrays from :meth:`state_dict`; raises ValueError if they do not fit."""
        raise NotImplementedError

    def _load_bias(self, state: dict[str, np.ndarray]) -> None:
        bias = np.asarray(state["bias"])
        if bias.shape != self.bias.shape:
            raise ValueError(
                f"{self}: saved bias has shape {bias.shape}, expected {self.bias.shape}"
            )
        self.bias[...] = bias


class DenseLinear(_Linear):
    """A dense layer ``Z = W @ X + b`` with the same interface as :class:`SparseLinear`.

    Init: PyTorch's ``nn.Linear`` rule, weights and biases ``U(-1/sqrt(in), 1/sqrt(in))``.
    """

    def __init__(
        self, in_features: int, out_features: int, rng: np.random.Generator, dtype=np.float32
    ):
        _check_sizes(in_features, out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = _check_dtype(dtype)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = rng.uniform(-bound, bound, (out_features, in_features)).astype(self.dtype)
        self.bias = rng.uniform(-bound, bound, out_features).astype(self.dtype)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = np.zeros_like(self.bias)
        self._input: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"DenseLinear({self.in_features} -> {self.out_features})"

    @property
    def nnz(self) -> int:
        """Number of stored weights (all of them, for a dense layer)."""
        return self.weight.size

    @property
    def density(self) -> float:
        return 1.0

    def parameters(self) -> list[np.ndarray]:
        return [self.weight, self.bias]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight, "bias": self.bias}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if "weight" not in state or np.shape(state["weight"]) != self.weight.shape:
            raise ValueError(f"saved weights do not fit {self}")
        self.weight[...] = state["weight"]
        self._load_bias(state)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(in, batch)`` -> ``Z = W @ X + b`` ``(out, batch)``; keeps ``X`` for backward."""
        self._check_input(X, "input", self.in_features)
        self._input = X
        return self.weight @ X + self.bias[:, None]

    def backward(
        self, dZ: np.ndarray, input_grad: bool = True, param_grads: bool = True
    ) -> np.ndarray | None:
        """``dZ`` ``(out, batch)`` -> ``dX = W.T @ dZ`` ``(in, batch)`` (None if not wanted).

        Sets ``weight_grad = dZ @ X.T`` and ``bias_grad = dZ.sum(axis=1)``, unless
        ``param_grads`` is False (a pass that only routes gradient to the input).
        """
        if self._input is None:
            raise RuntimeError(f"{self}: backward() called before forward()")
        self._check_input(dZ, "output gradient", self.out_features)
        if param_grads:
            np.matmul(dZ, self._input.T, out=self.weight_grad)
            np.sum(dZ, axis=1, out=self.bias_grad)
        return self.weight.T @ dZ if input_grad else None


class SparseLinear(_Linear):
    """A genuinely sparse layer: CSR weight, every pass ``O(nnz * batch)``.

    Args:
        in_features, out_features: layer sizes.
        density: fraction of the ``out * in`` connections that exist, in (0, 1].
        rng: the run's random generator (topology and initial values are drawn from it).
        dtype: float32 (default) or float64 (for gradient checks).
        draw: ``"exact"`` (exactly ``round(density * out * in)`` connections) or ``"bernoulli"``
            (each connection independently, as the paper's code does).
        init: ``"sparse-fan-in"`` or ``"dense-fan-in"``; see :func:`minidst.sparsity.init_values`.
        parallel: run the kernels on all Numba threads (results are bitwise identical; faster
            only for wide layers).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        density: float,
        rng: np.random.Generator,
        dtype=np.float32,
        *,
        draw: str = "exact",
        init: str = "sparse-fan-in",
        parallel: bool = False,
    ):
        _check_sizes(in_features, out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = _check_dtype(dtype)
        self.parallel = bool(parallel)
        indptr, indices = random_topology(
            (out_features, in_features), check_density(density), rng, draw
        )
        data, self.bias = init_values(indptr, in_features, rng, self.dtype, init)
        self.bias_grad = np.zeros_like(self.bias)
        self._input: np.ndarray | None = None
        self._last_gradient_pass: tuple[np.ndarray, np.ndarray] | None = None
        self.set_topology(indptr, indices, data)

    def __repr__(self) -> str:
        return (
            f"SparseLinear({self.in_features} -> {self.out_features}, "
            f"nnz={self.nnz}, density={self.density:.3f})"
        )

    # ---- structure --------------------------------------------------------------------------
    def set_topology(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> None:
        """Install a new canonical CSR structure (int32 indices, sorted rows, no duplicates).

        Resets ``weight_grad``, drops the transposed index used by the input gradient (it is
        rebuilt, ``O(nnz log nnz)``, by the next backward pass that needs it), and bumps
        ``topology_version``: this is the one place a layer's connections change.
        """
        shape = (self.out_features, self.in_features)
        if indptr.dtype != np.int32 or indices.dtype != np.int32:
            raise TypeError("CSR indptr and indices must be int32")
        if data.dtype != self.dtype or len(data) != len(indices) or len(indptr) != shape[0] + 1:
            raise ValueError("CSR arrays do not match this layer's shape or dtype")
        self.weight = sp.csr_array((data, indices, indptr), shape=shape)
        if not self.weight.has_canonical_format:
            raise ValueError("CSR structure is not canonical (unsorted or duplicate indices)")
        self.weight_grad = np.zeros_like(data)
        self.connections_moved()

    def connections_moved(self) -> None:
        """Record that the connections changed: bump ``topology_version``, zero the gradient,
        drop the transposed index (rebuilt by the next backward pass that needs it).

        :meth:`set_topology` calls it; so does code that rewrites ``weight``'s arrays in place
        with a new pattern of the same count (a sparse target update, see ``target.py``).
        """
        self.weight_grad[:] = 0
        self._transpose = None
        self.topology_version += 1

    def _transposed_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``W.T`` in CSR form: for every input feature c, the stored entries of column c.

        Returns ``(indptr, row indices, perm)``, where ``perm[k]`` is the position in
        ``weight.data`` of the k-th entry. Built once per topology, on first use (target
        networks never run backward, so never build it); a stable sort by column keeps rows
        increasing within each column.
        """
        if self._transpose is None:
            W = self.weight
            rows = np.repeat(np.arange(self.out_features, dtype=np.int32), np.diff(W.indptr))
            perm = np.argsort(W.indices, kind="stable").astype(np.int32)
            indptr = np.zeros(self.in_features + 1, dtype=np.int32)
            np.cumsum(np.bincount(W.indices, minlength=self.in_features), out=indptr[1:])
            self._transpose = (indptr, rows[perm], perm)
        return self._transpose

    @property
    def nnz(self) -> int:
        """Number of stored connections."""
        return int(self.weight.nnz)

    def positions(self) -> np.ndarray:
        """The stored connections as sorted row-major positions ``row * in_features + col``
        ``(nnz,)`` int64: one number per connection, easy to compare across layers."""
        W = self.weight
        return linear_from_csr(W.indptr, W.indices, self.in_features)

    @property
    def density(self) -> float:
        return self.nnz / (self.out_features * self.in_features)

    def parameters(self) -> list[np.ndarray]:
        return [self.weight.data, self.bias]

    def state_dict(self) -> dict[str, np.ndarray]:
        W = self.weight
        return {"indptr": W.indptr, "indices": W.indices, "data": W.data, "bias": self.bias}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if not {"indptr", "indices", "data"} <= set(state):
            raise ValueError(f"saved arrays are not a sparse layer's, so they do not fit {self}")
        data = np.asarray(state["data"])
        if data.dtype != self.dtype:
            raise ValueError(f"saved weights are {data.dtype}, but {self} is {self.dtype}")
        indptr, indices = np.asarray(state["indptr"]), np.asarray(state["indices"])
        # Saved files are untrusted input, and the kernels do not bounds-check: an index out of
        # range would read outside the arrays. set_topology checks the rest (shape, dtype, order).
        if (
            indptr.ndim != 1
            or len(indptr) != self.out_features + 1
            or indptr[0] != 0
            or indptr[-1] != len(indices)
            or np.any(np.diff(indptr) < 0)
            or (len(indices) and (indices.min() < 0 or indices.max() >= self.in_features))
        ):
            raise ValueError(f"saved sparse structure does not fit {self}")
        self.set_topology(indptr, indices, data.copy())
        self._load_bias(state)

    # ---- compute ----------------------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(in, batch)`` -> ``Z = W @ X + b`` ``(out, batch)``; keeps ``X`` for backward."""
        self._check_input(X, "input", self.in_features)
        self._input = X
        W = self.weight
        Z = np.empty((self.out_features, X.shape[1]), dtype=self.dtype)
        spmm = kernels.spmm_parallel if self.parallel else kernels.spmm
        spmm(W.indptr, W.indices, W.data, X, Z)
        Z += self.bias[:, None]
        return Z

    def backward(
        self, dZ: np.ndarray, input_grad: bool = True, param_grads: bool = True
    ) -> np.ndarray | None:
        """``dZ`` ``(out, batch)`` -> ``dX = W.T @ dZ`` ``(in, batch)`` (None if not wanted).

        ``input_grad`` defaults to True here, since a layer inside a network must pass gradient
        on (:meth:`~minidst.nn.MLP.backward` defaults to False: a network's input is data).

        Sets ``weight_grad[k] = dZ[row_k] . X[col_k]`` for stored entries only, and
        ``bias_grad = dZ.sum(axis=1)``, unless ``param_grads`` is False.
        """
        if self._input is None:
            raise RuntimeError(f"{self}: backward() called before forward()")
        self._check_input(dZ, "output gradient", self.out_features)
        W = self.weight
        if param_grads:
            self._last_gradient_pass = (self._input, dZ)  # for dense_weight_gradient (RigL)
            sddmm = kernels.sddmm_parallel if self.parallel else kernels.sddmm
            sddmm(W.indptr, W.indices, dZ, self._input, self.weight_grad)
            np.sum(dZ, axis=1, out=self.bias_grad)
        if not input_grad:
            return None
        # dX = W.T @ dZ is the forward kernel run on the transposed index: each row of dX is
        # owned by one loop iteration, so no scattered (and thread-unsafe) writes.
        dX = np.empty((self.in_features, dZ.shape[1]), dtype=self.dtype)
        spmm = kernels.spmm_parallel if self.parallel else kernels.spmm
        t_indptr, t_rows, t_perm = self._transposed_index()
        spmm(t_indptr, t_rows, W.data[t_perm], dZ, dX)
        return dX

    def dense_weight_gradient(self) -> np.ndarray:
        """The full ``(out, in)`` gradient ``dZ @ X.T`` of the last backward pass.

        Only for gradient-based regrowth (RigL), once per topology update: it costs a dense
        product, so never call it per training step.
        """
        if self._last_gradient_pass is None:
            raise RuntimeError(f"{self}: no backward pass yet, so no gradient to regrow from")
        X, dZ = self._last_gradient_pass
        return dZ @ X.T
