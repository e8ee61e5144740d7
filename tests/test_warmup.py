"""``kernels.warmup`` compiles every kernel, for float32 and float64.

Checked in a fresh interpreter: in this one, earlier tests have already compiled most kernels.
Private helpers (``_spmm_row``) are compiled into their callers and not listed. (Not part of the
``NUMBA_DISABLE_JIT=1`` run, where nothing compiles.)
"""

import json
import subprocess
import sys

LIST_COMPILED = """
import json
from numba.core.registry import CPUDispatcher
from minidst import kernels

kernels.warmup()
print(json.dumps({
    name: [str(arg) for signature in obj.signatures for arg in signature]
    for name, obj in vars(kernels).items()
    if isinstance(obj, CPUDispatcher) and not name.startswith("_")
}))
"""


def test_warmup_compiles_every_kernel_for_both_float_types():
    result = subprocess.run(
        [sys.executable, "-c", LIST_COMPILED], capture_output=True, text=True, check=True
    )
    compiled = json.loads(result.stdout.splitlines()[-1])
    assert {"spmm", "sddmm", "polyak_union", "polyak_topk", "relu", "adam_step"} <= set(compiled)
    for name, argument_types in compiled.items():
        types = " ".join(argument_types)
        assert "float32" in types and "float64" in types, f"warmup() does not compile {name}"
