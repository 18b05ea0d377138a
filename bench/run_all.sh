#!/usr/bin/env bash
# The standard benchmark set (`make bench`):
#   1. peer comparison with PyTorch on `small` (the benchmark model: V4096 d256 L6 H8 T256 B16)
#   2. peer comparison on `tiny` (V2048 d128 L4 H4 T128 B16)
#   3. nurture alone on configs/small.yaml's shape with the trainer's defaults
#      (V4096 d192 L4 H6 T128 B16, dropout 0, tanh GELU, decayed embeddings)
#   4. real int8 inference vs fp32 on the benchmark model (bench_int8 → int8.jsonl)
#   5. with MPI built: bench_mpi.sh (1 rank x 2 threads vs 2 ranks x 1 thread) -> mpi_small.json
# Every result is JSON in BUILD_DIR/bench-results/ (raw per-run lines under raw/); a summary table
# goes to stdout and BUILD_DIR/bench-results/summary.txt.
#
#   bench/run_all.sh BUILD_DIR
# Environment: BENCH_THREADS (default 2), BENCH_ROUNDS (default 3), BENCH_TIMEOUT (s per run, 3600).
set -uo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
BUILD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$BUILD/bench-results
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
BIN=$BUILD/bench/bench_train
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
[[ -n $PY ]] || { echo "run_all.sh: python3 is required" >&2; exit 1; }

if [[ ! -x $BIN ]]; then
  echo "run_all.sh: building bench_train in $BUILD" >&2
  cmake --build "$BUILD" --target bench_train -j "$(nproc)" || exit 1
fi
mkdir -p "$OUT"
echo "run_all: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
status=0

"$HERE/peer_compare.sh" "$BUILD" small --threads "$THREADS" --rounds "$ROUNDS" --out "$OUT" || status=1
"$HERE/peer_compare.sh" "$BUILD" tiny --threads "$THREADS" --rounds "$ROUNDS" --out "$OUT" || status=1

# configs/small.yaml's model (keep in sync with that file), trained the way `nurture train` does.
RAW=$OUT/raw/train_small_yaml
mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.err
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "train_small_yaml: configs/small.yaml shape, $THREADS threads, $ROUNDS runs" >&2
for ((r = 1; r <= ROUNDS; r++)); do
  for policy in default passive; do
    name=nurture_${policy}_r$r
    wait_env=(-u OMP_WAIT_POLICY)
    [[ $policy == passive ]] && wait_env=(OMP_WAIT_POLICY=passive)
    if env "${wait_env[@]}" OMP_NUM_THREADS="$THREADS" timeout "${BENCH_TIMEOUT:-3600}" "$BIN" --vocab 4096 --d 192 \
        --layers 4 --heads 6 --seq 128 --batch 16 --dropout 0 --gelu tanh --decay-embeddings --threads "$THREADS" \
        --steps 23 --skip 3 >"$RAW/$name.json" 2>"$RAW/$name.err"; then
      echo "  round $r nurture_$policy: $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens_per_s_median"], "tokens/s")' "$RAW/$name.json")" >&2
    else
      echo "  round $r nurture_$policy: FAILED (see $RAW/$name.err)" >&2
      rm -f "$RAW/$name.json"
      status=1
    fi
  done
done
"$PY" "$HERE/summarize.py" train --raw "$RAW" --label "configs/small.yaml" --load-start "$LOAD_START" \
  --load-end "$(cut -d' ' -f1-3 /proc/loadavg)" --out "$OUT/train_small_yaml.json" || status=1

# Real int8 inference vs fp32 (bench_int8: GEMM shapes, prefill tokens/s, weight memory; JSON lines).
INT8_BIN=$BUILD/bench/bench_int8
[[ -x $INT8_BIN ]] || cmake --build "$BUILD" --target bench_int8 -j "$(nproc)" || status=1
if [[ -x $INT8_BIN ]]; then
  echo "int8: bench_int8 --threads $THREADS" >&2
  timeout "${BENCH_TIMEOUT:-3600}" "$INT8_BIN" --threads "$THREADS" >"$OUT/int8.jsonl" 2>"$OUT/int8.err" || status=1
fi

# MPI data parallelism (1 rank x 2 threads vs 2 ranks x 1 thread), only in builds with NURTURE_MPI.
if [[ -x $BUILD/bench/bench_mpi_allreduce ]] && command -v mpirun >/dev/null; then
  "$HERE/bench_mpi.sh" "$BUILD" >/dev/null || status=1
fi

echo
results=()
for f in peer_small peer_tiny train_small_yaml; do [[ -f $OUT/$f.json ]] && results+=("$OUT/$f.json"); done
if [[ ${#results[@]} -gt 0 ]]; then
  "$PY" "$HERE/summarize.py" table "${results[@]}" | tee "$OUT/summary.txt"
fi
echo "results: $OUT" >&2
exit $status
