"""Which CPU kernels a stage computes with: ``native`` (the fastest this CPU has) or ``portable`` (meant to give the
same numbers on every x86 CPU with AVX2, Intel or AMD).

fp32 results still depend on the machine: PyTorch's own vectorised kernels (softmax, layer norm, reductions,
random sampling) are compiled for AVX2 and AVX-512 and pick the widest the CPU has, and every fp32 matmul goes to
MKL's SGEMM, whose kernels differ by instruction set *and by vendor* (its reproducibility branches ``AVX2`` and
``AVX512`` hold only on Intel CPUs; on others MKL falls back to its automatic dispatch). The sums then run in other
orders, training's weights drift apart in their last bits, and a sampled token or a trained checkpoint changes
(``docs/records/issue19_isa_check.md``: 211 of the tiny profile's 1,296 result rows).

``portable`` fixes all three libraries that choose kernels by CPU, through the variables they read when they
start (the runner sets them for each stage's kernel, :mod:`trust_utils.kernels`):

* ``ATEN_CPU_CAPABILITY=avx2``: PyTorch's own kernels, at AVX2 on every CPU that has it;
* ``MKL_CBWR=COMPATIBLE``: MKL's conditional-numerical-reproducibility branch that Intel documents as the one
  giving the same results on Intel and non-Intel CPUs (SSE2 code without the vendor-specific approximate
  reciprocals), with its reductions fixed; its matmuls are slower (2.4× on the 2-core AMD EPYC, 2026-12-04);
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (no fp32 path of ours uses it; bf16 would).

Both sides must also run the same number of threads (the profiles pin ``threads: 2``): parallel reductions split
their work by thread. Whether an Intel and an AMD machine then agree bit for bit is what
``benchmarks/isa_equality.py --against`` checks against a run recorded on the other kind (the AMD side is recorded in
``docs/records/``; the Intel side has not run yet). On other architectures (ARM) the variables change nothing. The mode is part of every key that a kernel's numbers go into (:func:`kernel_key`), so a
cached value computed under one mode is never served under the other; ``native`` adds nothing to a key, so runs and
caches from before the modes existed stay valid.
"""

from __future__ import annotations

import os
from typing import Mapping

#: The environment of each mode: variables the libraries read when they load (before the first matmul).
KERNEL_MODES: dict[str, dict[str, str]] = {
    "native": {},
    "portable": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}
DEFAULT_KERNELS = "native"


def check_kernel_mode(mode: str, source: str = "kernels") -> str:
    """``mode`` when it names a mode, else a ``ValueError`` that names ``source`` and the modes."""
    if mode not in KERNEL_MODES:
        raise ValueError(f"{source}: unknown kernel mode {mode!r}; use one of {sorted(KERNEL_MODES)} (native: the "
                         "fastest kernels of this CPU; portable: meant to give the same numbers on every AVX2 CPU, slower)")
    return mode


def kernel_mode_env(mode: str) -> dict[str, str]:
    """The variables a stage's kernel starts with under ``mode``. ``native`` gives none: the runner's own environment
    passes through (``benchmarks/isa_equality.py`` caps a whole run's kernels that way)."""
    return dict(KERNEL_MODES[check_kernel_mode(mode)])


def active_kernel_mode(environ: Mapping[str, str] | None = None) -> str:
    """The mode this process computes in: the mode whose variables ``environ`` (default: this process's) holds,
    all of them with the mode's values; ``native`` otherwise."""
    env = os.environ if environ is None else environ
    for mode, variables in KERNEL_MODES.items():
        if variables and all(env.get(k) == v for k, v in variables.items()):
            return mode
    return DEFAULT_KERNELS


def kernel_key(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a cache key takes from the kernel mode: ``{"kernels": mode}``, or nothing under ``native``."""
    mode = active_kernel_mode(environ)
    return {} if mode == DEFAULT_KERNELS else {"kernels": mode}


__all__ = ["KERNEL_MODES", "DEFAULT_KERNELS", "check_kernel_mode", "kernel_mode_env",
           "active_kernel_mode", "kernel_key"]
