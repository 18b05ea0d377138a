#!/usr/bin/env bash
# Tokens/s and memory of nurture's training step vs model size and vs sequence length.
#   size: tiny (V2048 d128 L4 H4 T128 B16), small = the benchmark model (V4096 d256 L6 H8 T256
#         B16), medium (V8192 d512 L8 H8 T256 B8), gpt2-small (V50257 d768 L12 H12 T512 B4, 124M
#         parameters; random tokens, so the vocabulary need not come from a tokenizer)
#   seq:  the benchmark model at T = 128, 256, 512, 1024 with B·T = 4096 tokens per step
# One bench_train run per row (fp32, exact GELU, dropout 0.1), all results as JSON lines in
# OUT/scale.jsonl and a markdown table in OUT/scale.md (also printed).
#
#   bench/scale_sweep.sh BUILD_DIR OUT_DIR
# Environment: SWEEP_THREADS (default 2), SWEEP_STEPS (default 5, the first SWEEP_SKIP=2 untimed),
# SWEEP_ONLY (substring filter on the row label, e.g. "seq" or "gpt2").
set -uo pipefail

if [[ $# -ne 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 2 ]] && exit 0 || exit 2
fi
BIN=$1/bench/bench_train
OUT=$2
THREADS=${SWEEP_THREADS:-2}
STEPS=${SWEEP_STEPS:-5}
SKIP=${SWEEP_SKIP:-2}
ONLY=${SWEEP_ONLY:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $BIN ]] || { echo "scale_sweep.sh: $BIN not found (build the bench_train target)" >&2; exit 1; }
mkdir -p "$OUT"
JSONL=$OUT/scale.jsonl
: >"$JSONL.tmp"

rows=(
  "size tiny|--preset tiny"
  "size small|--preset small"
  "size medium|--preset medium"
  "size gpt2-small|--vocab 50257 --d 768 --layers 12 --heads 12 --seq 512 --batch 4"
  "seq 128|--preset small --seq 128 --batch 32"
  "seq 256|--preset small --seq 256 --batch 16"
  "seq 512|--preset small --seq 512 --batch 8"
  "seq 1024|--preset small --seq 1024 --batch 4"
)
status=0
for row in "${rows[@]}"; do
  label=${row%%|*}
  args=${row#*|}
  [[ -n $ONLY && $label != *"$ONLY"* ]] && continue
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  # shellcheck disable=SC2086
  if line=$(OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive "$BIN" $args --threads "$THREADS" --steps "$STEPS" \
      --skip "$SKIP" --no-ceiling); then
    echo "{\"label\":\"$label\",\"args\":\"$args\",\"load_start\":\"$load\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"run\":$line}" >>"$JSONL.tmp"
    echo "$label: done" >&2
  else
    echo "$label: FAILED" >&2
    status=1
  fi
done
mv "$JSONL.tmp" "$JSONL"

python3 - "$JSONL" "$THREADS" >"$OUT/scale.md.tmp" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"| row | params | B×T | tokens/s | tokens/CPU-s | step ms | GFLOP/s | peak RSS MB | act. arena MB | grad arena MB | load (start) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    j = r["run"]
    print(f"| {r['label']} | {j['params']/1e6:.1f}M | {j['batch']}×{j['seq']} | {j['tokens_per_s_median']:.0f} | "
          f"{j.get('tokens_per_cpu_s_median', float('nan')):.0f} | {j['step_ms_median']:.0f} | {j['gflops']:.1f} | "
          f"{j['peak_rss_mb']:.0f} | {j['activation_arena_mb']:.0f} | {j['gradient_arena_mb']:.0f} | {r['load_start']} |")
EOF
mv "$OUT/scale.md.tmp" "$OUT/scale.md"
cat "$OUT/scale.md"
exit $status
