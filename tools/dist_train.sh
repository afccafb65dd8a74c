#!/usr/bin/env bash
# Distributed training on one node: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# On a CPU-only machine the processes talk over gloo (set in the config's env_cfg).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
# The project's Python: $PYTHON, else the repository's .venv, else python3.
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_DIR/.venv/bin/python" ]; then
        PYTHON="$REPO_DIR/.venv/bin/python"
    else
        PYTHON=python3
    fi
fi

PYTHONPATH="$REPO_DIR":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$REPO_DIR/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
