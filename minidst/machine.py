"""What a run or a benchmark ran on: the CPU's model and its widest vector instruction set.

Speed figures, and float rounding in the reassociated kernels, depend on the machine, and results
come from more than one kind (an AVX2 Zen 3 laptop-class core and an AVX-512 Zen 5 server so far),
so every run's ``config.json`` and every benchmark records it.
"""

from __future__ import annotations

import os
import platform


def _cpuinfo() -> dict[str, str]:
    """The first processor's ``/proc/cpuinfo`` fields (empty where there is no such file)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_name() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC 7B13"``."""
    info = _cpuinfo()
    return info.get("model name") or info.get("Model") or platform.processor() or platform.machine()


def vector_isa() -> str:
    """The widest SIMD instruction set the CPU offers: ``"AVX-512"``, ``"AVX2"``, ``"AVX"``,
    ``"SSE4.2"``, ``"NEON"``, ``"SVE"`` or the machine name when none is known."""
    flags = set((_cpuinfo().get("flags") or _cpuinfo().get("Features") or "").split())
    for isa, flag in (
        ("AVX-512", "avx512f"),
        ("AVX2", "avx2"),
        ("AVX", "avx"),
        ("SSE4.2", "sse4_2"),
        ("SVE", "sve"),
        ("NEON", "asimd"),
    ):
        if flag in flags:
            return isa
    if platform.machine() in ("arm64", "aarch64"):
        return "NEON"  # every 64-bit Arm core has it; macOS has no /proc/cpuinfo
    return platform.machine() or "unknown"


def cpu_model_id() -> str:
    """The CPU's family and model numbers (``"25/1"`` is Zen 3), which name the core where a
    virtual machine hides the model name; empty where the system does not say."""
    info = _cpuinfo()
    if "cpu family" in info and "model" in info:
        return f"{info['cpu family']}/{info['model']}"
    return ""


def describe_machine() -> dict[str, object]:
    """``{"cpu", "family_model", "isa", "cores"}``: what ``config.json`` records beside the
    library versions."""
    return {
        "cpu": cpu_name(),
        "family_model": cpu_model_id(),
        "isa": vector_isa(),
        "cores": os.cpu_count(),
    }
