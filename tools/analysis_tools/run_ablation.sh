#!/usr/bin/env bash
# The toy ablation: trains and tests every variant below over several seeds, with
# the same data and schedule, scores the trivial answer once, then writes one table:
#   $OUT_DIR/ablation.md and $OUT_DIR/ablation.json   (tools/analysis_tools/ablation_table.py)
#
# Usage:   bash tools/analysis_tools/run_ablation.sh [OUT_DIR]   (default work_dirs/ablation_toy)
# Env:     PYTHON        interpreter (default: python)
#          SEEDS         space-separated training seeds (default: "0 1 2")
#          ITERS         training iterations a run (default: the config's);
#                        also sets the val and checkpoint intervals, e.g. ITERS=20 to smoke-test
#          VAL_SAMPLES   score only the first N val and test videos (default: all)
#          ONLY          space-separated variant names to run (default: all)
#          EXTRA_OPTIONS more --cfg-options for every run (e.g. "train_dataloader.num_workers=0")
#
# Layout: $OUT_DIR/<variant>/seed<k>/{variant.json,final_metrics.json,train.log,test.log}
# plus the checkpoints. Resumable: a run whose final_metrics.json (and variant.json,
# written right after it) exists is skipped; any other run folder (cut off, or
# failed) is removed and the run starts again from scratch.
# Each run trains on the train split, keeps the checkpoint best on val (best_*.pth,
# else the last one) and is tested on the test split (the config's test_dataloader)
# with the same --cfg-options as its training, the seed aside. A run that fails is
# listed as failed; the others still run. The table is rewritten after every run.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python}
OUT_DIR=${1:-work_dirs/ablation_toy}
SEEDS=${SEEDS:-0 1 2}
ITERS=${ITERS:-}
VAL_SAMPLES=${VAL_SAMPLES:-}
ONLY=${ONLY:-}
EXTRA_OPTIONS=${EXTRA_OPTIONS:-}

