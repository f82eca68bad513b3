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
(:func:`trust_utils.run.write_checkpoints`) before any stage runs; a stage reads it once, into its
:class:`trust_utils.run.Run` (the vertical stages' ``checkpoints`` parameter's default ``[]`` means "the run's
list") and records it as an input file, so a changed block reruns them (and only the changed checkpoints do model
work: the generation cache keys on model content). Reference checks live with the models
(:func:`trust_utils.models.check_refs`).

This module is declarations only: it imports nothing from the package, so every layer may read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
        exercise: the checked exercise of its notebook (a function name in ``trust_utils/exercises/<stage>.py``;
            empty: none).
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
    exercise: str = ""


#: The alignment methods, in run order. The one place a method is registered.
METHODS: tuple[Method, ...] = (
    Method("sft", "sft", "10_sft.ipynb", "Supervised fine-tuning", "SFT", "#1f77b4", 1, init="base",
           produces="model/ (SFT policy), training log", attribution="SFT (SFT model vs base)",
           config="trust_utils.training.sft:SFTStageConfig", exercise="masked_sft_loss"),
    Method("rm", "reward_model", "11_reward_model.ipynb", "Bradley-Terry reward model", "RM", "#8c564b", 2,
           uses=("sft",), produces="model/ (sequence classifier), pairwise accuracy", evaluated=False,
           attribution="PPO, through its reward model (RM vs its initialisation)", attribution_new="ppo",
           config="trust_utils.training.reward:RewardStageConfig", exercise="bradley_terry_loss"),
    Method("ppo", "ppo", "12_ppo.ipynb", "PPO against the reward model", "PPO", "#ff7f0e", 3,
           needs=("data", "sft", "reward_model"), produces="model/ (PPO policy), reward/KL curves",
           reference="sft", reward_model="rm", headline=True,
           attribution_note="attributed through its reward model (the rm entry)",
           config="trust_utils.training.ppo:PPOStageConfig", exercise="ppo_clipped_surrogate"),
    Method("dpo", "dpo", "13_dpo.ipynb", "Direct preference optimisation", "DPO", "#2ca02c", 4,
           needs=("data", "sft"), produces="model/ (DPO policy), loss/margin curves", reference="sft",
           headline=True, attribution="DPO (DPO policy vs SFT reference)",
           config="trust_utils.training.dpo:DPOStageConfig", exercise="dpo_loss"),
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


# ------------------------------------------------------------------------------------ path points and seeds
#: ``<checkpoint>[@<step>][-s<seed>]``: a built-in checkpoint at a point of its training path, of a training seed.
_POINT_RE = re.compile(r"^(?P<name>[A-Za-z0-9_]+?)(?:@(?P<step>\d+))?(?:-s(?P<seed>\d+))?$")
PATH_DIR = "path"


@dataclass(frozen=True)
class Point:
    """A built-in checkpoint name taken apart: ``dpo@12-s1`` is method checkpoint ``dpo`` after 12 steps of its
    training with seed 1. ``step`` is None for the endpoint (the stage's ``model``), ``seed`` None for the run's
    primary seed (no suffix)."""

    checkpoint: str
    step: int | None = None
    seed: int | None = None

    @property
    def tag(self) -> str:
        """The seed suffix (``-s1``; empty for the primary seed)."""
        return "" if self.seed is None else f"-s{self.seed}"

    @property
    def name(self) -> str:
        return f"{self.checkpoint}{'' if self.step is None else f'@{self.step}'}{self.tag}"


def parse_point(name: str) -> Point:
    """``name`` taken apart when it is a built-in checkpoint (``sft``, ``dpo@12``, ``ppo-s2``, ``rm-s1``); any other
    name (an external checkpoint) is returned whole as ``Point(name)``."""
    m = _POINT_RE.match(name)
    if m is None or m["name"] not in BUILTIN_BY_NAME or (m["name"] == "base" and (m["step"] or m["seed"])):
        return Point(name)
    return Point(m["name"], int(m["step"]) if m["step"] is not None else None,
                 int(m["seed"]) if m["seed"] is not None else None)


def seed_tag(seed: int | None, primary: int | None) -> str:
    """``-s<seed>`` for a training seed other than the run's primary one, else empty."""
    return "" if seed is None or primary is None or int(seed) == int(primary) else f"-s{int(seed)}"


def path_point_steps(fractions: Iterable[float], total: int) -> list[int]:
    """The steps (1 .. total-1) at which ``fractions`` of a training of ``total`` steps keep path points (sorted)."""
    steps = {max(1, round(float(f) * total)) for f in fractions}
    return sorted(k for k in steps if k < total)


def method_name(name: str) -> str:
    """The checkpoint a point belongs to: ``dpo@12-s1`` -> ``dpo`` (other names unchanged)."""
    return parse_point(name).checkpoint


def _related(name: str, attr: str) -> str:
    p = parse_point(name)
    m = METHODS_BY_NAME.get(p.checkpoint)
    if m is None:
        return ""
    other = getattr(m, attr)
    if not other:
        return ""
    return other if other == "base" else f"{other}{p.tag}"


def init_of(name: str) -> str:
    """The checkpoint a built-in point's training started from (its path's point 0), of the same seed:
    ``dpo@12-s1`` -> ``sft-s1``, ``sft`` -> ``base``; empty for ``base`` and externals."""
    return _related(name, "init")


def reference_of(name: str) -> str:
    """The checkpoint a point's KL is measured from: the method's reference (SFT for PPO, DPO and RLOO), else its
    init (base for SFT), of the same seed; empty for ``base`` and externals."""
    return _related(name, "reference") or init_of(name)


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


# ------------------------------------------------------------------------------------ display
def checkpoint_info(checkpoints: Iterable[str], externals: Iterable[Checkpoint] = ()) -> dict[str, Checkpoint]:
    """Label, colour and order of each results ``checkpoint`` value: built-ins, then ``externals`` (a run's), else
    defaults. The one place the display order is decided (:meth:`trust_utils.run.Run.info` passes the run's)."""
    by_ckpt: dict[str, Checkpoint] = {c.checkpoint: c for c in BUILTIN}
    for c in externals:
        if c.checkpoint not in by_ckpt:
            by_ckpt[c.checkpoint] = c
        elif c.checkpoint in BUILTIN_BY_NAME and c.label != BUILTIN_BY_NAME[c.checkpoint].label:
            by_ckpt[c.checkpoint] = replace(by_ckpt[c.checkpoint], label=c.label)  # a profile may relabel one
    out = {}
    extra = 0
    for s in dict.fromkeys(checkpoints):
        if s in by_ckpt:
            out[s] = by_ckpt[s]
        elif (pt := parse_point(s)).name == s and pt.checkpoint in by_ckpt and (pt.step, pt.seed) != (None, None):
            out[s] = point_info(by_ckpt[pt.checkpoint], pt)
        else:
            out[s] = Checkpoint(s, s, s, _PALETTE[extra % len(_PALETTE)], 100)
            extra += 1
    return out


def point_info(c: Checkpoint, p: Point) -> Checkpoint:
    """How a path point or another seed of checkpoint ``c`` shows: its colour, a label such as ``DPO@12 s1``, and an
    order just before ``c``'s that grows with the step (seeds of one point side by side)."""
    label = c.label + ("" if p.step is None else f"@{p.step}") + ("" if p.seed is None else f" s{p.seed}")
    order = c.order - (0 if p.step is None else 0.5 / (1 + p.step)) + (0 if p.seed is None else 1e-3 * (1 + p.seed))
    return replace(c, name=p.name, checkpoint=p.name, label=label, order=order)


def ordered_checkpoints(checkpoints: Iterable[str], externals: Iterable[Checkpoint] = ()) -> list[str]:
    """Checkpoint values in the registry's order (unknown ones last, alphabetically)."""
    info = checkpoint_info(checkpoints, externals)
    return sorted(info, key=lambda s: (info[s].order, s if info[s].order >= 100 else ""))


def order_index(checkpoints: Iterable[str], externals: Iterable[Checkpoint] = ()) -> dict[str, int]:
    """``{checkpoint: position}`` in :func:`ordered_checkpoints`' order, for sorting tables."""
    return {c: i for i, c in enumerate(ordered_checkpoints(checkpoints, externals))}


def method_of(checkpoint: str) -> Method:
    """The :class:`Method` that trains checkpoint ``checkpoint`` (``sft``, ``rm``, ``ppo``, ...)."""
    try:
        return METHODS_BY_NAME[checkpoint]
    except KeyError:
        known = ["base", *METHODS_BY_NAME]
        raise KeyError(f"unknown checkpoint name {checkpoint!r}; known: {', '.join(known)}") from None


__all__ = [
    "Checkpoint", "CheckpointError", "Method", "METHODS", "METHODS_BY_NAME", "HEADLINE", "BUILTIN", "BUILTIN_BY_NAME",
    "CHECKPOINT_ORDER", "EVAL_PRODUCERS", "TRAINED", "RUN_FILE", "SCHEMA",
    "Point", "PATH_DIR", "parse_point", "point_info", "path_point_steps", "seed_tag", "method_name", "init_of", "reference_of",
    "parse_checkpoints", "evaluation_list", "checkpoint_info", "ordered_checkpoints", "order_index", "method_of",
]
