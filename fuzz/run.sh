#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time (`make fuzz`; docs/RELIABILITY.md).
#   fuzz/run.sh BUILD_DIR [SECONDS]
# Each target starts from its committed seeds (fuzz/corpus/<target>/, never modified) plus a
# scratch corpus in BUILD_DIR/fuzz-work/<target>/. A crash, leak, sanitizer report or broken
# error contract fails the run; the input is saved under BUILD_DIR/fuzz-work/<target>/artifacts/
# (turn it into a regression test, see docs/RELIABILITY.md). Figures go to BUILD_DIR/fuzz-summary.json.
set -euo pipefail
build=$(cd "$1" && pwd)
seconds=${2:-30}
src=$(cd "$(dirname "$0")" && pwd)
work=$build/fuzz-work
rm -rf "$work"
export LSAN_OPTIONS=suppressions=$src/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
rows=()
for t in config task_files checkpoint; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  log=$work/$t/log
  result=ok
  if ! "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=20 \
      -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" "$src/corpus/$t" >"$log" 2>&1; then
    result=FAILED
    status=1
  fi
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1)
  kept=$(find "$work/$t/corpus" -type f | wc -l)
  seeds=$(find "$src/corpus/$t" -type f | wc -l)
  echo "fuzz_$t: $result, ${execs:-0} inputs executed in ${seconds} s (${rate:-0}/s), $seeds seeds, $kept new corpus inputs"
  rows+=("{\"target\": \"$t\", \"result\": \"$result\", \"seconds\": $seconds, \"executions\": ${execs:-0}, \"exec_per_sec\": ${rate:-0}, \"seeds\": $seeds, \"new_corpus_inputs\": $kept}")
  if [ "$result" != ok ]; then
    grep -aE 'ERROR|SUMMARY|contract|unexpected|left open|runtime error|#[0-9]+ 0x' "$log" | head -30 || true
    echo "  full log: $log; input: $(ls "$work/$t/artifacts"/* 2>/dev/null | head -1)"
  fi
done
(IFS=,; echo "[${rows[*]}]") >"$build/fuzz-summary.json"
exit $status
