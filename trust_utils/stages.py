"""The stage registry: every stage of the study, in run order.

The runner, the CLI and the tests iterate over :data:`STAGES`; adding a stage is one
:class:`Stage` entry here plus its notebook in ``notebooks/``. The alignment and vertical stages are not listed
here: each derives from its declaration, a :class:`trust_utils.checkpoints.Method` (:func:`method_stage`) or a
:class:`trust_utils.registry.Vertical` (:func:`vertical_stage`), so adding a method or a vertical touches only
:data:`trust_utils.checkpoints.METHODS` or :data:`trust_utils.registry.VERTICALS` here. A stage's directory in a run is
``<run_dir>/<name>/``; a stage that trains a model saves it in ``<run_dir>/<name>/model``
(see :meth:`trust_utils.run.Run.checkpoint_path`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .checkpoints import EVAL_PRODUCERS, METHODS, Method, method_of
from .registry import VERTICALS, Vertical


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: short id used in profiles, on the command line and as the run sub-directory.
        notebook: file name in ``notebooks/``.
        needs: stages that must have completed in the same run (hard dependencies).
        uses: stages whose outputs are used when present (e.g. optional checkpoints); a change
            in any of them also invalidates this stage.
        produces: what the stage leaves in its directory, for ``rlhf-trust stages``.
        checkpoint: name under which a trained model is addressable (``sft``, ``rm``, ...).
        html_report: the runner also writes the executed notebook as ``report.html`` (readable without Jupyter).
        config: the stage's config dataclass, ``"package.module:ClassName"`` (imported lazily by
            :func:`trust_utils.params.load_config_class`): the schema of its parameters. Empty: the notebook's
            ``parameters`` cell is the schema.
    """

    name: str
    notebook: str
    title: str
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    produces: str = ""
    checkpoint: str | None = None
    html_report: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    config: str = ""


def method_stage(m: Method) -> Stage:
    """The pipeline stage of an alignment method (tagged ``alignment``)."""
    return Stage(m.stage, m.notebook, m.title, needs=m.needs, uses=m.uses, produces=m.produces,
                 checkpoint=m.checkpoint, tags=("alignment",), config=m.config)


def vertical_stage(v: Vertical) -> Stage:
    """The pipeline stage of a trust vertical (tagged ``vertical``); it scores every trained model the verticals
    evaluate (``uses``: the producing stages, from the checkpoint registry)."""
    return Stage(v.name, v.notebook, f"{v.title} ({v.benchmark})" if v.benchmark else v.title, uses=EVAL_PRODUCERS,
                 produces=v.produces, tags=("vertical",), config=v.config)

STAGES: tuple[Stage, ...] = (
    Stage("data", "00_data_preparation.ipynb", "Preference data preparation",
          produces="sft.jsonl, preferences.jsonl (train/test), drop report",
          config="trust_utils.data.prepare:DataConfig"),
    *(method_stage(m) for m in METHODS),
    *(vertical_stage(v) for v in VERTICALS.values()),
    Stage("attribution", "30_attribution.ipynb", "Data attribution (DataInf)", needs=("data",),
          uses=tuple(m.stage for m in METHODS if m.attribution) + ("toxicity",),
          produces="scores per training example and stage, top examples", tags=("analysis",),
          config="trust_utils.attribution:AttributionConfig"),
    Stage("analysis", "90_analysis.ipynb", "Analysis and paper comparison",
          uses=tuple(VERTICALS),
          produces="figures, summary tables, report.html", html_report=True,
          config="trust_utils.analysis.stage:AnalysisConfig"),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


#: the alignment stages (one per :class:`~trust_utils.checkpoints.Method`), which a profile's ``seeds`` repeat
ALIGNMENT_STAGES: tuple[str, ...] = tuple(m.stage for m in METHODS)
_SEEDED_RE = re.compile(r"^(?P<stage>.+)-s(?P<seed>\d+)$")


def seeded_stage(stage: Stage, seed: int) -> Stage:
    """An alignment stage trained with another seed: ``<stage>-s<seed>`` in its own run sub-directory, needing and
    using the same seed's alignment stages (the data stage is shared), its checkpoint ``<checkpoint>-s<seed>``."""
    tag = f"-s{int(seed)}"

    def tagged(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n + tag if n in ALIGNMENT_STAGES else n for n in names)

    return replace(stage, name=stage.name + tag, title=f"{stage.title} (seed {seed})", needs=tagged(stage.needs),
                   uses=tagged(stage.uses), checkpoint=(stage.checkpoint or "") + tag or None)


def seed_of_stage(name: str) -> tuple[str, int | None]:
    """``("ppo", 2)`` for ``ppo-s2``; ``(name, None)`` for a stage of the primary seed."""
    m = _SEEDED_RE.match(name)
    if m and m["stage"] in ALIGNMENT_STAGES:
        return m["stage"], int(m["seed"])
    return name, None


def get_stage(name: str) -> Stage:
    """Look a stage up by name (``ppo-s2``: the PPO stage of training seed 2), with a helpful error."""
    base, seed = seed_of_stage(name)
    for s in STAGES:
        if s.name == base:
            return s if seed is None else seeded_stage(s, seed)
    raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(STAGE_NAMES)} (an alignment stage of another "
                   f"training seed: <stage>-s<seed>, from the profile's seeds)")


def checkpoint_stage(checkpoint: str) -> Stage:
    """The stage that produces checkpoint ``checkpoint`` (``sft``, ``rm``, ``ppo``, ``dpo``, ...)."""
    return get_stage(method_of(checkpoint).stage)
