# %% [markdown]
# # Chapter 4: Making it fast
#
# Chapter 2 wrote a sparse layer in NumPy. It is correct, and it does the right *amount* of work,
# `nnz * batch` multiply-adds per product, but it does that work slowly: a Python loop over rows
# costs microseconds per iteration, and NumPy's fancy indexing copies every gathered row. A dense
# `W @ X`, meanwhile, calls a BLAS library that has been tuned for decades. If the sparse layer is
# slower than the dense one it replaces, the FLOPs saved in chapter 1 are only a number in a table.
#
# This chapter follows the route that minidst's kernels took, in the order that keeps you honest:
#
# 1. start from a slow, obvious **reference** in NumPy;
# 2. write compiled **Numba** kernels as plain loops;
# 3. **check** them against the reference and the dense product *before* timing anything;
# 4. **time** them against dense BLAS and explain what made the difference.
#
# All timings below are from your machine and will differ from anyone else's. The reasoning does
# not.

# %% [markdown]
# First, a fair fight. minidst's kernels run on one core by default, so we ask BLAS to use one
# thread too. The setting must be made before NumPy is imported (in a notebook: restart the kernel
# first), which is why this cell comes before the imports.
#
# Fair also means dense at its best. Some machines set `OPENBLAS_CORETYPE` (and
# `OPENBLAS_L2_SIZE`), which pins OpenBLAS to an older kernel, e.g. AVX2 on an AVX-512 CPU (on
# the AVX-512 AMD EPYC of the README's Speed tables, dense products then ran about half as fast),
# and every sparse/dense ratio below would flatter the sparse side. Start the chapter without
# them (`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python chapters/04_making_it_fast.py`); the
# cell warns if they are set.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
if os.environ.get("OPENBLAS_CORETYPE"):
    print(
        f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} pins BLAS to an older kernel: "
        "dense runs below its best here, so sparse looks better than it is"
    )

# %%
import inspect
import itertools
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from numba import njit

from minidst import SparseLinear, kernels
from minidst.machine import cpu_model_id, cpu_name, vector_isa
from minidst.plot import finish_figure

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
HERE = f"{cpu_name()}, {vector_isa()}"  # the CPU that every "measured here" line names
if cpu_model_id():
    HERE += f", family/model {cpu_model_id()}"

# %% [markdown]
# ## Compile time comes first
#
# Numba compiles a function to machine code the first time it is called with a given combination
# of argument types (float32 and float64 are separate compilations). minidst's kernels are
# declared with `cache=True`, so the machine code is also written to disk next to the source and
# later runs load it instead of compiling again. `kernels.warmup()` calls every kernel once for
# both float types, so that compile (or load) time is paid here and not inside our first
# measurement. On a fresh checkout it compiles everything. How long that takes depends on the CPU:
# 34 CPU-seconds on a 2-core AMD EPYC Zen 4 (AVX-512), 60 on an AVX2 Zen 3 core; the kernel
# that updates a whole target network in one call (`soft_update_network`), added later, costs
# about 8% more (48.4 against 44.6 CPU-seconds, the two measured one after the other on that
# Zen 4 while training runs shared its cores). Once cached, it loaded in 1.1 CPU-seconds on that
# Zen 4 and 1.7 on the Zen 3. The cell prints what it took on yours, and which CPU that is.

# %%
start, start_cpu = time.perf_counter(), time.process_time()
kernels.warmup()
print(
    f"measured here ({HERE}):\n  kernels.warmup() {time.perf_counter() - start:.2f} s, "
    f"{time.process_time() - start_cpu:.2f} CPU-seconds (a compile, or a load from the cache)"
)
print(
    "reference: a cold compile took 34 CPU-seconds on a 2-core AMD EPYC Zen 4 (AVX-512)\n"
    "  and 60 on an AVX2 Zen 3 core (about 8% more since soft_update_network);\n"
    "  a load from the cache 1.1 and 1.7"
)

# %% [markdown]
# ## The references
#
# Each kernel in `minidst/kernels.py` sits beside a plain-NumPy twin, the code of chapter 2:

