#!/usr/bin/env bash
# The prepared GPU check: on one CUDA GPU, without the Hugging Face hub,
#   1. the tiny profile end to end on CUDA (every stage; dtype auto = bf16 where supported),
#   2. the engine benchmark (benchmarks/bench_generation.py) on random-weight models of Pythia-1.4B and Pythia-6.9B
#      shape (GPTNeoXConfig), 64 bundled toxicity prompts x 32 new tokens, batch chosen from free memory,
# and prints tokens/s. Budget: under 5 minutes on one H200 (each step has its own timeout).
#
#   benchmarks/gpu_check.sh [--out DIR]         # on the GPU machine
#   benchmarks/gpu_check.sh --cpu-smoke         # here: the same steps on CPU with tiny shapes (tiny profile: dry run)
#
# Environment: PYTHON (default: python) must import torch, transformers, trl, papermill and this repository's
# package (PYTHONPATH is set to the repository root); RLHF_TRUST_CACHE is pointed at DIR/cache.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python}"
SMOKE=0
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu-smoke) SMOKE=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (use --cpu-smoke, --out DIR)" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-$(mktemp -d -t gpu_check.XXXXXX)}"
mkdir -p "$OUT/cache"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export RLHF_TRUST_CACHE="$OUT/cache"
export TOKENIZERS_PARALLELISM=false
T0=$SECONDS
step() { echo; echo "=== [$((SECONDS - T0))s] $*"; }
fail() { echo "gpu_check: FAILED: $*" >&2; exit 1; }

step "environment"
"$PY" - "$SMOKE" <<'PYEOF' || fail "environment check (see above)"
import sys
smoke = sys.argv[1] == "1"
try:
    import papermill, torch, transformers, trl  # noqa: F401
    import trust_utils  # noqa: F401
except ImportError as exc:
    sys.exit(f"missing package: {exc}; install the project (pip install -e .) first")
print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"CUDA device: {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}")
elif not smoke:
    sys.exit("no CUDA device: run with --cpu-smoke for the CPU dry run")
else:
    from trust_utils.utils import cpu_has_native_bf16
    print(f"CPU smoke run (native bf16: {cpu_has_native_bf16()})")
PYEOF

if [[ $SMOKE == 1 ]]; then
  DEVICE=cpu; THREADS=2; NP=8; NEW=8
  SHAPES=("tiny-a random:gpt-neox:64:2:4" "tiny-b random:gpt-neox:128:2:4")
  SKIP=("" "--skip-baseline")
else
  DEVICE=cuda; THREADS=8; NP=64; NEW=32
  # Pythia-1.4B: hidden 2048, 24 layers, 16 heads; Pythia-6.9B: hidden 4096, 32 layers, 32 heads.
  # The 6.9B one-at-a-time baseline (fp32, 28 GB, ~1 min) does not fit the budget: engine only.
  SHAPES=("pythia-1.4b random:gpt-neox:2048:24:16" "pythia-6.9b random:gpt-neox:4096:32:32")
  SKIP=("" "--skip-baseline")
fi

step "tiny profile on $DEVICE"
if [[ $SMOKE == 1 ]]; then
  "$PY" -m trust_utils.cli run --profile tiny --run-dir "$OUT/tiny" --dry-run || fail "tiny profile dry run"
else
  timeout 170 "$PY" -m trust_utils.cli run --profile tiny --run-dir "$OUT/tiny" --no-progress \
    || fail "tiny profile on CUDA (exit $?); executed notebooks are in $OUT/tiny/<stage>/"
  "$PY" - "$OUT/tiny" <<'PYEOF' || fail "tiny profile outputs"
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
for stage in ("toxicity", "truthfulness"):
    eng = json.loads((run / stage / "outputs.json").read_text()).get("engine", {})
    print(f"  {stage}: " + ", ".join(f"{k} on {v['device']} ({v['dtype']}, batches {v['batch_sizes']})"
                                     for k, v in eng.items()))
    if any(not v["device"].startswith("cuda") for v in eng.values()):
        sys.exit(f"{stage} did not run on CUDA")
PYEOF
fi

for i in "${!SHAPES[@]}"; do
  read -r NAME MODEL <<<"${SHAPES[$i]}"
  step "engine benchmark, $NAME shape ($MODEL) on $DEVICE"
  timeout 150 "$PY" benchmarks/bench_generation.py --model "$MODEL" --device "$DEVICE" --dtype auto --batch-size 0 \
    --threads "$THREADS" --n-prompts "$NP" --max-new-tokens "$NEW" --cache-dir "$OUT/cache" \
    --json "$OUT/bench-$NAME.json" ${SKIP[$i]} || fail "engine benchmark $NAME (exit $?)"
  rm -rf "$OUT/cache/bench-models"  # random weights: GBs of disk, rebuilt in seconds
done

step "summary"
"$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
for f in sorted(Path(sys.argv[1]).glob("bench-*.json")):
    r = json.loads(f.read_text())
    base = "" if r["baseline_tokens_per_s"] != r["baseline_tokens_per_s"] else \
        f", one-at-a-time {r['baseline_tokens_per_s']} tok/s ({r['speedup']}x)"
    print(f"  {f.stem[6:]:<12} engine {r['engine_tokens_per_s']} tok/s ({r['dtype_engine']}, batches "
          f"{r['batch_sizes_used']}, {100 * r['engine_share_of_peak']:.1f}% of matmul peak){base}")
PYEOF
echo "gpu_check: OK in $((SECONDS - T0))s; outputs in $OUT"
