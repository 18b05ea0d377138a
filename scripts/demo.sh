#!/usr/bin/env bash
# The demo: run the demo grid (experiments/quick.yaml: the paper's weight decay 0.1 vs 0.001,
# mapped to a 150-step run of the small TinyStories model, 3 seeds each, quantized with a small
# bit-width ladder and analysed), then render its report: it prints the held-out degradation of
# every variant and recipe and the difference between the two points with its 95% confidence
# interval, and says where the HTML page is. Minutes on 2 cores; re-running resumes and skips
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