# ======================================================================================
# THE VARIANTS: "name|config|--cfg-options of this variant|compared_with". Each row
# changes ONE thing against the row named in compared_with (which comes earlier); the
# table's delta columns are its mean minus that row's. "paper" is the reference: the
# toy recipe without our additions (configs/spacevllm_paper_toy.py: the paper's
# QueryGuidedSpaceDecoder, *when* written by the LLM alone). "recipe" is the toy
# (`make toy`'s model, configs/spacevllm_toy.py): the reference grid
# (ReferencePointSpaceDecoder), the frame score head on the decoder's states with a
# 3-frame convolution, and the span writer (FrameScoreSpanWriter), all ours. The rows
# between them add our parts one at a time (WHEN_OFF strips the *when* parts).
# A "_bare" baseline is its config without our additions (the paper's decoder, no
# *when* parts); the other baseline rows keep the recipe's additions.
#
# "sentence_first" puts the question before the video, so the frame and query states
# have seen the sentence (in LLaVA's video-first order they cannot: see
# docs/en/base_pretraining.md, "Why *when* is not learnt"); it shares no video prefix
# in evaluation (docs/en/shared_video_evaluation.md). "frame_time_stamps" writes each
# frame's time before it instead of one list in the intro. Both are ours, and both
# ask about the LLM's own *when*, so they are measured without the *when* parts.
#
# "tower_trained" and "tower_base" are diagnostics of the base, not additions: the
# first trains the base's tower in the grounding stage (the recipe freezes it), the
# second starts from a base whose tower was trained in both of its stages at the full
# rate (configs/base_pretrain/*_tower.py; made by the command in
# docs/en/base_pretraining.md before this row runs). Both ask whether the small
# base's near-random tower is what limits the toy. "deep_base" starts from a base
# whose LLM has 4 layers instead of 2 (configs/base_pretrain/*_deep.py), the same
# tower: does depth let the model read *when*? All three were measured before the
# *when* parts joined the recipe, against reference_grid.
#
# No row for the time-stamp pointer (TimeStampPointer, an addition of the scratch
# model, configs/scratch/): it needs each shown time to be one token, which the Qwen2
# BPE tokenizer of the recipe does not give (SnappedSpanAnswer.check_time_tokens
# raises), so on the recipe it cannot be switched on; the span writer is its
# stand-in there.
# ======================================================================================
WHEN_OFF="model.heads=[] model.frame_state_source=llm_queries model.logits_processors=[]"
BARE="model.space_decoder.frame_token_grid=None $WHEN_OFF"
VARIANTS=(
  "paper|configs/spacevllm_paper_toy.py||"
  "reference_grid|configs/spacevllm_toy.py|$WHEN_OFF|paper"
  "frame_score_head|configs/spacevllm_toy.py|model.heads=[QuerySpanScoreHead] model.frame_state_source=llm_queries model.logits_processors=[]|reference_grid"
  "frame_states_from_decoder|configs/spacevllm_toy.py|model.heads=[QuerySpanScoreHead] model.logits_processors=[]|frame_score_head"
  "span_writer|configs/spacevllm_toy.py|model.heads=[QuerySpanScoreHead]|frame_states_from_decoder"
  "recipe|configs/spacevllm_toy.py||span_writer"
  "snapped_answers|configs/spacevllm_toy.py|model.answer.type=SnappedSpanAnswer|recipe"
  "sentence_first|configs/spacevllm_toy.py|model.prompt.sentence_first=True $WHEN_OFF|reference_grid"
  "frame_time_stamps|configs/spacevllm_toy.py|model.prompt.time_style=frame_prefix $WHEN_OFF|reference_grid"
  "appended_queries_bare|configs/baselines/appended_queries_toy.py|$BARE|paper"
  "appended_queries|configs/baselines/appended_queries_toy.py||recipe"
  "mlp_box_head_bare|configs/baselines/mlp_box_head_toy.py|$WHEN_OFF|paper"
  "mlp_box_head|configs/baselines/mlp_box_head_toy.py||recipe"
  "qgsd_parameter_free_bare|configs/baselines/qgsd_parameter_free_toy.py|$BARE|paper"
  "qgsd_parameter_free|configs/baselines/qgsd_parameter_free_toy.py||recipe"
  "text_boxes|configs/baselines/text_boxes_toy.py||paper"
  "tower_trained|configs/spacevllm_toy_tower_trained.py|$WHEN_OFF|reference_grid"
  "tower_base|configs/spacevllm_toy.py|model.llava_onevision_path=data/pretrained/llava_video_tiny_tower $WHEN_OFF|reference_grid"
  "deep_base|configs/spacevllm_toy.py|model.llava_onevision_path=data/pretrained/llava_video_tiny_deep $WHEN_OFF|reference_grid"
)
# ======================================================================================

SCHEDULE_OPTIONS=""
if [[ -n $ITERS ]]; then
  SCHEDULE_OPTIONS="train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS"
  SCHEDULE_OPTIONS+=" default_hooks.checkpoint.interval=$ITERS"
fi
VAL_OPTIONS=""
if [[ -n $VAL_SAMPLES ]]; then
  VAL_OPTIONS="val_dataloader.dataset.indices=$VAL_SAMPLES test_dataloader.dataset.indices=$VAL_SAMPLES"
fi

write_table() {
  # shellcheck disable=SC2086
  "$PYTHON" tools/analysis_tools/ablation_table.py "$OUT_DIR" --seeds $SEEDS
}

