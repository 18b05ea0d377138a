#!/usr/bin/env bash
# The demo: train configs/small.yaml on the shipped TinyStories excerpt, then print the final
# validation loss and a sample from the trained model.
set -euo pipefail
BUILD=${1:-build}
RUN=runs/demo
"$BUILD/cli/nurture" train configs/small.yaml output.dir=$RUN --resume
echo
echo "== final validation =="
tail -n 1 "$RUN/metrics.jsonl"
CKPT=$(ls "$RUN"/checkpoints/step_*.h5 | sort | tail -n 1)
echo
echo "== sample from $CKPT =="
"$BUILD/cli/nurture" sample "$CKPT" --prompt "Once upon a time" --tokens 80 --temperature 0.7 --top-k 40
