"""A copy of a commit's default profile that scores the base checkpoint only (no training needed)."""
import sys, yaml
src, run_dir, out = sys.argv[1:4]
p = yaml.safe_load(open(src))
p["run_dir"] = run_dir
for v in ("toxicity", "bias", "ethics", "truthfulness", "privacy"):
    p["stages"][v]["checkpoints"] = ["base"]
p["stages"].pop("rloo", None)
yaml.safe_dump(p, open(out, "w"), sort_keys=False)
