#!/usr/bin/env bash
# Distributed training with torchrun (see dist_launch.sh for the settings).
#   bash tools/dist_train.sh CONFIG NPROC [tools/train.py arguments...]
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash $0 CONFIG NPROC [train.py arguments...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$NPROC" "$CONFIG" "$@"
