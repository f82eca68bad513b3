"""Shared benchmark helpers: the machine's matmul peak at a dtype, FLOPs per token, tokens fed to a model."""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the project first on ``PYTHONPATH`` (for a benchmark's subprocesses), plus
    ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env | (extra or {})


def matmul_peak_gflops(dtype, device: str = "cpu", n: int = 1024, seconds: float = 2.0) -> float:
    """GFLOP/s of a square ``n x n`` ``torch.matmul`` at ``dtype`` on ``device``, measured now (best of repeats).

    The benchmarks divide their achieved FLOP rate by this, so "share of peak" is relative to what this machine
    delivered in the same run (other load included), not to a datasheet figure.
    """
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.matmul(a, b)
    sync()
    best, t_end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < t_end or best == 0.0:
        t0 = time.perf_counter()
        torch.matmul(a, b)
        sync()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


def matmul_params(model) -> int:
    """Parameters that take part in a matmul per token: all, less an input embedding that is not tied to the head."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    tied = head is not None and head.weight.data_ptr() == emb.data_ptr()
    return int(total if tied else total - emb.numel())


class FedTokens:
    """Counts the input tokens of every forward of ``model`` (``input_ids.numel()``, padding included)."""

    def __init__(self, model):
        self.n = 0

        def hook(module, args, kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is not None:
                self.n += int(ids.numel())

        self.handle = model.register_forward_pre_hook(hook, with_kwargs=True)

    def close(self) -> None:
        self.handle.remove()
