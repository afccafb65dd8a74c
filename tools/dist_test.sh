#!/usr/bin/env bash
# Distributed testing on one node: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
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
    "$REPO_DIR/tools/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
