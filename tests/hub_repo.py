"""Test helper: a local directory laid out like a hub dataset repository (README ``configs`` + data files).

``datasets.load_dataset(<that directory>, <config>, split=<split>)`` resolves it exactly as it resolves the hub
repository, so a loader test goes through the real loading code path, offline.
"""

from __future__ import annotations

import json
from pathlib import Path


def make_hub_repo(root: Path, configs: dict[str, dict[str, tuple[str, list[dict]]]]) -> Path:
    """Write ``{config: {split: (path in repo, rows)}}`` as JSON-lines files and a README with their ``configs``."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        for split, (path, rows) in splits.items():
            lines += [f"  - split: {split}", f'    path: "{path}"']
            f = root / path
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    lines += ["---", "# test copy"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
