#!/usr/bin/env bash
# One prepared GPU run: images/s of the generate loop by batch size, eager vs torch.compile,
# fp32 vs bf16 (bench/gpu.py), on the first CUDA device. Prints the device, then the table;
# with $OUT set (the device tool's output folder) it also writes $OUT/gpu.json and gpu.md.
#
#   bench/gpu.sh                      # on a lent GPU: batch sizes 1,16,64,256, 3 reps
#   bench/gpu.sh --dry-run            # on a CPU: checks the script with tiny sizes
#   bench/gpu.sh --batch-sizes 32,256 --budget-s 200
#
# Budget: one device command may run 10 minutes; the script starts no new batch size after
# --budget-s (420 s by default), so the table it has printed by then is what comes back.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
          "available", torch.cuda.is_available())'
if [ -n "${OUT:-}" ]; then
    "$PY" -m bench.gpu "$@" | tee "$OUT/gpu.md"
else
    "$PY" -m bench.gpu "$@"
fi
