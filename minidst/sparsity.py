"""How sparse each layer is, where its connections go, and what values they start with.

Words used throughout minidst: **density** is the fraction of a layer's ``n_out * n_in`` possible
connections that are stored; **sparsity** = 1 - density (the fraction of zeros).

Three ways to choose per-layer densities:

* :func:`erdos_renyi_density` - the DS-TD3 paper's rule: connection probability
  ``lambda * (n_in + n_out) / (n_in * n_out)``, so narrow layers (few possible connections) stay
  denser than wide ones. ``lambda`` is a per-layer constant from the paper.
* :func:`erk_densities` - "Erdos-Renyi-Kernel" (RigL): the same shape rule, with one global scale
  chosen so that the whole network hits a target sparsity.
* :func:`uniform_densities` - every layer at the same sparsity.

Then :func:`random_topology` draws *where* the connections go, and :func:`init_values` draws their
values.

Argument order: a layer's *sizes* are given input first, ``(n_in, n_out)``, as in
``SparseLinear(in_features, out_features)`` and PyTorch's ``nn.Linear``; a weight matrix's
*shape* is ``(n_out, n_in)``, as NumPy writes it (``weight.shape``). Functions take one or the
other by name: ``erdos_renyi_density(n_in, n_out, lam)``, ``random_topology(shape, ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np


def check_density(density: float) -> float:
    """Return ``density`` as a float, or raise if it is not in (0, 1]."""
    density = float(density)
    if not (0.0 < density <= 1.0):
        raise ValueError(f"density must be in (0, 1], got {density}")
    return density


def check_sparsity(sparsity: float) -> float:
    """Return ``sparsity`` as a float, or raise if it is not in [0, 1)."""
    sparsity = float(sparsity)
    if not (0.0 <= sparsity < 1.0):
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return sparsity


def erdos_renyi_density(n_in: int, n_out: int, lam: float) -> float:
    """The paper's Erdos-Renyi density ``lam * (n_in + n_out) / (n_in * n_out)``, capped at 1.

    Example: HalfCheetah's actor, 17 -> 256 with ``lam = 7``: 7 * 273 / 4352 = 0.439.
    """
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"Erdos-Renyi lambda must be a positive number, got {lam}")
    if n_in <= 0 or n_out <= 0:
        raise ValueError(f"layer sizes must be positive, got n_in={n_in}, n_out={n_out}")
    return min(1.0, lam * (n_in + n_out) / (n_in * n_out))


def erk_densities(
    shapes: Sequence[tuple[int, int]],
    sparsity: float,
    dense: Sequence[bool] | None = None,
    lambdas: Sequence[float] | None = None,
) -> list[float]:
    """Per-layer densities with Erdos-Renyi proportions and a global ``sparsity``.

    ``shapes`` lists ``(n_out, n_in)`` of every layer; layers flagged in ``dense`` stay dense and
    count toward the total. We look for a scale ``eps`` with
    ``sum_l min(1, eps * s_l) * N_l == (1 - sparsity) * sum_l N_l``, where
    ``s_l = lambda_l * (n_in + n_out) / (n_in * n_out)`` and ``N_l = n_in * n_out``. A layer
    whose density would exceed 1 is made dense and the scale is solved again for the others
    (RigL's loop). ``lambdas`` (default: all 1, which is ERK) keeps the ratio of per-layer
    Erdős–Rényi lambdas, e.g. the paper's 7 : 64, while the scale meets the budget.
    """
    sparsity = check_sparsity(sparsity)
    dense = list(dense) if dense is not None else [False] * len(shapes)
    sizes = np.array([n_out * n_in for n_out, n_in in shapes], dtype=float)
    lambdas = np.ones(len(shapes)) if lambdas is None else np.asarray(lambdas, dtype=float)
    shape_rule = lambdas * np.array([(n_in + n_out) / (n_in * n_out) for n_out, n_in in shapes])
    is_dense = np.array(dense, dtype=bool)
    budget = (1.0 - sparsity) * sizes.sum()
    while True:
        free_budget = budget - sizes[is_dense].sum()
        if free_budget <= 0:
            raise ValueError(
                f"sparsity {sparsity} is unreachable: the dense layers alone exceed its budget"
            )
        eps = free_budget / (shape_rule[~is_dense] * sizes[~is_dense]).sum()
        overflow = ~is_dense & (eps * shape_rule > 1.0)
        if not overflow.any():
            break
        is_dense |= overflow
    return [1.0 if d else float(eps * s) for d, s in zip(is_dense, shape_rule)]


def uniform_densities(
    shapes: Sequence[tuple[int, int]], sparsity: float, dense: Sequence[bool] | None = None
) -> list[float]:
    """Every non-dense layer at density ``1 - sparsity`` (dense layers stay at 1)."""
    sparsity = check_sparsity(sparsity)
    dense = list(dense) if dense is not None else [False] * len(shapes)
    return [1.0 if d else 1.0 - sparsity for d in dense]


#: How a global weight budget is spread over layers (see :func:`layer_densities`).
DENSITY_RULES = ("erk", "er")


def dense_weight_count(sizes: Sequence[int]) -> int:
    """Weights of a dense MLP with layer sizes ``[n_0, ..., n_L]`` (biases not counted)."""
    return sum(n_in * n_out for n_in, n_out in pairwise(sizes))


def budget_sparsity(sizes: Sequence[int], match_width: int, fraction: float = 1.0) -> float:
    """The global sparsity at which an MLP of ``sizes`` stores ``fraction`` times the weights of
    the dense MLP of the same depth whose hidden layers are all ``match_width`` wide.

    Example: a 1024-1024 TD3 actor on HalfCheetah (17 -> 1024 -> 1024 -> 6) at the budget of the
    dense 256-256 actor: 1 - 71,424 / 1,072,128 = 0.933. Raises a one-line ValueError when the
    network is no larger than its budget (nothing to make sparse).
    """
    budget = fraction * dense_weight_count([sizes[0], *[match_width] * (len(sizes) - 2), sizes[-1]])
    total = dense_weight_count(sizes)
    if budget >= total:
        raise ValueError(
            f"--match-dense {match_width} stores {budget:,.0f} weights, at least the "
            f"{total:,} of the whole {'-'.join(map(str, sizes[1:-1]))} network: nothing to make "
            "sparse (widen --hidden or lower the budget)"
        )
    return 1.0 - budget / total


def layer_densities(
    sizes: Sequence[int],
    lambda1: float,
    lambda2: float,
    sparsity: float | None = None,
    rule: str = "erk",
) -> list[float | None]:
    """Densities of an MLP with layer sizes ``[n_0, ..., n_L]``; ``None`` marks a dense layer.

    The output layer is dense (as in the paper). The others get the paper's Erdős–Rényi density,
    ``lambda1`` for the first layer and ``lambda2`` for the hidden ones, or, with ``sparsity``,
    densities at that global sparsity over the network's weights (the dense output layer counted
    in): ``rule="erk"`` gives every sparse layer one Erdős–Rényi scale (RigL's ERK), ``"er"``
    keeps the ratio ``lambda1 : lambda2`` and scales both. A layer that comes out at density 1
    is built dense: it has no empty position to regrow into.
    """
    if rule not in DENSITY_RULES:
        raise ValueError(f"unknown density rule {rule!r}; use one of {', '.join(DENSITY_RULES)}")
    shapes = [(n_out, n_in) for n_in, n_out in pairwise(sizes)]
    lambdas = [lambda1] + [lambda2] * (len(shapes) - 2)
    if sparsity is not None:
        ratio = [*lambdas, 1.0] if rule == "er" else None
        try:
            densities = erk_densities(shapes, sparsity, [False] * (len(shapes) - 1) + [True], ratio)
        except ValueError:
            output = shapes[-1][0] * shapes[-1][1]
            left = (1 - sparsity) * dense_weight_count(sizes)
            raise ValueError(
                f"a sparsity of {sparsity:.4f} leaves {left:,.0f} weights for a "
                f"{'-'.join(map(str, sizes))} network, fewer than its dense output layer's "
                f"{output:,}"
            ) from None
    else:
        densities = [
            erdos_renyi_density(n_in, n_out, lam) for (n_out, n_in), lam in zip(shapes, lambdas)
        ]
        densities.append(1.0)
    return [None if density >= 1.0 else density for density in densities]


def random_topology(
    shape: tuple[int, int], density: float, rng: np.random.Generator, method: str = "exact"
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a uniformly random connection pattern; return canonical CSR ``(indptr, indices)``.

    * ``method="exact"``: exactly ``round(density * n_out * n_in)`` positions, sampled without
      replacement (so the count is known up front).
    * ``method="bernoulli"``: every position independently with probability ``density`` (what the
      paper's code does with a dense mask); the count is then held fixed for the run.

    ``shape`` is the weight matrix's ``(n_out, n_in)``. Returns ``indptr`` ``(n_out + 1,)`` and
    ``indices`` ``(nnz,)``, both int32, sorted per row.
    """
    density = check_density(density)
    n_total = shape[0] * shape[1]
    if method == "exact":
        count = round(density * n_total)
        linear = np.sort(rng.choice(n_total, size=count, replace=False))
    elif method == "bernoulli":
        linear = np.flatnonzero(rng.random(n_total) < density)
    else:
        raise ValueError(f"unknown topology draw {method!r}; use 'exact' or 'bernoulli'")
    return csr_from_linear(linear, shape)


def csr_from_linear(linear: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Turn sorted, unique row-major positions ``r * n_in + c`` of a ``(n_out, n_in)`` matrix
    into CSR ``(indptr, indices)``."""
    n_out, n_in = shape
    rows, cols = np.divmod(linear, n_in)
    indptr = np.zeros(n_out + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_out), out=indptr[1:])
    return indptr, cols.astype(np.int32)


def linear_from_csr(indptr: np.ndarray, indices: np.ndarray, n_in: int) -> np.ndarray:
    """The inverse of :func:`csr_from_linear`: sorted int64 positions ``r * n_in + c``."""
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    return rows * n_in + indices


#: Weight initialisation rules (see :func:`init_values`).
INIT_RULES = ("sparse-fan-in", "dense-fan-in")
#: Initial topology draws (see :func:`random_topology`).
DRAWS = ("exact", "bernoulli")


def init_values(
    indptr: np.ndarray, n_in: int, rng: np.random.Generator, dtype, rule: str = "sparse-fan-in"
) -> tuple[np.ndarray, np.ndarray]:
    """Draw weight values ``(nnz,)`` and biases ``(n_out,)`` for a CSR topology.

    Both rules are PyTorch's ``nn.Linear`` default, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and
    differ in what ``fan_in`` means:

    * ``"sparse-fan-in"`` (default): the unit's *actual* number of incoming connections. A unit
      then sums ``fan_in`` terms of the same variance as in a dense layer, so its pre-activation
      has the same scale as in a dense network (Evci et al. 2022, "Gradient flow in sparse neural
      networks"). With ``"dense-fan-in"`` at density 0.1, activations would shrink by ~sqrt(10)
      per layer.
    * ``"dense-fan-in"``: ``fan_in = n_in`` whatever the density; this is what the DS-TD3 code
      gets by masking a dense PyTorch layer.

    At density 1 both rules coincide with the dense layer's init.
    """
    if rule not in INIT_RULES:
        raise ValueError(f"unknown init rule {rule!r}; use one of {', '.join(INIT_RULES)}")
    row_counts = np.diff(indptr)
    if rule == "sparse-fan-in":
        fan_in = np.maximum(row_counts, 1)
    else:
        fan_in = np.full(len(row_counts), n_in)
    bound = 1.0 / np.sqrt(fan_in)
    weights = rng.uniform(-1.0, 1.0, size=int(indptr[-1])) * np.repeat(bound, row_counts)
    biases = rng.uniform(-1.0, 1.0, size=len(row_counts)) * bound
    return weights.astype(dtype), biases.astype(dtype)