# %%
print(inspect.getsource(kernels.spmm_reference))
print(inspect.getsource(kernels.sddmm_reference))

# %% [markdown]
# ## A first compiled version: plain loops
#
# Numba compiles a subset of Python working on NumPy arrays. Loops that would crawl in Python run
# at the speed of C, so the kernels can be written as the loop nests they are. Here is the most
# direct version of both products, one stored weight at a time, with no tricks. Remember the layout
# from chapter 2: activations are feature-major, so `X[indices[k]]` and `out[r]` are contiguous
# rows of length `batch`, and the innermost loop walks them with unit stride.


# %%
@njit
def spmm_simple(indptr, indices, data, X, out):
    """out = W @ X, one stored weight per pass over the output row."""
    batch = X.shape[1]
    for r in range(out.shape[0]):
        z = out[r]
        z[:] = 0
        for k in range(indptr[r], indptr[r + 1]):
            a = data[k]
            x = X[indices[k]]
            for j in range(batch):
                z[j] += a * x[j]


@njit
def sddmm_simple(indptr, indices, dZ, X, out):
    """out[k] = dZ[row_k] . X[indices[k]], each dot product summed strictly left to right."""
    batch = X.shape[1]
    for r in range(dZ.shape[0]):
        dz = dZ[r]
        for k in range(indptr[r], indptr[r + 1]):
            x = X[indices[k]]
            s = dz.dtype.type(0)
            for j in range(batch):
                s += dz[j] * x[j]
            out[k] = s


# %% [markdown]
# ## Check before you time
#
# A fast wrong kernel is worse than a slow right one, so every kernel is compared with the
# reference and with the dense product first. We use a random 256 x 256 layer topology (drawn by a
# `SparseLinear`) in float32, the dtype used for training. The compiled kernels add the same
# products in a different order than NumPy does, so we compare with a float32 tolerance, not `==`.
# The first call of each `spmm_simple`/`sddmm_simple` also compiles it; we time that call to see
# what compilation costs.

# %%
n, batch = (128, 64) if QUICK else (256, 256)
layer = SparseLinear(n, n, density=0.1, rng=rng)
W = layer.weight
indptr, indices, data = W.indptr, W.indices, W.data
X = rng.standard_normal((n, batch)).astype(np.float32)
dZ = rng.standard_normal((n, batch)).astype(np.float32)

expected_out = kernels.spmm_reference(indptr, indices, data, X)
expected_grad = kernels.sddmm_reference(indptr, indices, dZ, X)
rows = np.repeat(np.arange(n), np.diff(indptr))
dense_out = W.toarray() @ X
dense_grad = (dZ @ X.T)[rows, indices]

out = np.empty((n, batch), dtype=np.float32)
grad = np.empty(W.nnz, dtype=np.float32)
start = time.perf_counter()
spmm_simple(indptr, indices, data, X, out)
sddmm_simple(indptr, indices, dZ, X, grad)
print(f"first call of the two simple kernels (compiles them): {time.perf_counter() - start:.2f} s")


def check(name, got, expected, dense):
    tol = dict(rtol=1e-4, atol=1e-4)
    assert np.allclose(got, expected, **tol) and np.allclose(got, dense, **tol), name
    print(
        f"{name:14s} max |difference| vs reference {np.abs(got - expected).max():.1e}, "
        f"vs dense {np.abs(got - dense).max():.1e}"
    )


check("spmm_simple", out, expected_out, dense_out)
check("sddmm_simple", grad, expected_grad, dense_grad)
kernels.spmm(indptr, indices, data, X, out)
check("kernels.spmm", out, expected_out, dense_out)
kernels.sddmm(indptr, indices, dZ, X, grad)
check("kernels.sddmm", grad, expected_grad, dense_grad)

