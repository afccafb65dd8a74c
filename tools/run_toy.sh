#!/usr/bin/env bash
# The README's main job, on the embedded default: generate the synthetic STVG set and the
# tiny random "pretrained" parts if they are missing, train the toy SpaceVLLM on CPU, test
# its best checkpoint, score the trivial answer on the same set, and write both to
#   $WORK_DIR/final_metrics.json
# Usage: bash tools/run_toy.sh   (make toy runs it inside the project's .venv)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
CONFIG=${CONFIG:-configs/spacevllm_toy.py}
WORK_DIR=${WORK_DIR:-work_dirs/spacevllm_toy}
DATA_DIR=data/synthetic_stvg
TOY_PRETRAINED=data/pretrained/toy

# The toy set's recipe: 1000 training videos, 300 to choose checkpoints on (val), 300 to
# report on (test), shapes of 24-36 % of the frame side
# (configs/_base_/datasets/synthetic_stvg.py). A set made with another recipe
# (e.g. by an older mmstvg) is made again.
DATA_RECIPE="--num-train 1000 --num-val 300 --num-test 300 --object-size 0.12 0.18 --seed 0"
if [[ ! -f $DATA_DIR/annotations/hcstvg_v1_test.json ]] || \
   [[ "$(cat "$DATA_DIR/RECIPE" 2>/dev/null)" != "$DATA_RECIPE" ]]; then
  echo "[toy] generating the synthetic STVG set in $DATA_DIR ($DATA_RECIPE)"
  rm -rf "$DATA_DIR"
  # shellcheck disable=SC2086
  "$PYTHON" tools/dataset_converters/generate_synthetic_stvg.py --out-dir "$DATA_DIR" \
    $DATA_RECIPE > /dev/null
  echo "$DATA_RECIPE" > "$DATA_DIR/RECIPE"
fi
if [[ ! -f $TOY_PRETRAINED/toy_pretrained.json ]]; then
  echo "[toy] writing tiny random SigLIP + Qwen2 + toy tokenizer to $TOY_PRETRAINED"
  "$PYTHON" tools/misc/create_toy_pretrained.py "$TOY_PRETRAINED"
fi

echo "[toy] training $CONFIG (work dir $WORK_DIR)"
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"

best=$(ls -t "$WORK_DIR"/best_*.pth 2>/dev/null | head -n 1 || true)
if [[ -z $best ]]; then
  best=$(cat "$WORK_DIR/last_checkpoint")
fi
echo "[toy] testing $best"
"$PYTHON" tools/test.py "$CONFIG" "$best" --work-dir "$WORK_DIR" \
  --out-prefix "$WORK_DIR/predictions" --metrics-out "$WORK_DIR/model_metrics.json"
echo "[toy] scoring the trivial answer (whole video, centred box)"
"$PYTHON" tools/analysis_tools/trivial_baseline.py "$CONFIG" \
  --out "$WORK_DIR/trivial_metrics.json" > /dev/null

"$PYTHON" - "$WORK_DIR" "$best" <<'PY'
import json, os.path as osp, sys
work_dir, checkpoint = sys.argv[1], sys.argv[2]
model = json.load(open(osp.join(work_dir, 'model_metrics.json')))
trivial = json.load(open(osp.join(work_dir, 'trivial_metrics.json')))
keys = [k for k in model if k.split('/')[-1] in ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5')]
final = dict(checkpoint=checkpoint, model=model, trivial_answer=trivial)
with open(osp.join(work_dir, 'final_metrics.json'), 'w') as f:
    json.dump(final, f, indent=2)
print(f"{'metric':<16}{'toy SpaceVLLM':>16}{'trivial answer':>16}")
for key in keys:
    print(f"{key:<16}{model[key]:>16.2f}{trivial.get(key, float('nan')):>16.2f}")
print(f"[toy] written {osp.join(work_dir, 'final_metrics.json')}")
PY
# The README's toy table must match this run (default config and schedule only; see the script).
if [[ $CONFIG == configs/spacevllm_toy.py && $# -eq 0 && ${CHECK_README:-1} == 1 ]]; then "$PYTHON" tools/misc/check_readme_figures.py --metrics "$WORK_DIR/final_metrics.json"; fi
