#!/usr/bin/env bash
# The full-size path's checks on one GPU (an H200, 139 GB), under 10 minutes:
# tools/analysis_tools/benchmark_full_length.py at 64 frames x LLaVA-Video's
# 210 tokens a frame (~13.7K tokens), random weights, built from the configs
# without any download. Each step has its own timeout; a failed or timed-out
# step is recorded and the next one runs.
#
#   1. 0.5B-shaped (Qwen2-0.5B widths, SigLIP-so400m tower), bf16 storage, sdpa:
#      seconds per sample SpaceVLLM vs the text-box baseline, training
#      tokens/s with AdamW, MFU, peak memory.                        (<= 140 s)
#   2. the same with flash-attn 2, where it is installed.           (<= 110 s)
#   3. 0.5B-shaped training through DeepSpeed ZeRO-2, then ZeRO-3,
#      on this one GPU (bf16, fp32 masters).                     (<= 80 s each)
#   4. 0.5B-shaped, 4 sentences about one video (VidSTG has 4.08 a
#      segment): sentences/s each alone vs sharing the video's decode,
#      vision pass and prompt prefix, and the projected VidSTG test pass.
#                                                                      (<= 90 s)
#   5. 7B-shaped (Qwen2-7B widths, 28 layers), bf16, sdpa: seconds per
#      sample of both models, forward + backward tokens/s with gradient
#      checkpointing (no optimizer: a 7B model's AdamW states do not fit one
#      GPU beside it), MFU, peak memory.                              (<= 140 s)
#
# Usage:  bash tools/analysis_tools/gpu_checks.sh            (JSON to $OUT, else ./gpu_checks)
#         bash tools/analysis_tools/gpu_checks.sh --device cpu --tiny   (CPU smoke, tiny widths)
#         ... --only small_sdpa[,big_sdpa]   (run only the named steps)
set -u
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
OUT_DIR=${OUT:-gpu_checks}
DEVICE=cuda
TINY=0
ONLY=
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=$2; shift 2 ;;
        --tiny) TINY=1; shift ;;
        --only) ONLY=,$2,; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
BENCH=tools/analysis_tools/benchmark_full_length.py
if [ "$TINY" = 1 ]; then
    # The same steps at tiny widths, 4 frames, 1 timed call: every code path
    # but the GPU's (bf16 / flash-attn / NCCL) runs.
    SMALL=(--llm-shape tiny --vision-shape tiny --num-frames 4 --infer-samples 1
           --train-iters 1 --warmup 0)
    BIG=("${SMALL[@]}")
    T_SMALL=240; T_FLASH=240; T_ZERO=240; T_BIG=240; T_SHARE=240
else
    SMALL=(--llm-shape 0.5b --vision-shape so400m --num-frames 64 --infer-samples 2
           --train-iters 3 --warmup 1)
    BIG=(--llm-shape 7b --vision-shape so400m --num-frames 64 --infer-samples 1
         --train-iters 2 --warmup 1 --optimizer none)
    T_SMALL=140; T_FLASH=110; T_ZERO=80; T_BIG=140; T_SHARE=90
fi
COMMON=(--device "$DEVICE")
[ "$DEVICE" = cpu ] && COMMON+=(--dtype fp32) || COMMON+=(--dtype bf16)
STATUS=()

step() {  # step NAME TIMEOUT_S ARGS...
    local name=$1 limit=$2; shift 2
    if [ -n "$ONLY" ] && [[ "$ONLY" != *",$name,"* ]]; then return; fi
    echo "=== $name (timeout ${limit}s)"
    local begin=$SECONDS
    timeout --kill-after=5 "$limit" "$PYTHON" "$BENCH" "${COMMON[@]}" "$@" \
        --out "$OUT_DIR/$name.json" 2>&1 | tail -n 6
    local rc=${PIPESTATUS[0]}
    STATUS+=("\"$name\": {\"rc\": $rc, \"seconds\": $((SECONDS - begin))}")
}

step small_sdpa "$T_SMALL" "${SMALL[@]}" --attn sdpa
if "$PYTHON" -c 'import flash_attn' 2>/dev/null && [ "$DEVICE" != cpu ]; then
    step small_flash_attn "$T_FLASH" "${SMALL[@]}" --attn flash_attention_2
else
    echo "=== small_flash_attn: flash_attn not installed (or CPU), skipped"
fi
if "$PYTHON" -c 'import deepspeed' 2>/dev/null; then
    for stage in 2 3; do
        step "small_zero$stage" "$T_ZERO" "${SMALL[@]}" --attn sdpa --skip infer \
            --zero "$stage"
    done
else
    echo "=== ZeRO: deepspeed not installed, skipped"
fi
step small_shared_k4 "$T_SHARE" "${SMALL[@]}" --attn sdpa --skip infer --skip train \
    --sentences-per-video 4
step big_sdpa "$T_BIG" "${BIG[@]}" --attn sdpa

# One JSON: every step's result (or its status) under its name.
"$PYTHON" - "$OUT_DIR" "{${STATUS[*]}}" <<'EOF'
import glob, json, os, sys
out_dir = sys.argv[1]
status = json.loads(sys.argv[2].replace('} "', '}, "'))
summary = dict(status=status)
for path in sorted(glob.glob(os.path.join(out_dir, '*.json'))):
    name = os.path.basename(path)[:-5]
    if name in status:
        summary[name] = json.load(open(path))
with open(os.path.join(out_dir, 'gpu_checks.json'), 'w') as f:
    json.dump(summary, f, indent=1)
print(json.dumps(summary))
EOF