# %% [markdown]
# ## Timing, done carefully
#
# Three rules for timing small kernels:
#
# * use `time.perf_counter()`, the highest-resolution clock Python offers;
# * call the function once before timing, so compilation and cold caches are not measured;
# * repeat, and keep the **best** time. Noise (other programs, interrupts, frequency changes)
#   only ever makes a run slower, so the minimum is the most repeatable estimate of what the code
#   itself costs.
#
# We report time and **GFLOP/s**, counting only the useful FLOPs of chapter 1: `2 * nnz * batch`
# for a sparse product, `2 * n * n * batch` for a dense one.

# %%
repeats = 3 if QUICK else 25


def best_time(fn, repeats=repeats):
    fn()  # warm up: compile, fill caches
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# %% [markdown]
# A first look at one density, 10%: the NumPy reference, the simple Numba loops, and dense BLAS.

# %%
W_dense = W.toarray()
flops_sparse = 2 * W.nnz * batch
flops_dense = 2 * n * n * batch
first_look = {
    "NumPy reference": (lambda: kernels.spmm_reference(indptr, indices, data, X), flops_sparse),
    "spmm_simple": (lambda: spmm_simple(indptr, indices, data, X, out), flops_sparse),
    "kernels.spmm": (lambda: kernels.spmm(indptr, indices, data, X, out), flops_sparse),
    "dense BLAS W @ X": (lambda: W_dense @ X, flops_dense),
}
print(f"{n} x {n} layer, density {W.nnz / n**2:.3f}, batch {batch}, float32, one thread")
first_rate = {}
for name, (fn, flops) in first_look.items():
    seconds = best_time(fn)
    first_rate[name] = flops / seconds / 1e9
    print(f"  {name:24s} {seconds * 1e3:8.3f} ms  {first_rate[name]:6.1f} GFLOP/s")
print(
    f"measured here ({HERE}), {n} x {n}, batch {batch}:\n"
    f"  kernels.spmm {first_rate['kernels.spmm']:.1f} GFLOP/s against "
    f"{first_rate['spmm_simple']:.1f} for spmm_simple, a factor of "
    f"{first_rate['kernels.spmm'] / first_rate['spmm_simple']:.2f}"
)
print(
    "reference (256 x 256, batch 256, the full-mode sizes): about 49 against 27 GFLOP/s\n"
    "  on the AVX-512 AMD EPYC of the README's Speed tables"
)

# %% [markdown]
# Compiling the loops is worth a large factor over the NumPy reference. The Python loop over rows
# is gone, and so are the temporary arrays that `X[indices[start:end]]` created. minidst's own
# kernel goes further than `spmm_simple`. Here is its loop nest (from `kernels._spmm_row`):
#
# ```
# out[r, :] = 0
# for k in indptr[r] .. indptr[r+1], 8 at a time:
#     out[r, :] += data[k] * X[indices[k], :] + ... + data[k+7] * X[indices[k+7], :]
# then 4 at a time, then 1 at a time for what is left
# ```
#
# `spmm_simple` reads and writes the whole output row `out[r]` once for *every* stored weight: each
# multiply-add comes with a load and a store of `z[j]`. Handling 8 stored weights per pass loads
# and stores the row once per 8 multiply-adds, and the 8 independent input rows keep the CPU's
# vector units busy. What that is worth depends on the CPU and on the sizes: the line under the
# table prints the factor between the two rates on yours, beside the one measured at full-mode
# sizes on the AVX-512 AMD EPYC of the README's Speed tables (about 49 GFLOP/s against 27). At
# quick mode's small sizes the two can come out close, either way round.
#
# The second ingredient is a compiler flag. Both minidst kernels are compiled with
# `fastmath={"reassoc", "contract"}`:
#
# * `contract` lets the compiler fuse a multiply and an add into one *fused multiply-add*
#   instruction (one rounding instead of two);
# * `reassoc` lets it reorder a sum. This matters enormously for the weight gradient. A dot
#   product `s += dz[j] * x[j]` summed strictly left to right is a chain: each addition waits for
#   the previous one, so it cannot use the vector lanes. Allowed to reassociate, the compiler
#   keeps, say, 16 partial sums in a vector register and adds them up at the end.
#   `sddmm_simple` above was compiled without the flag; the next measurement shows its price on
#   your CPU.
#
# Reassociation changes the *rounding* of a sum, not its value in exact arithmetic. The order is
# fixed when the kernel is compiled, so results are still identical from run to run: they differ
# from the strict left-to-right reference only by rounding, which is why every comparison in this
# course uses a tolerance.

