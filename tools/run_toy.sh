#!/usr/bin/env bash
# The README's main job, on the embedded default (docs/en/base_pretraining.md):
#   1. the synthetic STVG set, if missing            (data/synthetic_stvg)
#   2. the small base video LLM, if missing           (tools/run_base_pretrain.sh:
#      LLaVA-Video's two stages on captions and QA, exported in the llava_qwen layout
#      to data/pretrained/llava_video_tiny)
#   3. the base's zero-shot answers on the test split  (tools/analysis_tools/base_zero_shot.py)
#   4. the full-size recipe at reduced width on that base (configs/spacevllm_toy.py),
#      its checkpoint chosen on val, then tested on test
#   5. the trivial answer on the same test frames     (tools/analysis_tools/trivial_baseline.py)
# and writes the three side by side to $WORK_DIR/final_metrics.json.
# Usage: bash tools/run_toy.sh [--cfg-options ...]   (make toy runs it inside the project's .venv;
#        options go to the grounding training and its test)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
CONFIG=${CONFIG:-configs/spacevllm_toy.py}
WORK_DIR=${WORK_DIR:-work_dirs/spacevllm_toy}
DATA_DIR=data/synthetic_stvg
BASE_DIR=data/pretrained/llava_video_tiny
BASE_CONFIG=configs/base_pretrain/llava_video_tiny_stage2_sft.py
# The base is asked about this many test videos (each twice: a caption, "when").
ZERO_SHOT_VIDEOS=${ZERO_SHOT_VIDEOS:-300}

stamp() { date -u +%H:%M:%S; }
started=$(date +%s)

# The toy set's recipe: 1000 training videos, 300 to choose checkpoints on (val), 300 to
# report on (test), shapes of 24-36 % of the frame side
# (configs/_base_/datasets/synthetic_stvg.py). A set made with another recipe
# (e.g. by an older mmstvg) is made again.
DATA_RECIPE="--num-train 1000 --num-val 300 --num-test 300 --object-size 0.12 0.18 --seed 0"
if [[ ! -f $DATA_DIR/annotations/hcstvg_v1_test.json ]] || \
   [[ "$(cat "$DATA_DIR/RECIPE" 2>/dev/null)" != "$DATA_RECIPE" ]]; then
  echo "[toy] $(stamp) generating the synthetic STVG set in $DATA_DIR ($DATA_RECIPE)"
  rm -rf "$DATA_DIR"
  # shellcheck disable=SC2086
  "$PYTHON" tools/dataset_converters/generate_synthetic_stvg.py --out-dir "$DATA_DIR" \
    $DATA_RECIPE > /dev/null
  echo "$DATA_RECIPE" > "$DATA_DIR/RECIPE"
fi

echo "[toy] $(stamp) the base video LLM ($BASE_DIR)"
PYTHON="$PYTHON" BASE_DIR="$BASE_DIR" bash tools/run_base_pretrain.sh
base_done=$(date +%s)

mkdir -p "$WORK_DIR"
if [[ ! -f $WORK_DIR/base_zero_shot.json ]]; then
  echo "[toy] $(stamp) the base's zero-shot answers ($ZERO_SHOT_VIDEOS test videos)"
  "$PYTHON" tools/analysis_tools/base_zero_shot.py "$BASE_CONFIG" "$BASE_DIR" --split test \
    --num-videos "$ZERO_SHOT_VIDEOS" --out "$WORK_DIR/base_zero_shot.json" > /dev/null
fi

echo "[toy] $(stamp) training $CONFIG (work dir $WORK_DIR)"
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"

best=$(ls -t "$WORK_DIR"/best_*.pth 2>/dev/null | head -n 1 || true)
if [[ -z $best ]]; then
  best=$(cat "$WORK_DIR/last_checkpoint")
fi
echo "[toy] $(stamp) testing $best on the test split"
"$PYTHON" tools/test.py "$CONFIG" "$best" --work-dir "$WORK_DIR" \
  --out-prefix "$WORK_DIR/predictions" --metrics-out "$WORK_DIR/model_metrics.json" "$@"
echo "[toy] $(stamp) scoring the trivial answer (whole video, centred box)"
"$PYTHON" tools/analysis_tools/trivial_baseline.py "$CONFIG" \
  --out "$WORK_DIR/trivial_metrics.json" > /dev/null

finished=$(date +%s)
"$PYTHON" - "$WORK_DIR" "$best" "$((base_done - started))" "$((finished - base_done))" <<'PY'
import json, os.path as osp, sys
work_dir, checkpoint, base_seconds, grounding_seconds = sys.argv[1:]
model = json.load(open(osp.join(work_dir, 'model_metrics.json')))
trivial = json.load(open(osp.join(work_dir, 'trivial_metrics.json')))
zero_shot = json.load(open(osp.join(work_dir, 'base_zero_shot.json')))['figures']
final = dict(checkpoint=checkpoint, model=model, trivial_answer=trivial,
             base_zero_shot=zero_shot,
             seconds=dict(base=int(base_seconds), grounding=int(grounding_seconds)))
with open(osp.join(work_dir, 'final_metrics.json'), 'w') as f:
    json.dump(final, f, indent=2)
names = ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5', 'gt_vIoU')
keys = {k.split('/')[-1]: k for k in model}
print(f"{'test split':<16}{'base zero-shot':>16}{'toy SpaceVLLM':>16}{'trivial answer':>16}")
for name in names:
    if name not in keys:
        continue
    base = f"{zero_shot[name]:.2f}" if name in zero_shot else '-'
    print(f"{name:<16}{base:>16}{model[keys[name]]:>16.2f}"
          f"{trivial.get(keys[name], float('nan')):>16.2f}")
print(f"(the base answers in words: no boxes; it states {zero_shot['caption_sentence_recall']:.1f} % "
      f"of the reference captions' sentences, tIoU >= 0.5 on {zero_shot['R@0.5']:.1f} % of "
      f"{zero_shot['num_videos']} videos)")
print(f"[toy] base: {int(base_seconds) / 60:.1f} min (0 when cached), grounding + tests: "
      f"{int(grounding_seconds) / 60:.1f} min")
print(f"[toy] written {osp.join(work_dir, 'final_metrics.json')}")
PY
# The README's toy table must match this run (default config and schedule only; see the script).
if [[ $CONFIG == configs/spacevllm_toy.py && $# -eq 0 && ${CHECK_README:-1} == 1 ]]; then
  "$PYTHON" tools/misc/check_readme_figures.py --metrics "$WORK_DIR/final_metrics.json"
fi
