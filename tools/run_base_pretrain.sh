#!/usr/bin/env bash
# Pretrain the tiny base video LLM here, the way LLaVA-Video's recipe starts, and export it
# in lmms-lab's llava_qwen layout (docs/en/base_pretraining.md):
#   1. random SigLIP + random Qwen2 (cut vocabulary) + the real Qwen2 tokenizer
#      (tools/misc/create_base_init.py)
#   2. stage 1, alignment on captions   (configs/base_pretrain/llava_video_tiny_stage1_align.py)
#   3. stage 2, video instruction tuning (configs/base_pretrain/llava_video_tiny_stage2_sft.py)
#   4. export to $BASE_DIR               (tools/model_converters/export_llava_qwen.py)
# Each step is skipped when its output exists, so a cut-off run resumes at the step it was in.
# Usage: PYTHON=.venv/bin/python bash tools/run_base_pretrain.sh
# Env:   BASE_DIR  where the base is exported (default data/pretrained/llava_video_tiny)
#        STAGE1, STAGE2  the stage configs (default the two below); each stage's work
#                  dir is work_dirs/<its config's name>, and stage 2 starts from stage 1's
#                  last checkpoint, whatever its config's load_from says
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
BASE_DIR=${BASE_DIR:-data/pretrained/llava_video_tiny}
STAGE1=${STAGE1:-configs/base_pretrain/llava_video_tiny_stage1_align.py}
STAGE2=${STAGE2:-configs/base_pretrain/llava_video_tiny_stage2_sft.py}
WORK1=work_dirs/$(basename "$STAGE1" .py)
WORK2=work_dirs/$(basename "$STAGE2" .py)

max_iters() {
  "$PYTHON" -c "from mmengine.config import Config; print(Config.fromfile('$1').max_iters)"
}

if [[ -f $BASE_DIR/config.json ]]; then
  echo "[base] $BASE_DIR exists; nothing to do"
  exit 0
fi
init_dir=$("$PYTHON" -c "from mmengine.config import Config; print(Config.fromfile('$STAGE1').base_init)")
if [[ ! -f $init_dir/base_init.json ]]; then
  echo "[base] writing the random initial parts to $init_dir"
  "$PYTHON" tools/misc/create_base_init.py "$STAGE1"
fi
last1="$WORK1/iter_$(max_iters "$STAGE1").pth"
if [[ ! -f $last1 ]]; then
  echo "[base] stage 1: alignment ($STAGE1)"
  "$PYTHON" tools/train.py "$STAGE1" --work-dir "$WORK1"
fi
last2="$WORK2/iter_$(max_iters "$STAGE2").pth"
if [[ ! -f $last2 ]]; then
  echo "[base] stage 2: instruction tuning ($STAGE2)"
  "$PYTHON" tools/train.py "$STAGE2" --work-dir "$WORK2" --cfg-options "load_from=$last1"
fi
echo "[base] exporting $last2 to $BASE_DIR (llava_qwen layout)"
"$PYTHON" tools/model_converters/export_llava_qwen.py "$STAGE2" "$last2" "$BASE_DIR"