# %% [markdown]
# ### Why never `fastmath=True`
#
# `fastmath=True` switches on *all* of LLVM's fast-math flags, including `nnan` and `ninf`: "assume
# no value is ever NaN or infinite". The compiler may then delete every NaN check as dead code. A
# training run that diverges produces NaNs, and that is exactly when you need the checks. A small
# demonstration: a sum that skips NaN entries, compiled three ways.


# %%
def sum_skipping_nan(values):
    total = 0.0
    for v in values:
        if not math.isnan(v):
            total += v
    return total


values = np.array([1.0, np.nan, 2.0])
print("plain njit:                         ", njit(sum_skipping_nan)(values))
print(
    "fastmath={'reassoc', 'contract'}:   ",
    njit(fastmath={"reassoc", "contract"})(sum_skipping_nan)(values),
)
print("fastmath=True:                      ", njit(fastmath=True)(sum_skipping_nan)(values))

# %% [markdown]
# With `fastmath=True` the `isnan` test was compiled away and the NaN leaked into the sum.
# `minidst.kernels.FASTMATH` holds the only flags the library allows:

# %%
print("kernels.FASTMATH =", sorted(kernels.FASTMATH))

# %% [markdown]
# ## Sparse kernels against dense BLAS, across densities
#
# Now the real question: at which densities is a sparse layer faster than a dense one? For every
# density we draw a topology and time four products: the forward `W @ X` with `kernels.spmm`, the
# weight gradient with `kernels.sddmm` and with the strict-order `sddmm_simple`, and, for
# comparison, the dense `W @ X` that BLAS computes in the same time whatever the density.


# %%
def time_kernels(Wd):
    """Best times of kernels.spmm, kernels.sddmm and sddmm_simple for the CSR matrix Wd."""
    ip, ix, dt = Wd.indptr, Wd.indices, Wd.data
    g = np.empty(Wd.nnz, dtype=np.float32)
    return [
        best_time(lambda: kernels.spmm(ip, ix, dt, X, out)),
        best_time(lambda: kernels.sddmm(ip, ix, dZ, X, g)),
        best_time(lambda: sddmm_simple(ip, ix, dZ, X, g)),
    ]


densities = [0.05, 0.5] if QUICK else [0.02, 0.05, 0.1, 0.156, 0.25, 0.5, 0.75, 1.0]
t_dense = best_time(lambda: W_dense @ X)
results = {"kernels.spmm": [], "kernels.sddmm": [], "sddmm_simple (strict order)": []}
measured_densities = []  # nnz / n**2 of each drawn topology
print(
    f"{n} x {n}, batch {batch}: dense BLAS W @ X takes {t_dense * 1e3:.3f} ms "
    f"({flops_dense / t_dense / 1e9:.1f} GFLOP/s)\n"
)
print(
    f"{'density':>8s} {'nnz':>7s} | {'spmm ms':>8s} {'GF/s':>6s} | {'sddmm ms':>9s} {'GF/s':>6s}"
    f" | {'strict ms':>9s} {'GF/s':>6s} | {'spmm/dense':>10s}"
)
for density in densities:
    Wd = SparseLinear(n, n, density, rng).weight
    times = time_kernels(Wd)
    flops = 2 * Wd.nnz * batch
    for key, seconds in zip(results, times):
        results[key].append(seconds)
    measured_densities.append(Wd.nnz / n**2)
    print(
        f"{density:8.3f} {Wd.nnz:7d} | {times[0] * 1e3:8.3f} {flops / times[0] / 1e9:6.1f} | "
        f"{times[1] * 1e3:9.3f} {flops / times[1] / 1e9:6.1f} | "
        f"{times[2] * 1e3:9.3f} {flops / times[2] / 1e9:6.1f} | {times[0] / t_dense:10.2f}"
    )

