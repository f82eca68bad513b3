"""Small shared helpers: hashing, atomic writes, JSON lines, seeding, threads and device choice."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

log = logging.getLogger(__name__)


def stable_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variation, for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_obj(obj: Any, length: int = 16) -> str:
    """Hex digest of any JSON-serialisable object (sorted keys), truncated to ``length``."""
    return hashlib.sha256(stable_json(obj).encode("utf-8")).hexdigest()[:length]


def hash_file(path: str | os.PathLike, length: int = 16, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, truncated to ``length``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()[:length]


def hash_path(path: str | os.PathLike, length: int = 16,
              skip: Callable[[Path], bool] | None = None) -> str:
    """Content hash of a file or of every file under a directory (relative names included); ``skip(relative path)``
    leaves a directory's file out (markers others leave in it)."""
    p = Path(path)
    if p.is_file():
        return hash_file(p, length)
    if not p.is_dir():
        raise FileNotFoundError(f"cannot hash {p}: no such file or directory")
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file() and not (skip and skip(q.relative_to(p)))):
        h.update(str(f.relative_to(p)).encode())
        h.update(hash_file(f, 64).encode())
    return h.hexdigest()[:length]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class DataFileError(ValueError):
    """A data or record file cannot be read (truncated, not JSON, ...); the message names it and what to do."""


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and rename, so a reader never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports and manifests are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Atomically write ``obj`` as pretty JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a broken one (or one that is not UTF-8) raises :class:`DataFileError` naming the file, the
    position and what to do."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except UnicodeDecodeError:
        raise not_utf8_error(path) from None
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); the "
                            f"file is truncated or was edited by hand: restore it from its source (or delete it "
                            f"if it is a run output, and rerun the stage that writes it)") from None


def _open_text(path: Path, mode: str, newline: str | None = None):
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8", newline=newline)
    return open(path, mode, encoding="utf-8", newline=newline)


def not_utf8_error(path: str | os.PathLike) -> DataFileError:
    """The :class:`DataFileError` for a file with bytes that are not UTF-8, naming the first such line and column.

    A text stream decodes in blocks, so the line it fails in is not known from the exception; the file is read again
    as bytes, line by line (a newline byte never occurs inside a UTF-8 sequence), to find it.
    """
    path = Path(path)
    where = "somewhere"
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    where = f"line {n}, column {exc.start + 1} (byte 0x{raw[exc.start]:02x})"
                    break
    except (OSError, EOFError):  # the reason of the original error is enough
        pass
    return DataFileError(f"{path}: {where} is not UTF-8; the file is in another encoding (Latin-1, Windows-1252?) or "
                         f"is not the expected file: re-encode it as UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8 "
                         f"{path.name} > fixed && mv fixed {path.name}) or replace it with the original download")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Atomically write rows as JSON lines (gzip if the name ends in .gz)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with _open_text(tmp, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def iter_text_lines(path: str | os.PathLike, newline: str | None = None) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a text file (gzip when it ends in .gz): the one reader of every data loader.

    Clear errors (:class:`DataFileError`, naming the file and what to do) for a truncated or corrupt gzip file and for
    bytes that are not UTF-8 (:func:`not_utf8_error` names the line). ``newline=""`` keeps line endings as they are
    (what :mod:`csv` wants, so a quoted field's ``\r\n`` survives); the default translates them to ``\n``.
    """
    path = Path(path)
    n = 0
    try:
        with _open_text(path, "r", newline) as fh:
            for n, line in enumerate(fh, 1):
                yield n, line
    except EOFError:
        raise DataFileError(f"{path} is truncated: the gzip stream ends after line {n} (an interrupted download or "
                            f"copy?); download or copy the file again") from None
    except UnicodeDecodeError:
        raise not_utf8_error(path) from None
    except (OSError, gzip.BadGzipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataFileError(f"{path} cannot be read after line {n}: {exc}; the file is damaged, replace it with a "
                            f"fresh copy") from None


def text_lines(path: str | os.PathLike, newline: str | None = None) -> Iterator[str]:
    """The lines of :func:`iter_text_lines` without their numbers (for ``csv.reader`` and line parsers)."""
    for _, line in iter_text_lines(path, newline):
        yield line


def read_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield JSON objects from a JSON-lines file (optionally .gz); a bad line or a truncated file raises
    :class:`DataFileError` naming the file and line."""
    for n, line in iter_text_lines(path):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{path}, line {n}: not valid JSON ({exc.msg}); the file is truncated or damaged: "
                                    f"replace it (or delete it if it is a run output, and rerun its stage)") from None


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


def set_threads(threads: int) -> int:
    """Fix torch's intra-op thread count (0 = leave torch's default). Returns the count in force.

    On small CPUs two competing thread pools make timings noisy and runs less reproducible,
    so every stage fixes this from its ``threads`` parameter.
    """
    import torch

    if threads and threads > 0:
        torch.set_num_threads(int(threads))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return torch.get_num_threads()


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; anything else is returned as given after a check."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} was asked for but CUDA is not available; use device='auto' or 'cpu'")
    return device


#: the devices a stage's ``device`` parameter may name
DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICES_ALLOWED = "auto, cpu, cuda, cuda:N (a GPU index) or mps"


class ConfigError(ValueError):
    """A stage parameter outside its range; the message names the stage, the parameter, its value and what is allowed."""


