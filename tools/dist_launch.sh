#!/usr/bin/env bash
# Runs a tool under torchrun; used by dist_train.sh and dist_test.sh.
#   bash tools/dist_launch.sh TOOL NPROC [TOOL arguments...]
# TOOL (train.py or test.py, beside this script) gets --launcher pytorch:
# gloo on CPU, nccl on GPU. Optional environment: NNODES (1), NODE_RANK (0),
# MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (python).
set -euo pipefail
TOOL=$1
NPROC=$2
shift 2
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$TOOLS_DIR/$TOOL" "$@" --launcher pytorch
