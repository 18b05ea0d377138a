#!/usr/bin/env bash
# The demo: run the quick experiment grid (experiments/quick.yaml: four variants of the small
# TinyStories model, trained, quantized and analysed), then render its report and print the
# degradation table and where the HTML page is. Minutes on 2 cores; re-running resumes and skips
# what is done.
set -euo pipefail
BUILD=${1:-build}
NURTURE="$BUILD/cli/nurture"
# Two variants at a time when there are two cores (jobs x threads <= cores).
JOBS=$(( $(nproc) >= 2 ? 2 : 1 ))
"$NURTURE" sweep experiments/quick.yaml --jobs "$JOBS"
echo
"$NURTURE" report runs/quick
echo
echo "Open $(pwd)/runs/quick/index.html in a browser for the tables and plots."