def count_problems(stage: str, cfg: Any, counts: dict[str, str | None]) -> list[str]:
    """What is wrong with the whole-number parameters of ``cfg`` named in ``counts`` (those it has).

    ``counts`` maps a field to what 0 means for it (``"all"``, ``"auto"``, ...) or to None when it must be >= 1;
    a negative value is always wrong: it never silently means "all".
    """
    out = []
    for name, zero in counts.items():
        if not hasattr(cfg, name):
            continue
        v = getattr(cfg, name)
        allowed = f"a whole number >= 1, or 0 ({zero})" if zero else "a whole number >= 1"
        if isinstance(v, bool) or not isinstance(v, int):
            out.append(f"stage '{stage}': parameter {name!r} is {v!r}; allowed: {allowed}")
        elif v < 0 or (v == 0 and not zero):
            out.append(f"stage '{stage}': parameter {name!r} is {v}; allowed: {allowed}")
    return out


def device_problem(stage: str, device: Any) -> str:
    """What is wrong with a ``device`` parameter ("" when it is one of :data:`DEVICES_ALLOWED`)."""
    if isinstance(device, str) and DEVICE_RE.match(device):
        return ""
    return f"stage '{stage}': parameter 'device' is {device!r}; allowed: {DEVICES_ALLOWED}"


def range_problems(stage: str, cfg: Any, counts: dict[str, str | None]) -> list[str]:
    """:func:`count_problems` of ``counts``, and :func:`device_problem` when the config has a ``device``: the range
    checks every stage config's ``validate()`` starts from."""
    problems = count_problems(stage, cfg, counts)
    if hasattr(cfg, "device") and (why := device_problem(stage, cfg.device)):
        problems.append(why)
    return problems


def raise_problems(problems: list[str], error: type[Exception] = ConfigError) -> None:
    """Raise ``error`` listing every problem (one per line), if any."""
    if problems:
        raise error("; ".join(problems) if len(problems) == 1 else "\n  ".join(["bad parameters:", *problems]))


CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies bf16 matrices natively (x86 ``avx512_bf16`` or ``amx_bf16`` flag).

    Without those instructions PyTorch emulates bf16 matmul through fp32 conversions, which is *slower* than
    fp32, so ``dtype: auto`` must not pick bf16 there. ``torch.backends.cpu.get_cpu_capability()`` only says
    ``AVX512`` (not which AVX512 extensions), so the flags come from ``/proc/cpuinfo`` (Linux); elsewhere the
    answer is False (fp32, always correct). ``cpuinfo`` is the file's text, for tests.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read()
        except OSError:
            return False
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break  # every core lists the same flags
    return any(f in flags for f in CPU_BF16_FLAGS)


def resolve_dtype(dtype: str, device: str):
    """The torch dtype for a ``dtype`` name on ``device``.

    ``auto`` is bf16 on CUDA devices that support it and on CPUs with native bf16 matmul
    (:func:`cpu_has_native_bf16`: measured 2.9x faster than fp32 for SmolLM2-135M generation on an AVX512-bf16
    CPU), fp32 everywhere else (MPS, older CPUs). A profile fixes the dtype by naming it (``float32`` for
    outputs comparable across machines).
    """
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if device == "cpu" and cpu_has_native_bf16():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
                "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16") from None


def resolve_hub_revision(repo_id: str, revision: str | None = None, repo_type: str = "model") -> str:
    """The commit SHA that ``revision`` (empty = ``main``) of a hub repository resolves to.

    Asks the hub first; offline, reads the local Hugging Face cache's ``refs/<revision>`` file (what
    ``from_pretrained`` / ``load_dataset`` would use). When neither answers, returns ``unresolved:<revision>``, so a
    provenance record says so instead of pretending to a commit.
    """
    rev = revision or "main"
    if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev):
        return rev
    try:
        from huggingface_hub import HfApi

        info = HfApi().repo_info(repo_id, revision=rev, repo_type=repo_type, timeout=10)
        if getattr(info, "sha", None):
            return str(info.sha)
    except Exception:  # offline, private, or unknown: fall back to the local cache
        pass
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        folder = Path(HF_HUB_CACHE) / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / rev
        if folder.is_file():
            return folder.read_text(encoding="utf-8").strip()
    except Exception:  # pragma: no cover - a broken cache layout is not worth failing provenance for
        pass
    return f"unresolved:{rev}"


def load_hub_dataset(dataset_id: str, name: str | None = None, *, offline_hint: str, **kwargs: Any):
    """``datasets.load_dataset`` with one clear error for every way the hub can fail (offline, missing, renamed).

    Args:
        dataset_id: hub id, or a local directory laid out like the hub repository.
        name: the dataset config (``commonsense``, ``multiple_choice``, ...).
        offline_hint: what to use instead, named in the error (e.g. "data_source 'local' or 'bundled'").
        **kwargs: passed to ``load_dataset`` (split, data_dir, data_files, revision).
    """
    import datasets

    try:
        return datasets.load_dataset(dataset_id, name, **kwargs)
    except Exception as exc:  # the hub raises many types; all mean "cannot load"
        what = ", ".join(f"{k}={v}" for k, v in [("config", name), *kwargs.items()] if v)
        raise RuntimeError(f"cannot load dataset {dataset_id!r} ({what or 'default'}): {exc}. "
                           f"Offline? Use {offline_hint}.") from exc


def library_versions(libraries: Iterable[str]) -> dict[str, str]:
    """Installed version of each distribution (``missing`` when it is not installed)."""
    import importlib.metadata

    out = {}
    for name in libraries:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out
