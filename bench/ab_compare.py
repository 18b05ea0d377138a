#!/usr/bin/env python3
"""Interleaved A/B(/C...) comparison of bench_train runs (standard library only).

  ab_compare.py --rounds 3 --out FILE.json \\
      --variant fp32='build/bench/bench_train --preset small --threads 2' \\
      --variant bf16='build/bench/bench_train --preset small --threads 2 --precision bf16'

Each round runs every variant once, in order (so load that changes over time hits all of them);
the first variant is the baseline. The output JSON has, per variant, the median over rounds of
tokens/s, step ms, phase ms and peak RSS, and `ratio_vs_baseline`: the median of the per-round
ratios tokens/s(variant) / tokens/s(baseline), which cancels load shared by a round, and the same
per CPU second of the process (`cpu_ratio_vs_baseline`; for 1-thread runs on a busy machine the
more reliable one, since wall time there mostly measures the neighbours). The load
average before and after is recorded: on a shared machine quote ratios, not absolute numbers.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", required=True, metavar="LABEL=COMMAND")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()

    variants = []
    for v in args.variant:
        if "=" not in v:
            sys.exit(f"ab_compare.py: --variant {v!r}: expected LABEL=COMMAND")
        label, cmd = v.split("=", 1)
        variants.append((label, shlex.split(cmd)))
    runs = {label: [] for label, _ in variants}
    load_start = loadavg()
    t0 = time.time()
    for r in range(1, args.rounds + 1):
        for label, cmd in variants:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            if p.returncode != 0:
                sys.exit(f"ab_compare.py: {label} round {r} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
            line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
            runs[label].append(json.loads(line))
            j = runs[label][-1]
            print(f"round {r} {label}: {j['tokens_per_s_median']} tok/s, peak RSS {j.get('peak_rss_mb')} MB, "
                  f"load {loadavg()}", file=sys.stderr)

    base = variants[0][0]
    out = {"rounds": args.rounds, "baseline": base, "load_start": load_start, "load_end": loadavg(),
           "wall_s": round(time.time() - t0, 1), "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "variants": {}}
    for label, cmd in variants:
        rs = runs[label]
        tps = [j["tokens_per_s_median"] for j in rs]
        ratios = [a["tokens_per_s_median"] / b["tokens_per_s_median"] for a, b in zip(rs, runs[base])]
        phases = {k: round(statistics.median(j["phase_ms_median"][k] for j in rs), 2) for k in rs[0]["phase_ms_median"]}
        out["variants"][label] = {
            "command": " ".join(shlex.quote(c) for c in cmd),
            "tokens_per_s_median": round(statistics.median(tps), 1),
            "tokens_per_s_per_round": tps,
            "ratio_vs_baseline": round(statistics.median(ratios), 3),
            "ratio_per_round": [round(x, 3) for x in ratios],
            "step_ms_median": round(statistics.median(j["step_ms_median"] for j in rs), 1),
            "phase_ms_median": phases,
            "gflops_median": round(statistics.median(j["gflops"] for j in rs), 1),
            "peak_rss_mb_median": round(statistics.median(j["peak_rss_mb"] for j in rs), 1),
            "rss_growth_mb_max": max(j["rss_growth_mb"] for j in rs),
            "activation_arena_mb": rs[-1].get("activation_arena_mb"),
            "gradient_arena_mb": rs[-1].get("gradient_arena_mb"),
            "shape": {k: rs[0][k] for k in ("vocab", "d", "layers", "heads", "seq", "batch", "precision", "threads",
                                             "params", "gelu", "dropout") if k in rs[0]},
        }
        if "tokens_per_cpu_s_median" in rs[0]:
            # Per CPU second of the process: the load-insensitive figure for 1-thread runs.
            cps = [j["tokens_per_cpu_s_median"] for j in rs]
            cratios = [a["tokens_per_cpu_s_median"] / b["tokens_per_cpu_s_median"] for a, b in zip(rs, runs[base])]
            out["variants"][label].update({
                "tokens_per_cpu_s_median": round(statistics.median(cps), 1),
                "cpu_ratio_vs_baseline": round(statistics.median(cratios), 3),
                "cpu_ratio_per_round": [round(x, 3) for x in cratios]})
        if "sgemm_ceiling_gflops" in rs[0]:
            out["variants"][label]["sgemm_ceiling_gflops_median"] = round(
                statistics.median(j["sgemm_ceiling_gflops"] for j in rs), 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    for label, v in out["variants"].items():
        print(f"{label:>12}: {v['tokens_per_s_median']:>8} tok/s  x{v['ratio_vs_baseline']:.3f} vs {base}  "
              f"peak RSS {v['peak_rss_mb_median']} MB" +
              (f"  | CPU: {v['tokens_per_cpu_s_median']} tok/cpu-s x{v['cpu_ratio_vs_baseline']:.3f}"
               if "cpu_ratio_vs_baseline" in v else ""))


if __name__ == "__main__":
    main()