# Writes <run_dir>/variant.json; the config's max_iters when ITERS is unset.
write_variant_json() {
  "$PYTHON" - "$@" <<'PY'
import json, os, sys
(path, index, name, config, options, compared_with, seed, iters, seconds, checkpoint,
 status) = sys.argv[1:]
threads = os.environ.get('OMP_NUM_THREADS')  # unset: torch's default, every core
if not iters:
    from mmengine.config import Config
    iters = Config.fromfile(config).train_cfg.get('max_iters')
with open(path, 'w') as file:
    json.dump(dict(index=int(index), name=name, config=config, cfg_options=options,
                   compared_with=compared_with or None, seed=int(seed),
                   iters=int(iters) if iters else None, seconds=float(seconds),
                   checkpoint=checkpoint, status=status,
                   threads=int(threads) if threads else os.cpu_count()), file, indent=2)
PY
}

read -r -a seeds <<< "$SEEDS"
mkdir -p "$OUT_DIR"
echo "[ablation] ${#VARIANTS[@]} variants x ${#seeds[@]} seeds (${seeds[*]}) -> $OUT_DIR" \
     "(iterations: ${ITERS:-as configured})"

index=0
for entry in "${VARIANTS[@]}"; do
  IFS='|' read -r name config options compared_with <<< "$entry"
  index=$((index + 1))
  if [[ -n $ONLY && " $ONLY " != *" $name "* ]]; then
    continue
  fi
  # shellcheck disable=SC2206
  run_opts=($SCHEDULE_OPTIONS $VAL_OPTIONS $options $EXTRA_OPTIONS)
  # argparse refuses a bare --cfg-options: pass it only with options behind it.
  test_cfg_options=()
  [[ ${#run_opts[@]} -eq 0 ]] || test_cfg_options=(--cfg-options "${run_opts[@]}")
  for seed in "${seeds[@]}"; do
    run_dir="$OUT_DIR/$name/seed$seed"
    if [[ -f $run_dir/final_metrics.json && -f $run_dir/variant.json ]]; then
      echo "[ablation] ($index/${#VARIANTS[@]}) $name seed $seed: done, skipped"
      continue
    fi
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    echo "[ablation] ($index/${#VARIANTS[@]}) $name seed $seed: $config ${options:-(as configured)}"
    start=$(date +%s)
    status=ok
    checkpoint=""
    if ! "$PYTHON" tools/train.py "$config" --work-dir "$run_dir" \
        --cfg-options "randomness.seed=$seed" "${run_opts[@]}" > "$run_dir/train.log" 2>&1; then
      status="training failed (see $run_dir/train.log)"
    else
      checkpoint=$(ls -t "$run_dir"/best_*.pth 2>/dev/null | head -n 1 || true)
      [[ -n $checkpoint ]] || checkpoint=$(cat "$run_dir/last_checkpoint" 2>/dev/null || true)
      if [[ -z $checkpoint ]]; then
        status="no checkpoint (see $run_dir/train.log)"
      elif ! "$PYTHON" tools/test.py "$config" "$checkpoint" --work-dir "$run_dir" \
          --metrics-out "$run_dir/final_metrics.json" \
          "${test_cfg_options[@]}" > "$run_dir/test.log" 2>&1; then
        status="test failed (see $run_dir/test.log)"
        rm -f "$run_dir/final_metrics.json"
      fi
    fi
    seconds=$(( $(date +%s) - start ))
    echo "[ablation]   $status, $seconds s"
    write_variant_json "$run_dir/variant.json" "$index" "$name" "$config" "$options" \
        "$compared_with" "$seed" "$ITERS" "$seconds" "$checkpoint" "$status"
    write_table > /dev/null || echo "[ablation]   (the table could not be written yet)"
  done
done

if [[ -f $OUT_DIR/trivial_metrics.json ]]; then
  echo "[ablation] the trivial answer: scored already"
else
  echo "[ablation] scoring the trivial answer on the test split"
  # shellcheck disable=SC2086
  "$PYTHON" tools/analysis_tools/trivial_baseline.py configs/spacevllm_toy.py \
    --out "$OUT_DIR/trivial_metrics.json" ${VAL_OPTIONS:+--cfg-options $VAL_OPTIONS} > /dev/null
fi
write_table
