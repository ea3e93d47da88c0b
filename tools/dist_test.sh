#!/usr/bin/env bash
# Distributed testing with torchrun (see dist_launch.sh for the settings).
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py arguments...]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 CONFIG CHECKPOINT NPROC [test.py arguments...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$NPROC" "$CONFIG" \
    "$CHECKPOINT" "$@"