# %% [markdown]
# The cell below condenses the table into one line for your CPU and prints the same figures for
# three reference CPUs. The break-even density is read off the last column: where the measured
# `spmm/dense` time ratio crosses 1, interpolated linearly between the two densities around it
# (sparse time grows linearly with the density, dense time is constant).


# %%
def crossing_density(densities, ratios):
    """The density where the sparse/dense time ratio crosses 1, interpolated linearly between
    the measured densities; None if it stays on one side of 1 at every density measured."""
    for (d0, r0), (d1, r1) in itertools.pairwise(zip(densities, ratios)):
        if r0 == 1:
            return d0
        if (r0 - 1) * (r1 - 1) < 0:
            return d0 + (1 - r0) * (d1 - d0) / (r1 - r0)
    return densities[-1] if ratios[-1] == 1 else None


rate_dense = flops_dense / t_dense / 1e9
rates = {
    key: 2 * np.array(measured_densities) * n * n * batch / np.array(seconds) / 1e9
    for key, seconds in results.items()
}
sparse_rates = np.concatenate([rates["kernels.spmm"], rates["kernels.sddmm"]])
rate_ratio = rate_dense / rates["kernels.spmm"]
time_ratio = np.array(results["kernels.spmm"]) / t_dense
crossing = crossing_density(measured_densities, time_ratio)
if crossing is not None:
    verdict = f"sparse faster than dense below density {crossing:.2f}"
elif time_ratio[0] < 1:
    verdict = "not crossed in the densities measured (sparse faster at every one)"
else:
    verdict = "not crossed in the densities measured (sparse slower at every one)"
strict_factor = rates["kernels.sddmm"] / rates["sddmm_simple (strict order)"]
print(
    f"measured here ({HERE}), {n} x {n}, batch {batch}:\n"
    f"  dense {rate_dense:.0f} GFLOP/s, sparse kernels {sparse_rates.min():.0f}-"
    f"{sparse_rates.max():.0f} GFLOP/s, rate ratio (dense / kernels.spmm) "
    f"{rate_ratio.min():.1f}-{rate_ratio.max():.1f}\n  {verdict}\n"
    f"  kernels.sddmm at {strict_factor.min():.1f}-{strict_factor.max():.1f} times the strict "
    "order's rate"
)
print(
    "reference, one thread, float32:\n"
    "  AVX-512 AMD EPYC of the README's Speed tables (OpenBLAS SkylakeX kernel): dense 194-230 "
    "GFLOP/s,\n    sparse kernels 35-57, sparse faster below density about 0.2; kernels.sddmm "
    "about 50 GFLOP/s\n    against 5.5 for the strict order (256 x 256, batch 256)\n"
    "  2-core AMD EPYC Zen 4 (AVX-512, family/model 25/17): dense 89-103, kernels.spmm 21-31 "
    "at batch 100\n    and 31-46 at batch 256, sparse faster below density about 0.3-0.4\n"
    "  AVX2 Zen 3 core: dense 66-92, kernels.spmm 17-25, sparse faster below density about 0.3-0.4"
)

# %%
fig, (ax_time, ax_rate) = plt.subplots(1, 2, figsize=(11, 4.2))
for (name, seconds), marker in zip(results.items(), "osv"):
    seconds = np.array(seconds)
    flops = 2 * np.round(np.array(densities) * n * n) * batch
    ax_time.plot(densities, seconds * 1e3, marker + "-", label=name)
    ax_rate.plot(densities, flops / seconds / 1e9, marker + "-", label=name)
