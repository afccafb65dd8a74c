#!/usr/bin/env bash
# The toy ablation: trains and tests the toy SpaceVLLM and each baseline / each of our toy
# options switched off, with the same data, seed and schedule, then writes one table:
#   $OUT_DIR/ablation.md and $OUT_DIR/ablation.json   (tools/analysis_tools/ablation_table.py)
#
# Usage:   bash tools/analysis_tools/run_ablation.sh [OUT_DIR]      (default work_dirs/ablation)
# Env:     PYTHON        interpreter (default: python)
#          ITERS         training iterations a variant (default: the config's, 4000);
#                        also sets the val and checkpoint intervals, e.g. ITERS=20 to smoke-test
#          VAL_SAMPLES   score only the first N val and test videos (default: all 300 each)
#          ONLY          space-separated variant names to run (default: all)
#          EXTRA_OPTIONS more --cfg-options for every variant (e.g. "train_dataloader.num_workers=0")
# Each variant takes ~10 minutes of 2 CPU cores at 4000 iterations (the toy's time).
# A variant whose training or test fails is listed as failed; the others still run.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python}
OUT_DIR=${1:-work_dirs/ablation}
ITERS=${ITERS:-}
VAL_SAMPLES=${VAL_SAMPLES:-}
ONLY=${ONLY:-}
EXTRA_OPTIONS=${EXTRA_OPTIONS:-}

# ======================================================================================
# THE VARIANTS: "name|config|--cfg-options of this variant" (the first is the reference
# of the table's delta column). Edit here when configs or option names change.
# Our toy options (ours, not the paper's; see configs/_base_/models/spacevllm_toy.py) are
# switched off one at a time on top of configs/spacevllm_toy.py.
# ======================================================================================
VARIANTS=(
  "spacevllm|configs/spacevllm_toy.py|"
  "appended_queries|configs/baselines/appended_queries_toy.py|"
  "mlp_box_head|configs/baselines/mlp_box_head_toy.py|"
  "qgsd_parameter_free|configs/baselines/qgsd_parameter_free_toy.py|"
  "text_boxes|configs/baselines/text_boxes_toy.py|"
  "no_time_pointer|configs/spacevllm_toy.py|model.time_pointer=None"
  "no_frame_score_head|configs/spacevllm_toy.py|model.frame_score_head=None"
  "frame_states_from_llm_queries|configs/spacevllm_toy.py|model.frame_state_source=llm_queries"
  "exact_answer_times|configs/spacevllm_toy.py|model.answer.type=SpanAnswer model.time_pointer=None"
  "no_reference_points|configs/spacevllm_toy.py|model.space_decoder.frame_token_grid=None"
)
# ======================================================================================

SEED_OPTIONS="randomness.seed=0"
SCHEDULE_OPTIONS=""
if [[ -n $ITERS ]]; then
  SCHEDULE_OPTIONS="train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS"
  SCHEDULE_OPTIONS+=" default_hooks.checkpoint.interval=$ITERS"
fi
VAL_OPTIONS=""
if [[ -n $VAL_SAMPLES ]]; then
  VAL_OPTIONS="val_dataloader.dataset.indices=$VAL_SAMPLES test_dataloader.dataset.indices=$VAL_SAMPLES"
fi

mkdir -p "$OUT_DIR"
echo "[ablation] ${#VARIANTS[@]} variants -> $OUT_DIR (iterations: ${ITERS:-as configured})"

index=0
for entry in "${VARIANTS[@]}"; do
  IFS='|' read -r name config options <<< "$entry"
  index=$((index + 1))
  if [[ -n $ONLY && " $ONLY " != *" $name "* ]]; then
    continue
  fi
  work_dir="$OUT_DIR/$name"
  rm -rf "$work_dir"
  mkdir -p "$work_dir"
  # shellcheck disable=SC2206
  train_opts=($SEED_OPTIONS $SCHEDULE_OPTIONS $VAL_OPTIONS $options $EXTRA_OPTIONS)
  # shellcheck disable=SC2206
  test_opts=($VAL_OPTIONS $options $EXTRA_OPTIONS)
  # argparse refuses a bare --cfg-options: pass it only with options behind it.
  test_cfg_options=()
  [[ ${#test_opts[@]} -eq 0 ]] || test_cfg_options=(--cfg-options "${test_opts[@]}")
  echo "[ablation] ($index/${#VARIANTS[@]}) $name: $config ${options:-(as configured)}"
  start=$(date +%s)
  status=ok
  checkpoint=""
  if ! "$PYTHON" tools/train.py "$config" --work-dir "$work_dir" \
      --cfg-options "${train_opts[@]}" > "$work_dir/train.log" 2>&1; then
    status="training failed (see $work_dir/train.log)"
  else
    checkpoint=$(ls -t "$work_dir"/best_*.pth 2>/dev/null | head -n 1 || true)
    [[ -n $checkpoint ]] || checkpoint=$(cat "$work_dir/last_checkpoint")
    if ! "$PYTHON" tools/test.py "$config" "$checkpoint" --work-dir "$work_dir" \
        --metrics-out "$work_dir/final_metrics.json" \
        "${test_cfg_options[@]}" > "$work_dir/test.log" 2>&1; then
      status="test failed (see $work_dir/test.log)"
    fi
  fi
  seconds=$(( $(date +%s) - start ))
  echo "[ablation]   $status, $seconds s"
  "$PYTHON" - "$work_dir/variant.json" "$index" "$name" "$config" "$options" \
      "${ITERS:-}" "$seconds" "$checkpoint" "$status" <<'PY'
import json, sys
path, index, name, config, options, iters, seconds, checkpoint, status = sys.argv[1:]
if not iters:  # the config's own schedule
    from mmengine.config import Config
    iters = Config.fromfile(config).train_cfg.get('max_iters')
json.dump(dict(index=int(index), name=name, config=config, cfg_options=options,
               iters=int(iters) if iters else None, seconds=float(seconds),
               checkpoint=checkpoint, status=status), open(path, 'w'), indent=2)
PY
done

echo "[ablation] scoring the trivial answer on the same val set"
# shellcheck disable=SC2086
"$PYTHON" tools/analysis_tools/trivial_baseline.py configs/spacevllm_toy.py \
  --out "$OUT_DIR/trivial_metrics.json" ${VAL_OPTIONS:+--cfg-options $VAL_OPTIONS} > /dev/null
"$PYTHON" tools/analysis_tools/ablation_table.py "$OUT_DIR"
