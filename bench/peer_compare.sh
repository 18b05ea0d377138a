#!/usr/bin/env bash
# Training throughput of nurture vs the PyTorch peer (bench/peers/torch_gpt.py) on the same model
# preset and thread count, measured in one run.
#
#   bench/peer_compare.sh BUILD_DIR [preset] [--rounds N] [--threads N] [--steps N] [--skip N]
#                         [--peak GFLOPS] [--out DIR]
#
# preset: tiny | small (the benchmark model, default) | medium.
# Runs are interleaved round by round — nurture and torch, each with the default OpenMP wait policy
# and with OMP_WAIT_POLICY=passive — so machine noise hits all four alike. Each run reports its median
# step time over --steps minus --skip warm-up steps; the summary takes the median over rounds. Debian's
# torch build can oversubscribe the cores without the passive wait policy (peer README), and spinning
# OpenMP threads collapse when other processes compete for the cores, so each side is run under both
# policies and quoted at its better one (both are recorded).
# Writes OUT/peer_<preset>.json (OUT defaults to BUILD_DIR/bench-results) and the raw per-run JSON
# lines under OUT/raw/. Without an importable torch the file records "torch unavailable" instead.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
[[ $# -ge 1 ]] || usage 2
[[ $1 == -h || $1 == --help ]] && usage 0
BUILD=$1; shift
PRESET=small
if [[ $# -ge 1 && $1 != --* ]]; then PRESET=$1; shift; fi
ROUNDS=3
THREADS=${BENCH_THREADS:-2}
STEPS=13
SKIP=3
PEAK=""
OUT=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --skip) SKIP=$2; shift 2 ;;
    --peak) PEAK=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "peer_compare.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
case $PRESET in tiny|small|medium) ;; *) echo "peer_compare.sh: unknown preset '$PRESET' (tiny, small, medium)" >&2; exit 2 ;; esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$BUILD/bench/bench_train
if [[ ! -x $BIN ]]; then
  echo "peer_compare.sh: $BIN not found; build it with: cmake --build $BUILD --target bench_train" >&2
  exit 1
fi
OUT=${OUT:-$BUILD/bench-results}
[[ -n $PEAK ]] || PEAK=$(( 115 * THREADS ))  # fp32 FMA peak of a Zen 4 core at ~3.6 GHz: 32 FLOP/cycle
RAW=$OUT/raw/peer_$PRESET
mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.err

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
if [[ -z $PY ]]; then
  echo "peer_compare.sh: python3 is needed to summarise the runs (apt-get install python3)" >&2
  exit 1
fi
TORCH_STATUS=ok
TORCH_BLAS=""
# The BLAS torch's matmuls actually load: Debian's torch links libblas.so.3, which is the reference
# (unoptimised, ~6 GFLOP/s) implementation unless OpenBLAS/BLIS is installed (libtorch recommends
# libopenblas0; `apt-get --no-install-recommends` skips it) — a peer 20-40x slower than it should be.
if ! TORCH_BLAS=$("$PY" -c '
import torch
torch.ones(64, 64) @ torch.ones(64, 64)
print(" ".join(sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and "/" in l})))
' 2>&1); then
  TORCH_STATUS="torch unavailable: $(echo "$TORCH_BLAS" | tail -1) (apt-get install python3-torch)"
  TORCH_BLAS=""
  echo "peer_compare.sh: $TORCH_STATUS; measuring nurture only" >&2
elif [[ $TORCH_BLAS != *openblas* && $TORCH_BLAS != *blis* && $TORCH_BLAS != *mkl* && $TORCH_BLAS != *atlas* ]]; then
  echo "peer_compare.sh: WARNING: torch uses the reference BLAS ($TORCH_BLAS); the peer will be far slower" \
       "than a normal install. Install an optimised one: apt-get install libopenblas0" >&2
fi
TIMEOUT=${BENCH_TIMEOUT:-3600}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(loadavg)

# run NAME ROUND CMD...: one benchmark process; its JSON line goes to RAW/NAME_rROUND.json.
run() {
  local name=$1 round=$2; shift 2
  local out=$RAW/${name}_r$round.json err=$RAW/${name}_r$round.err
  local load; load=$(loadavg)
  if timeout "$TIMEOUT" "$PY" "$HERE/summarize.py" run "$@" >"$out.tmp" 2>"$err"; then
    tail -1 "$out.tmp" >"$out"
    rm -f "$out.tmp"
    echo "  round $round $name: $("$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); print(d["tokens_per_s_median"], "tokens/s")' "$out") (load $load)" >&2
  else
    echo "  round $round $name: FAILED (exit $?; see $err)" >&2
    rm -f "$out.tmp"
  fi
}

echo "peer_compare: preset $PRESET, $THREADS threads, $ROUNDS rounds of $STEPS steps ($SKIP warm-up); load $LOAD_START" >&2
for ((r = 1; r <= ROUNDS; r++)); do
  run nurture_default "$r" env -u OMP_WAIT_POLICY OMP_NUM_THREADS="$THREADS" "$BIN" --preset "$PRESET" \
    --threads "$THREADS" --steps "$STEPS" --skip "$SKIP" --peak "$PEAK"
  run nurture_passive "$r" env OMP_NUM_THREADS="$THREADS" OMP_WAIT_POLICY=passive "$BIN" --preset "$PRESET" \
    --threads "$THREADS" --steps "$STEPS" --skip "$SKIP" --peak "$PEAK"
  if [[ $TORCH_STATUS == ok ]]; then
    run torch_passive "$r" env OMP_NUM_THREADS="$THREADS" OMP_WAIT_POLICY=passive "$PY" "$HERE/peers/torch_gpt.py" \
      --config "$PRESET" --precision fp32 --threads "$THREADS" --steps "$STEPS" --skip "$SKIP" --peak "$PEAK"
    run torch_default "$r" env -u OMP_WAIT_POLICY OMP_NUM_THREADS="$THREADS" "$PY" "$HERE/peers/torch_gpt.py" \
      --config "$PRESET" --precision fp32 --threads "$THREADS" --steps "$STEPS" --skip "$SKIP" --peak "$PEAK"
  fi
done

"$PY" "$HERE/summarize.py" peer --raw "$RAW" --preset "$PRESET" --threads "$THREADS" --rounds "$ROUNDS" \
  --steps "$STEPS" --skip "$SKIP" --peak "$PEAK" --torch-status "$TORCH_STATUS" --torch-blas "$TORCH_BLAS" \
  --load-start "$LOAD_START" --load-end "$(loadavg)" --out "$OUT/peer_$PRESET.json"
