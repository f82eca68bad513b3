"""What each stage and each engine computation of a finished run cost, from its manifests and ``outputs.json``.

    python benchmarks/study_costs.py runs/default [runs/other ...]

Prints per run: each stage's seconds (its manifest's ``seconds``) and their total, and for every vertical the wall
seconds of each engine call summed over checkpoints (``outputs.json`` ``engine.<checkpoint>.seconds``, keyed by the
call's kind and description with the checkpoint name taken out), so one run shows what generation and each
likelihood score cost. With two runs, the ratio of their totals.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def stage_seconds(run_dir: Path) -> dict[str, float]:
    """``{stage: seconds}`` from every ``<stage>/manifest.json`` of the run, in the order the stages ran."""
    rows = []
    for m in run_dir.glob("*/manifest.json"):
        d = json.loads(m.read_text())
        if d.get("status") == "complete" and "seconds" in d:
            rows.append((d.get("started", ""), d["stage"], float(d["seconds"])))
    return {stage: s for _, stage, s in sorted(rows)}


def call_seconds(run_dir: Path) -> dict[str, dict[str, float]]:
    """``{vertical: {"<kind>:<description without the checkpoint>": seconds over checkpoints}}``."""
    out: dict[str, dict[str, float]] = {}
    for f in run_dir.glob("*/outputs.json"):
        d = json.loads(f.read_text())
        engines = (d.get("outputs", d) or {}).get("engine") or {}
        for ckpt, e in engines.items():
            for key, s in (e.get("seconds") or {}).items():
                kind, _, desc = key.partition(":")
                desc = re.sub(rf"(^|[ /]){re.escape(ckpt)}($|[ /])", r"\1*\2", desc)
                by = out.setdefault(f.parent.name, {})
                by[f"{kind}:{desc}"] = by.get(f"{kind}:{desc}", 0.0) + float(s)
    return out


def main(argv: list[str]) -> int:
    totals = []
    for rd in map(Path, argv or ["runs/default"]):
        st = stage_seconds(rd)
        totals.append(sum(st.values()))
        print(f"## {rd}: {totals[-1]:.0f} s over {len(st)} stages")
        for k, v in st.items():
            print(f"  {k:<16} {v:8.1f} s  {v / totals[-1]:6.1%}")
        for v, calls in sorted(call_seconds(rd).items()):
            print(f"  {v}: " + ", ".join(f"{k} {s:.0f} s" for k, s in sorted(calls.items(), key=lambda x: -x[1])))
    if len(totals) == 2:
        print(f"ratio {argv[1]} / {argv[0]}: {totals[1] / totals[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
