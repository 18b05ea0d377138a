#!/usr/bin/env bash
# MPI data parallelism on one machine: `nurture train` on the benchmark model (V4096 d256 L6 H8
# T256 B16, dropout 0.1, erf GELU) as 1 rank x 2 threads (better of the two OpenMP wait policies)
# vs 2 ranks x 1 thread (mpirun), in interleaved rounds, plus bench_mpi_allreduce on the model's
# gradient size. Writes BUILD_DIR/bench-results/mpi_small.json (per-round numbers, medians, the
# per-round 2x1/1x2 ratio).
#
#   bench/bench_mpi.sh BUILD_DIR
# Environment: BENCH_ROUNDS (default 3), BENCH_MPI_STEPS (default 10, of which the first 2 are
# warm-up and not counted), BENCH_TIMEOUT (s per run, default 1800). Needs a build with
# NURTURE_MPI=ON and mpirun on PATH; as root it passes --allow-run-as-root.
set -uo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
STEPS=${BENCH_MPI_STEPS:-10}
SKIP=2
OUT=$BUILD/bench-results
RAW=$OUT/raw/mpi_small
NURTURE=$BUILD/cli/nurture
ALLREDUCE=$BUILD/bench/bench_mpi_allreduce
command -v mpirun >/dev/null || { echo "bench_mpi.sh: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
[[ -x $NURTURE && -x $ALLREDUCE ]] || { echo "bench_mpi.sh: build $NURTURE and $ALLREDUCE first (NURTURE_MPI=ON)" >&2; exit 1; }
mkdir -p "$RAW"
rm -rf "$RAW"/*

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# --bind-to none: the 1-rank runs are not pinned either, and the machine may be shared.
MPIRUN=(mpirun --oversubscribe --bind-to none)
ARGS=("$ROOT/configs/tiny.yaml" "data.corpus=$ROOT/datasets/tinyshakespeare" "data.cache_dir=$OUT/cache"
  model.vocab_size=4096 model.d_model=256 model.n_layer=6 model.n_head=8 model.seq_len=256 model.dropout=0.1
  model.gelu=erf train.batch_size=16 "train.steps=$STEPS" train.eval_every=0 train.eval_batches=1
  train.checkpoint_every=0 train.log_every=1000)

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_mpi: benchmark model, $ROUNDS rounds of $STEPS steps (first $SKIP not counted), load $LOAD_START" >&2
status=0
for ((r = 1; r <= ROUNDS; r++)); do
  # One process with 2 threads, under both OpenMP wait policies (spinning threads collapse when
  # other processes compete for the cores; see bench/README.md): each round quotes the better.
  for policy in default passive; do
    wait_env=(-u OMP_WAIT_POLICY)
    [[ $policy == passive ]] && wait_env=(OMP_WAIT_POLICY=passive)
    if ! env "${wait_env[@]}" OMP_NUM_THREADS=2 timeout "${BENCH_TIMEOUT:-1800}" "$NURTURE" train "${ARGS[@]}" \
        "output.dir=$RAW/r${r}_1x2_$policy" train.threads=2 >/dev/null 2>"$RAW/r${r}_1x2_$policy.err"; then
      echo "  round $r 1x2 $policy: FAILED (see $RAW/r${r}_1x2_$policy.err)" >&2
      status=1
    fi
  done
  if ! OMP_NUM_THREADS=1 timeout "${BENCH_TIMEOUT:-1800}" "${MPIRUN[@]}" -np 2 "$NURTURE" train "${ARGS[@]}" \
      "output.dir=$RAW/r${r}_2x1" train.threads=1 >/dev/null 2>"$RAW/r${r}_2x1.err"; then
    echo "  round $r 2x1: FAILED (see $RAW/r${r}_2x1.err)" >&2
    status=1
  fi
  OMP_NUM_THREADS=1 timeout 600 "${MPIRUN[@]}" -np 2 "$ALLREDUCE" --reps 10 >"$RAW/r${r}_allreduce.json" \
    2>"$RAW/r${r}_allreduce.err" || status=1
done

python3 - "$RAW" "$ROUNDS" "$SKIP" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" "$OUT/mpi_small.json" <<'EOF' || status=1
import json, os, statistics, sys
raw, rounds, skip, load_start, load_end, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]

def steps(run):
    path = os.path.join(raw, run, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    recs = [json.loads(l) for l in open(path) if l.strip()]
    return [r for r in recs if "loss" in r][skip:]

med = lambda xs: statistics.median(xs) if xs else None
per_round = []
for r in range(1, rounds + 1):
    one_d, one_p, two = steps(f"r{r}_1x2_default"), steps(f"r{r}_1x2_passive"), steps(f"r{r}_2x1")
    md, mp = med([s["tokens_per_s"] for s in one_d]), med([s["tokens_per_s"] for s in one_p])
    one = one_d if (md or 0) >= (mp or 0) else one_p
    ar = {}
    try:
        ar = json.loads(open(os.path.join(raw, f"r{r}_allreduce.json")).read())
    except (OSError, ValueError):
        pass
    row = {
        "round": r,
        "one_rank_two_threads_tokens_per_s": med([s["tokens_per_s"] for s in one]),
        "one_rank_two_threads_default_policy": md,
        "one_rank_two_threads_passive_policy": mp,
        "two_ranks_one_thread_tokens_per_s": med([s["tokens_per_s"] for s in two]),
        "two_ranks_allreduce_ms": med([1000 * s["allreduce_s"] for s in two if "allreduce_s" in s]),
        "two_ranks_step_ms": med([1000 * 16 * 256 / s["tokens_per_s"] for s in two]),
        "allreduce_bench": ar,
    }
    if row["one_rank_two_threads_tokens_per_s"] and row["two_ranks_one_thread_tokens_per_s"]:
        row["ratio_2x1_over_1x2"] = row["two_ranks_one_thread_tokens_per_s"] / row["one_rank_two_threads_tokens_per_s"]
    per_round.append(row)

def m(key, rows=per_round):
    return med([x[key] for x in rows if x.get(key) is not None])

summary = {
    "benchmark": "mpi_data_parallel",
    "model": "V4096 d256 L6 H8 T256 B16 (global batch), dropout 0.1, erf GELU, fp32",
    "gradient_floats": per_round[0]["allreduce_bench"].get("floats") if per_round else None,
    "rounds": rounds,
    "load_start": load_start,
    "load_end": load_end,
    "one_rank_two_threads_tokens_per_s_median": m("one_rank_two_threads_tokens_per_s"),
    "two_ranks_one_thread_tokens_per_s_median": m("two_ranks_one_thread_tokens_per_s"),
    "ratio_2x1_over_1x2_median_of_rounds": m("ratio_2x1_over_1x2"),
    "two_ranks_allreduce_ms_median": m("two_ranks_allreduce_ms"),
    "two_ranks_step_ms_median": m("two_ranks_step_ms"),
    "allreduce_bench_mpi_allreduce_ms_median": med([x["allreduce_bench"]["mpi_allreduce_ms_median"] for x in per_round if x["allreduce_bench"]]),
    "allreduce_bench_ordered_alltoall_ms_median": med([x["allreduce_bench"]["ordered_ms_median"] for x in per_round if x["allreduce_bench"]]),
    "per_round": per_round,
}
with open(out + ".tmp", "w") as f:
    json.dump(summary, f, indent=1)
os.replace(out + ".tmp", out)
print(json.dumps({k: v for k, v in summary.items() if k != "per_round"}, indent=1))
EOF
echo "results: $OUT/mpi_small.json" >&2
exit $status
