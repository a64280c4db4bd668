#!/usr/bin/env bash
# The short check a lent GPU runs (under 8 minutes): one JSON line per check, a JSON summary last.
#   bash bench/gpu_check.sh                  (from anywhere; PYTHON=... picks the interpreter)
#   bash bench/gpu_check.sh --smoke          (no GPU: the same checks on the CPU with tiny models)
#   bash bench/gpu_check.sh --only device vpred_sdxl
# The checks are in bench/gpu_check.py; the exit status is 0 only when every check is ok.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" bench/gpu_check.py "$@"
