#!/usr/bin/env bash
# How far the toy's figures move: runs the README's main job (tools/run_toy.sh) for each
# seed on each float path, then writes the spread table:
#   $OUT_DIR/<path>_seed<k>/final_metrics.json   one run each (+ env.json: the machine)
#   $OUT_DIR/spread.md, $OUT_DIR/spread.json    tools/analysis_tools/toy_spread_table.py
#
# Usage:   bash tools/analysis_tools/toy_spread.sh [OUT_DIR]   (default work_dirs/toy_spread)
# Env:     PYTHON       interpreter (default: python)
#          SEEDS        training seeds (default: "0 1 2")
#          FLOAT_PATHS  float paths to run (default: "native avx2"), each a way this machine
#                       computes the same model with other float kernels (native, avx2,
#                       portable, threads1: tools/misc/float_path_env.sh says what each is)
# Resumable: a run whose final_metrics.json exists is skipped, so a stopped campaign goes
# on where it stopped (a run cut off halfway starts again from scratch). Each run takes
# about as long as `make toy` (see the README).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python}
OUT_DIR=${1:-work_dirs/toy_spread}
SEEDS=${SEEDS:-0 1 2}
FLOAT_PATHS=${FLOAT_PATHS:-native avx2}

mkdir -p "$OUT_DIR"
for path in $FLOAT_PATHS; do
  path_env=$(bash tools/misc/float_path_env.sh "$path")
  for seed in $SEEDS; do
    run_dir="$OUT_DIR/${path}_seed${seed}"
    if [[ -f $run_dir/final_metrics.json ]]; then
      echo "[toy_spread] $run_dir: done before, skipped"
      continue
    fi
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    echo "[toy_spread] $(date -u +%H:%M:%S) $path, seed $seed -> $run_dir (log: $run_dir/run.log)"
    start=$(date +%s)
    # shellcheck disable=SC2086
    if env $path_env "$PYTHON" tools/misc/collect_env.py --json > "$run_dir/env.json" && \
       env $path_env PYTHON="$PYTHON" WORK_DIR="$run_dir" CHECK_README=0 \
         bash tools/run_toy.sh --cfg-options "randomness.seed=$seed" > "$run_dir/run.log" 2>&1; then
      echo "$(( $(date +%s) - start ))" > "$run_dir/seconds"
      echo "[toy_spread] $path, seed $seed: done in $(cat "$run_dir/seconds") s"
    else
      echo "[toy_spread] $path, seed $seed: FAILED (see $run_dir/run.log); the others still run"
      rm -f "$run_dir/final_metrics.json"
    fi
  done
done
"$PYTHON" tools/analysis_tools/toy_spread_table.py "$OUT_DIR"
