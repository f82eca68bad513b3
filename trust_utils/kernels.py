"""The environment a stage's kernel starts with (each stage's notebook runs in a fresh kernel process)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from .kernel_modes import DEFAULT_KERNELS, kernel_mode_env
from .manifest import RUN_ID_ENV

#: glibc's allocator settings for a stage's kernel (each kernel is a fresh process, which reads them at start): keep
#: freed memory instead of handing it back to the system, and serve blocks up to 32 MiB from it. By default every
#: large tensor (a layer's activations, a batch's logits) is a fresh mapping whose pages fault in, zero-filled, on
#: first touch: on the 2-core Xeon that was 9% of the privacy stage's scoring and generation (96.0 s against 87.1 s for
#: its 180 prompts; the same values). A variable the user has set is kept; other allocators ignore them.
KERNEL_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(16 << 30),
                        "MALLOC_TOP_PAD_": str(256 << 20)}


def kernel_env(run_id: str, kernels: str = DEFAULT_KERNELS) -> dict[str, str]:
    """The environment variables a stage's kernel starts with besides the runner's own: the run's id
    (:func:`~trust_utils.manifest.write_stage_outputs` records it), :data:`KERNEL_ALLOCATOR_ENV` where unset, and
    the variables of the profile's kernel mode ``kernels`` (:mod:`trust_utils.kernel_modes`; they override the
    shell's, since the mode is what the run's keys and manifests record)."""
    return {RUN_ID_ENV: run_id, **{k: v for k, v in KERNEL_ALLOCATOR_ENV.items() if k not in os.environ},
            **kernel_mode_env(kernels)}


@contextmanager
def kernel_environment(run_id: str, kernels: str = DEFAULT_KERNELS) -> Iterator[None]:
    """Within it, the runner's environment holds :func:`kernel_env` (a kernel started then inherits it); the
    previous values are put back after."""
    env = kernel_env(run_id, kernels)
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


__all__ = ["KERNEL_ALLOCATOR_ENV", "kernel_env", "kernel_environment"]
