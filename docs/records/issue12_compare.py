"""Compare the base-checkpoint results of the default profile before (cc1a5cb) and after (78dbfdb) issue 12."""
import hashlib, sys
from pathlib import Path
import pandas as pd
pre, post = Path("/work/cmp12/runs-pre"), Path("/work/cmp12/runs-post")
rows = []
for v in ("toxicity", "bias", "ethics", "truthfulness", "privacy"):
    a = pd.read_csv(pre / "results" / f"{v}.csv").rename(columns={"stage": "checkpoint"})
    b = pd.read_csv(post / "results" / f"{v}.csv")
    key = ["vertical", "metric", "variant", "checkpoint"]
    m = a.merge(b, on=key, how="outer", suffixes=("_pre", "_post"), indicator=True)
    both = m[m["_merge"] == "both"]
    diff = both[[not all(((x == y) or (pd.isna(x) and pd.isna(y))) for x, y in
                          [(r[f"{c}_pre"], r[f"{c}_post"]) for c in ("value", "ci_low", "ci_high", "n")])
                 for _, r in both.iterrows()]]
    rows.append({"vertical": v, "rows_pre": len(a), "rows_post": len(b), "shared": len(both),
                 "only_pre": int((m["_merge"] == "left_only").sum()), "only_post": int((m["_merge"] == "right_only").sum()),
                 "differing": len(diff)})
    if len(diff):
        print(diff[key + ["value_pre", "value_post"]].to_string())
    if (m["_merge"] != "both").any():
        print(v, "unmatched:", m.loc[m["_merge"] != "both", key + ["_merge"]].to_string())
print(pd.DataFrame(rows).to_string(index=False))
for f in ("sft_train.jsonl", "pref_train.jsonl", "pref_test.jsonl"):
    h = [hashlib.sha256((d / "data" / f).read_bytes()).hexdigest()[:16] for d in (pre, post)]
    print(f, h, "equal" if h[0] == h[1] else "DIFFERENT")