ax_time.axhline(t_dense * 1e3, color="k", linestyle="--", label="dense BLAS W @ X")
ax_rate.axhline(flops_dense / t_dense / 1e9, color="k", linestyle="--", label="dense BLAS W @ X")
ax_time.set_xlabel("density")
ax_time.set_ylabel(f"time per product (ms, best of {repeats})")
ax_time.set_yscale("log")
ax_time.set_title("Time: below the dashed line, sparse wins")
ax_rate.set_xlabel("density")
ax_rate.set_ylabel("useful GFLOP/s (2 nnz batch / time)")
ax_rate.set_title("Throughput")
ax_time.legend(fontsize=8, loc="lower right")
fig.suptitle(f"{n} x {n} layer, batch {batch}, float32, one thread")
fig.tight_layout()
path = OUT / "04_kernel_timing.png"
finish_figure(fig, path)
print("saved", path)

# %% [markdown]
# How to read the two panels:
#
# * **Throughput.** The sparse kernels' work is proportional to `nnz`, so their time is too, and
#   their rate stays roughly level across the densities (it can sag at the sparsest, where each
#   row holds too few weights to fill the 8-wide passes). Dense BLAS runs at a higher rate,
#   because it can reuse every value it loads many times from registers and cache, while a sparse
#   kernel must follow `indices` to scattered rows and load a row of `X` for every multiply-add.
#   How much higher is the ratio of the two rates, which the "measured here" line prints for your
#   CPU. It is a property of the CPU and its BLAS, not of sparsity; the reference lines under it
#   give the rates measured on three CPUs.
# * **Time.** Sparse time falls in proportion to the density; dense time does not move. The FLOP
#   count promises sparse time = density x dense time; the measured sparse time is that promise
#   times the ratio of the two rates, about the same factor at every density. So the gap to the
#   FLOP count does not close at high sparsity: sparse wins once the FLOP saving, `1 / density`,
#   exceeds that factor, that is below the density where the last column crosses 1. The
#   "measured here" line prints that density for your CPU: about 0.2 on the AVX-512 EPYC of the
#   README's Speed tables, 0.3-0.4 on the 2-core Zen 4 and on the AVX2 Zen 3. On all three the
#   paper's hidden-layer density of 0.5 is above it (sparse slower than dense) and 0.1 below it.
# * **The strict-order SDDMM** is the cost of forbidding reassociation: the same arithmetic at a
#   fraction of `kernels.sddmm`'s rate. The "measured here" line prints the factor on your CPU;
#   on the AVX-512 EPYC of the README's Speed tables it was about ten (5.5 against 50 GFLOP/s).
#
# Where does the sparse rate go? Not where you would guess first. On the 2-core Zen 4, a batch of
# 96 (no leftover lanes) ran as slowly as 100, and an `X` small enough to stay in the L1 cache
# ran no faster than a large one. What costs is each 8-weight pass *before* its first
# multiply-add. Numba cannot tell LLVM that `out` and `X` are different arrays (C's `restrict`),
# so before every vector loop LLVM checks at run time that the output row overlaps none of the
# 8 input rows it just looked up: 16 comparisons, a few spilled registers, and at batch 100 about
# as much time as the arithmetic. The same loop over 8 *fixed* rows ran at 52 GFLOP/s there, and
# at 30 once the rows came from `indices`; compiled with Numba's internal `noalias` flag, which
# drops the checks, `spmm` ran 20-40% faster at width 256. Numba has no public option for it
# (numba/numba#9108 proposed one), so minidst does not use it. The `kernels.py` docstring lists
# this and every other layout that was measured and not kept.

# %% [markdown]
# ## Threads: the parallel variants are bitwise identical
#
# Each kernel has a `*_parallel` twin that splits the rows over Numba's threads with `prange`. Every
# output element is computed by exactly one thread, running the same per-row code as the serial
# kernel, so the results are not just close but *bitwise* identical, for any number of threads. (A
# parallel *reduction*, where threads add into a shared sum, would not be: the order of the
# additions would depend on scheduling.)

