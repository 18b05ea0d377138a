#!/usr/bin/env bash
# Trains configs/tiny.yaml in fp32, bf16 and fp16 (one thread, 50 steps, seconds) and prints each
# final checkpoint's content hash (scripts/checkpoint_hash.py): the check that a change left
# training bit-identical. Compare the output before and after a change, on the same CPU (bf16's
# bits depend on the CPU's native kernels, docs/MIXED-PRECISION.md).
#
# usage: scripts/tiny_hashes.sh [NURTURE_BINARY [OUTDIR]]   (from the repository root)
set -euo pipefail
BIN=${1:-build/cli/nurture}
OUT=${2:-$(mktemp -d)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
for d in fp32 bf16 fp16; do
  rm -rf "$OUT/$d"
  "$BIN" train configs/tiny.yaml precision.dtype=$d output.dir="$OUT/$d" train.threads=1 >"$OUT/$d.log" 2>&1
done
cd "$OUT" && "$HERE/checkpoint_hash.py" fp32/checkpoints/*.h5 bf16/checkpoints/*.h5 fp16/checkpoints/*.h5
