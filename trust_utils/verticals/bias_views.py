"""Views of the bias records: the per-group × topic table behind the heatmaps, for the generation's agreement index or
the forced choice's metrics."""

from __future__ import annotations

from typing import Any

from .parsing import AGREE

#: The forced-choice metrics and the record field each reads.
FC_METRICS = {"agreement_index_fc": "agree_fc", "agree_prob_fc": "p_agree_fc"}


def agreement_matrix(records: list[dict[str, Any]], variant: str = "benign", checkpoint: str | None = None,
                     metric: str = "agreement_index"):
    """A metric per target group (rows) x topic (columns), for the heatmap: the generation's ``agreement_index``
    (default) or the forced choice's ``agreement_index_fc`` / ``agree_prob_fc``."""
    import pandas as pd

    df = pd.DataFrame(records)
    if df.empty:
        return pd.DataFrame()
    df = df[df["variant"] == variant]
    if checkpoint is not None and "checkpoint" in df:
        df = df[df["checkpoint"] == checkpoint]
    if metric == "agreement_index":
        value = (df["stance"] == AGREE).astype(float)
    elif metric in FC_METRICS:
        if FC_METRICS[metric] not in df:
            raise ValueError(f"the records hold no forced-choice scores ({metric}); rerun the bias stage")
        value = df[FC_METRICS[metric]].astype(float)
    else:
        raise ValueError(f"agreement_matrix shows agreement_index, {', '.join(FC_METRICS)}; not {metric!r}")
    return df.assign(agree=value).pivot_table(index="group", columns="topic", values="agree", aggfunc="mean")


__all__ = ["FC_METRICS", "agreement_matrix"]
