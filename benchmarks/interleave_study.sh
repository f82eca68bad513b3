#!/bin/bash
# The default study before and after a change, interleaved stage by stage (issue 19's 10% time bound).
#
#   git worktree add /tmp/before <commit>; git worktree add /tmp/after <commit>
#   benchmarks/interleave_study.sh /tmp/before /tmp/after /tmp/interleave [profile]
#
# A VM's speed drifts by tens of percent within an hour, more than the bound, so the two studies run one stage at a
# time, alternating which side goes first, each side resuming its own run directory with its own cache. A control
# (data and SFT into a fresh directory and cache) of each side at the start and at the end shows the drift.
# Writes <workdir>/times.tsv (end time, side, label, stages, wall seconds, exit code) and a log per side and label;
# then `python benchmarks/study_costs.py <workdir>/study_before/run <workdir>/study_after/run` gives each stage's
# and each engine call's seconds. Keep the machine otherwise idle.
set -u
[ $# -ge 3 ] || { echo "usage: $0 BEFORE_WORKTREE AFTER_WORKTREE WORKDIR [PROFILE]" >&2; exit 2; }
B=$(realpath "$1"); A=$(realpath "$2"); W=$(mkdir -p "$3" && realpath "$3"); PROFILE=${4:-default}
PY=${PYTHON:-python}
LOG=$W/times.tsv
# the profile's stages in the order the runner runs them (the stage registry's), as the after side has them
STAGES=$(cd "$A" && PYTHONPATH="$A" $PY -c "import sys; from trust_utils.profiles import load_profile
from trust_utils.stages import STAGES
own = load_profile(sys.argv[1]).stages
print(' '.join(s.name for s in STAGES if s.name in own))" "$PROFILE") || exit 2

run() {  # side label worktree run_dir cache stages
  local t0 t1 rc
  t0=$(date +%s.%N)
  (cd "$3" && PYTHONPATH="$3" RLHF_TRUST_CACHE="$5" $PY -m trust_utils.cli run --profile "$PROFILE" --run-dir "$4" \
     --stages "$6") >> "$W/$1.$2.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  printf "%s\t%s\t%s\t%s\t%.1f\t%s\n" "$(date -u +%H:%M:%S)" "$1" "$2" "$6" "$(echo "$t1 - $t0" | bc)" $rc >> "$LOG"
  # a failed stage leaves the rest of its side nothing to time: stop rather than print a ratio of partial runs
  if [ $rc -ne 0 ]; then
    echo "interleave_study: the $1 side's '$6' ($2) failed with exit code $rc; see $W/$1.$2.log. Fix it and rerun the" \
         "same command with a new WORKDIR (the run directories here resume, but their times would mix two sessions)." >&2
    exit $rc
  fi
}
ctl() { run "$1" "ctl$2" "$3" "$W/ctl$2_$1/run" "$W/ctl$2_$1/cache" data,sft; }
study() { run "$1" study "$2" "$W/study_$1/run" "$W/study_$1/cache" "$3"; }

ctl before 1 "$B"; ctl after 1 "$A"
i=0
for s in $STAGES; do
  if (( i % 2 == 0 )); then study before "$B" "$s"; study after "$A" "$s"
  else study after "$A" "$s"; study before "$B" "$s"; fi
  i=$((i + 1))
done
ctl after 2 "$A"; ctl before 2 "$B"
echo done >> "$LOG"
