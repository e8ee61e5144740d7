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


TRAIN_AND_LIST_COMPILED = """
import json, sys
from numba.core.registry import CPUDispatcher
from minidst import kernels
import minidst.train
from minidst.cli import main

def compiled():
    return {
        name: sorted(str(signature) for signature in obj.signatures)
        for name, obj in vars(kernels).items()
        if isinstance(obj, CPUDispatcher) and not name.startswith("_")
    }

after_warmup = []
def recording_warmup(**kwargs):
    kernels.warmup(**kwargs)
    after_warmup.append(compiled())
minidst.train.warmup = recording_warmup

small = ["--env", "Pendulum-v1", "--hidden", "32,32", "--sparsity", "0.7", "--steps", "300",
         "--start-steps", "200", "--eval-every", "300", "--eval-episodes", "1",
         "--rewire-every", "50", "--buffer-size", "1000", "--quiet"]
for algo, run_dir in [("ds-td3", sys.argv[1]), ("ds-sac", sys.argv[2])]:
    assert main(["train", "--algo", algo, *small, "--run-dir", run_dir]) == 0
print(json.dumps({"after_warmup": after_warmup[0], "after_training": compiled()}))
"""


def test_training_compiles_only_what_it_calls_and_all_of_it_up_front(tmp_path):
    """A run warms up float32 serial kernels only (float64 and the multi-threaded kernels cost
    a cold start ~1/3 more CPU and training never calls them), and nothing is left to compile
    mid-run: after DS-TD3 and DS-SAC train (updates and rewiring), no kernel holds a signature
    the trainer's warmup did not."""
    runs = [str(tmp_path / "td3"), str(tmp_path / "sac")]
    result = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_LIST_COMPILED, *runs],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    record = json.loads(result.stdout.splitlines()[-1])
    assert record["after_training"] == record["after_warmup"]
    assert {"spmm", "sddmm", "polyak_union", "adam_step", "mlp_forward"} <= set(
        name for name, signatures in record["after_warmup"].items() if signatures
    )
    for name, signatures in record["after_warmup"].items():
        assert "Array(float64" not in " ".join(signatures), f"{name} compiled for float64 arrays"
    assert not record["after_warmup"]["spmm_parallel"] + record["after_warmup"]["sddmm_parallel"]
