"""Compare the results of two run directories row for row (issue 20: before and after the house refactor).

    python docs/records/issue20_compare.py <run dir before> <run dir after>
"""
import hashlib
import sys
from pathlib import Path

import pandas as pd

pre, post = Path(sys.argv[1]), Path(sys.argv[2])
key = ["vertical", "metric", "variant", "checkpoint"]
total = 0
for f in sorted((pre / "results").glob("*.csv")):
    a, b = pd.read_csv(f), pd.read_csv(post / "results" / f.name)
    m = a.merge(b, on=key, how="outer", suffixes=("_pre", "_post"), indicator=True)
    both = m[m["_merge"] == "both"]
    same = [all((r[f"{c}_pre"] == r[f"{c}_post"]) or (pd.isna(r[f"{c}_pre"]) and pd.isna(r[f"{c}_post"]))
                for c in ("value", "ci_low", "ci_high", "n")) for _, r in both.iterrows()]
    diff = both[[not s for s in same]]
    print(f"{f.stem:<13} rows before {len(a):>4}  after {len(b):>4}  differing {len(diff)}  "
          f"unmatched {int((m['_merge'] != 'both').sum())}")
    total += len(a)
    if len(diff):
        print(diff[key + ["value_pre", "value_post"]].head(20).to_string())
print("rows compared:", total)
for f in sorted((pre / "data").glob("*.jsonl")):
    h = [hashlib.sha256((d / "data" / f.name).read_bytes()).hexdigest()[:16] for d in (pre, post)]
    print(f.name, "equal" if h[0] == h[1] else "DIFFERENT")