# %%
out_serial, out_parallel = np.empty_like(out), np.empty_like(out)
kernels.spmm(indptr, indices, data, X, out_serial)
kernels.spmm_parallel(indptr, indices, data, X, out_parallel)
grad_serial, grad_parallel = np.empty_like(grad), np.empty_like(grad)
kernels.sddmm(indptr, indices, dZ, X, grad_serial)
kernels.sddmm_parallel(indptr, indices, dZ, X, grad_parallel)
print("spmm  serial == parallel, bit for bit:", np.array_equal(out_serial, out_parallel))
print("sddmm serial == parallel, bit for bit:", np.array_equal(grad_serial, grad_parallel))
assert np.array_equal(out_serial, out_parallel) and np.array_equal(grad_serial, grad_parallel)

t_serial = best_time(lambda: kernels.spmm(indptr, indices, data, X, out))
t_parallel = best_time(lambda: kernels.spmm_parallel(indptr, indices, data, X, out))
print(f"spmm at density 0.1: serial {t_serial * 1e3:.3f} ms, parallel {t_parallel * 1e3:.3f} ms")
print(
    f"measured here ({HERE}, {os.cpu_count()} cores), {n} wide:\n"
    f"  parallel / serial time {t_parallel / t_serial:.2f}\n"
    "reference (2-core AVX-512 AMD EPYC of the README's Speed tables, 256 wide): about 0.5\n"
    "  with both cores idle, 4 to 60 while another program ran"
)

# %% [markdown]
# Whether threads help depends on the machine, on what else it is doing, and on the layer width.
# A 256-wide product takes well under a millisecond, so the fixed cost of waking threads and
# handing them rows is a large share of it. Worse, a parallel kernel is only as fast as its slowest
# thread: if another program is busy on one of the cores, a thread may wait for a whole scheduler
# time slice, milliseconds, before it runs at all. On the 2-core AVX-512 AMD EPYC of the README's
# Speed tables the parallel forward kernel at 256 wide was about 2x faster than the serial one when
# both cores were idle, and anywhere from 4x to 60x *slower* while another program was running;
# multithreaded BLAS behaved the same way. The line above prints the ratio on yours. That is why
# serial is minidst's default and threads are an opt-in (`SparseLinear(..., parallel=True)`) for
# wide layers on machines with idle cores.

# %% [markdown]
# ## A whole network in one call
#
# Fast kernels are not the whole story of a fast training step. A network's forward pass through
# `MLP.forward` makes one Python call per layer, and each checks its input, allocates its output,
# runs a kernel, adds the bias and applies the activation: a few microseconds of Python per layer,
# about 30 layer passes per TD3 iteration. At 90% sparsity a 256-wide layer's product takes only
# tens of microseconds (the sweep above timed it on your CPU), so that overhead can be a visible
# share of the step.
#
# `minidst.compiled.CompiledMLP` is the same network run by one call of `kernels.mlp_forward`
# (and `kernels.mlp_backward`): a loop over the layers *inside* compiled code, over the layers'
# own arrays (nothing is copied; a `PackedMLP` only groups references to them, and is rebuilt when
# a layer's `topology_version` says its connections moved), into buffers allocated once per batch
# size. It is a **twin** of the readable `MLP`, not a replacement, and the discipline is the one
# this chapter started with: check it against the reference before timing it.

# %%
import copy  # noqa: E402

from minidst import MLP  # noqa: E402
from minidst.compiled import CompiledMLP  # noqa: E402

net = MLP.build([17, 256, 256, 6], [0.448, 0.056, None], rng, output_activation="tanh")
readable = copy.deepcopy(net)  # the reference, with its own gradient arrays
compiled = CompiledMLP(net)
X_in = rng.standard_normal((17, 100)).astype(np.float32)
dY = rng.standard_normal((6, 100)).astype(np.float32)

np.testing.assert_allclose(compiled.forward(X_in), readable.forward(X_in), rtol=1e-5, atol=1e-6)
compiled.backward(dY)
readable.backward(dY)
for ours, theirs in zip(net.gradients(), readable.gradients()):
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
print("compiled forward and backward == MLP.forward and MLP.backward (to float32 rounding)")

t_readable = best_time(lambda: (readable.forward(X_in), readable.backward(dY)))
t_compiled = best_time(lambda: (compiled.forward(X_in), compiled.backward(dY)))
print(
    f"forward + backward, 17-256-256-6 at 90% sparsity (ERK), batch 100: readable "
    f"{t_readable * 1e6:.0f} us, compiled {t_compiled * 1e6:.0f} us"
)

# %% [markdown]
# Whatever the difference on your CPU, it is the Python around the kernels: the arithmetic itself
# is the same, so the gap is a few microseconds per layer pass, whatever the kernels' speed. The
# agents get the same treatment in `minidst/compiled.py`: `CompiledTD3` and `CompiledSAC`
# subclass the readable agents and replace only `update`, mirroring it line for line with
# compiled network passes (rewiring iterations still run the readable code). A test
# (`tests/test_compiled.py`) runs both side by side through several rewirings and checks every
# metric and parameter. `minidst train --update-engine reference` trains with the readable path,
# `--update-engine compiled` (the default) with the twin; the numbers agree to float rounding.

# %% [markdown]
# ## Summary
#
# * Write the slow obvious reference first; check every fast kernel against it and against the
#   dense product before timing it, with a float tolerance.
# * Time with `time.perf_counter`, after a warm-up call, and keep the best of several repeats. Pay
#   Numba's compile time up front (`kernels.warmup()`; `cache=True` stores machine code on disk).
# * Feature-major activations make every stored weight touch contiguous rows of length `batch`, so
#   the innermost loop vectorises.
# * Handling 8 stored weights per pass over the output row cuts loads and stores of the output
#   eightfold. `fastmath={"reassoc", "contract"}` allows fused multiply-adds and vectorised dot
#   products; without `reassoc` the weight gradient runs far slower (about ten times on the
#   AVX-512 EPYC of the README's Speed tables; the sweep prints the factor on yours).
# * Never `fastmath=True`: its `nnan`/`ninf` flags delete NaN checks.
# * Sparse kernels run at a roughly level rate, below dense BLAS's on every reference CPU; their
#   time falls with the density. Sparse time = density x dense time x the ratio of the two
#   rates, so sparse is faster below the density `1 / ratio`. The "measured here" line prints
#   both for your CPU: about 0.2 on the AVX-512 EPYC of the README's Speed tables, 0.3-0.4 on a
#   2-core Zen 4 and on an AVX2 Zen 3.
# * The parallel variants are bitwise identical to the serial ones; they can pay off only for wide
#   layers on idle cores. Timings differ from machine to machine: measure on yours.

# %% [markdown]
# ## Exercises
#
# 1. Write `spmm_batch_major(indptr, indices, data, X, out)`, the forward kernel for activations
#    of shape `(batch, features)`: it fills `out` of shape `(batch, n_out)` in place, reading
#    `X[:, indices[k]]` instead of `X[indices[k]]`. Check it, and time it against `kernels.spmm`.
#    How large is the factor on your machine?
# 2. Modify `spmm_simple` to handle 2 and then 4 stored weights per pass. Plot GFLOP/s against the
#    number of weights per pass. Where does it stop helping, and why might it?
# 3. Compile `sddmm_simple` with `fastmath={"reassoc"}` only, then `{"contract"}` only. Which flag
#    (one of the two) brings the speed back? Compare the results with the strict version: how many
#    bits of the float32 mantissa differ, typically?
# 4. Repeat the density sweep for a 1024 x 1024 layer, and for batch 100 instead of 256 (the paper's
#    TD3 batch). How do the crossing density and the kernels' GFLOP/s change? Then time
#    `kernels.spmm_parallel` against `kernels.spmm` at 1024 wide.
# 5. Time a whole training step of one layer, `layer.forward(X)` then `layer.backward(dZ)`, for a
#    `SparseLinear` at the paper's densities (0.439 and 0.332 for the first layers of actor and
#    critics, 0.5 for the hidden layers; chapter 1) and for a `DenseLinear`. Is the ratio
#    what the three products measured above predict?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(4)
# For example: exercises.chapter4_exercise1(spmm_batch_major)
