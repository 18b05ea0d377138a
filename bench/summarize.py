#!/usr/bin/env python3
"""Summaries for the benchmark scripts (standard library only).

  summarize.py peer --raw DIR --preset P ... --out FILE   per-run JSON lines -> peer_<preset>.json
  summarize.py train --raw DIR --label L --out FILE       repeated bench_train runs -> one JSON
  summarize.py table FILE...                              a plain-text summary table of result files
  summarize.py run CMD...                                 run CMD, add its peak RSS to its JSON line
"""
import argparse
import datetime
import glob
import json
import os
import platform
import resource
import subprocess
import statistics
import sys


def load_runs(raw, name):
    runs = []
    for path in sorted(glob.glob(os.path.join(raw, f"{name}_r*.json"))):
        try:
            with open(path) as f:
                runs.append(json.loads(f.read()))
        except (OSError, ValueError) as e:
            print(f"summarize.py: skipping {path}: {e}", file=sys.stderr)
    return runs


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rnd(x, d):
    return None if x is None else round(x, d)


def host_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "kernel": platform.release(),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def nurture_summary(runs):
    if not runs:
        return {"status": "failed: no successful run"}
    tps = [r["tokens_per_s_median"] for r in runs]
    first = runs[0]
    phases = {k: rnd(med([r["phase_ms_median"][k] for r in runs]), 3) for k in first["phase_ms_median"]}
    return {
        "status": "ok",
        "params": first["params"],
        "flops_per_token": first["flops_per_token"],
        "dropout": first.get("dropout"),
        "gelu": first.get("gelu"),
        "tokens_per_s_median": rnd(med(tps), 1),
        "tokens_per_s_runs": tps,
        "step_ms_median": rnd(med([r["step_ms_median"] for r in runs]), 2),
        "step_ms_all": [m for r in runs for m in r["step_ms_all"]],
        "gflops": rnd(med([r["gflops"] for r in runs]), 2),
        "mfu_vs_peak": rnd(med([r["mfu_vs_peak"] for r in runs]), 4),
        "sgemm_ceiling_gflops": rnd(med([r.get("sgemm_ceiling_gflops") for r in runs]), 1),
        "mfu_vs_sgemm_ceiling": rnd(med([r.get("mfu_vs_sgemm_ceiling") for r in runs]), 4),
        "phase_ms_median": phases,
        "peak_rss_mb": max(r.get("process_peak_rss_mb", r["peak_rss_mb"]) for r in runs),
        "rss_growth_mb": max(r["rss_growth_mb"] for r in runs),
        "activation_arena_mb": first.get("activation_arena_mb"),
        "loss_first": first.get("loss_first"),
        "loss_last": first.get("loss_last"),
    }


def torch_policy_summary(runs):
    if not runs:
        return None
    tps = [r["tokens_per_s_median"] for r in runs]
    return {
        "tokens_per_s_median": rnd(med(tps), 1),
        "tokens_per_s_runs": tps,
        "step_ms_median": rnd(med([r["ms_per_step_median"] for r in runs]), 2),
        "gflops": rnd(med([r["achieved_gflops"] for r in runs]), 2),
        "mfu_vs_peak": rnd(med([r["mfu_vs_peak"] for r in runs]), 4),
        "peak_rss_mb": max((r["process_peak_rss_mb"] for r in runs if "process_peak_rss_mb" in r), default=None),
        "torch_version": runs[0].get("torch"),
        "params": runs[0].get("params"),
    }


def best_of_policies(prefix, summarize, raw):
    """Runs under both OpenMP wait policies: the better summary (by median tokens/s) plus both."""
    pol = {p: summarize(load_runs(raw, f"{prefix}_{p}")) for p in ("default", "passive")}
    ok = {p: s for p, s in pol.items() if s and s.get("status", "ok") == "ok"}
    if not ok:
        return None, pol
    best = max(ok, key=lambda p: ok[p]["tokens_per_s_median"])
    out = {"status": "ok", "quoted_policy": "OMP_WAIT_POLICY=passive" if best == "passive" else "OMP_WAIT_POLICY unset",
           **{k: v for k, v in ok[best].items() if k != "status"}}
    for p in ("default", "passive"):
        s = pol[p]
        out[f"omp_wait_policy_{p}"] = None if not s or s.get("status", "ok") != "ok" else {
            k: s[k] for k in ("tokens_per_s_median", "tokens_per_s_runs", "step_ms_median", "gflops", "peak_rss_mb",
                              "sgemm_ceiling_gflops")
            if k in s}
    return out, pol


def round_ratios(raw, rounds):
    """nurture/torch tokens/s within each round, each side at its better wait policy that round."""
    def best(prefix, r):
        vals = []
        for p in ("default", "passive"):
            path = os.path.join(raw, f"{prefix}_{p}_r{r}.json")
            try:
                with open(path) as f:
                    vals.append(json.loads(f.read())["tokens_per_s_median"])
            except (OSError, ValueError, KeyError):
                pass
        return max(vals) if vals else None
    out = []
    for r in range(1, rounds + 1):
        n, t = best("nurture", r), best("torch", r)
        if n and t:
            out.append(round(n / t, 3))
    return out


def cmd_peer(a):
    nurture, _ = best_of_policies("nurture", nurture_summary, a.raw)
    if nurture is None:
        nurture = {"status": "failed: no successful run (see raw/*.err)"}
    res = {
        "benchmark": "peer_compare",
        "preset": a.preset,
        "precision": "fp32",
        "threads": a.threads,
        "rounds": a.rounds,
        "steps": a.steps,
        "skip": a.skip,
        "peak_gflops": a.peak,
        "host": host_info(),
        "loadavg_start": a.load_start,
        "loadavg_end": a.load_end,
        "nurture": nurture,
    }
    if a.torch_status != "ok":
        res["torch"] = {"status": a.torch_status}
        res["ratio_nurture_over_torch"] = None
    else:
        t, _ = best_of_policies("torch", torch_policy_summary, a.raw)
        if t is None:
            res["torch"] = {"status": "failed: no successful torch run (see raw/*.err)"}
            res["ratio_nurture_over_torch"] = None
        else:
            blas = a.torch_blas.split()
            t["blas"] = blas
            t["reference_blas_warning"] = bool(blas) and not any(
                k in a.torch_blas for k in ("openblas", "blis", "mkl", "atlas"))
            ceil = nurture.get("sgemm_ceiling_gflops")
            if ceil and t.get("gflops"):
                t["mfu_vs_sgemm_ceiling"] = rnd(t["gflops"] / ceil, 4)  # against oneDNN sgemm measured by bench_train
            res["torch"] = t
            n = nurture.get("tokens_per_s_median")
            # Rounds are interleaved, so the ratio within a round cancels load that hits both sides;
            # the headline is the median of the per-round ratios (each side at its better policy).
            per_round = round_ratios(a.raw, a.rounds)
            res["ratio_per_round"] = per_round
            res["ratio_nurture_over_torch"] = rnd(med(per_round), 3) if per_round else (
                rnd(n / t["tokens_per_s_median"], 3) if n else None)
            res["ratio_of_medians"] = rnd(n / t["tokens_per_s_median"], 3) if n else None
            # Same-policy ratios, for reference.
            for p in ("default", "passive"):
                np_, tp = nurture.get(f"omp_wait_policy_{p}"), t.get(f"omp_wait_policy_{p}")
                res[f"ratio_same_policy_{p}"] = rnd(np_["tokens_per_s_median"] / tp["tokens_per_s_median"], 3) \
                    if np_ and tp else None
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(f"wrote {a.out}", file=sys.stderr)
    print(json.dumps({"preset": a.preset, "nurture_tokens_per_s": nurture.get("tokens_per_s_median"),
                      "torch_tokens_per_s": res["torch"].get("tokens_per_s_median", res["torch"]["status"]),
                      "ratio": res["ratio_nurture_over_torch"]}))
    return 0 if nurture.get("status") == "ok" else 1


def cmd_train(a):
    runs = load_runs(a.raw, "nurture_default") + load_runs(a.raw, "nurture_passive")
    res = {"benchmark": "train", "label": a.label, "host": host_info(),
           "loadavg_start": a.load_start, "loadavg_end": a.load_end}
    if runs:
        shape = {k: runs[0][k] for k in ("vocab", "d", "layers", "heads", "seq", "batch", "dropout", "gelu",
                                          "threads", "precision")}
        res.update(shape)
    nurture, _ = best_of_policies("nurture", nurture_summary, a.raw)
    res["nurture"] = nurture or {"status": "failed: no successful run (see raw/*.err)"}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0 if runs else 1


def cmd_run(argv):
    """Runs a benchmark process and adds "process_peak_rss_mb" (the child's ru_maxrss) to the JSON
    line it prints last, so nurture and torch memory are measured the same way."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode != 0 or not lines:
        sys.stdout.write(p.stdout)
        return p.returncode or 1
    d = json.loads(lines[-1])
    d["process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1)
    print(json.dumps(d))
    return 0


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def pol(summary):
    return "passive" if "passive" in summary.get("quoted_policy", "") else "default"


def cmd_table(a):
    hdr = ("benchmark", "shape", "nurture tok/s", "torch tok/s", "ratio", "OMP wait n/t", "GFLOP/s", "MFU peak/sgemm",
           "fwd/bwd/opt ms", "peak RSS MB n/t", "RSS growth MB")
    rows = []
    for path in a.files:
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            rows.append((os.path.basename(path), f"unreadable: {e}") + ("",) * (len(hdr) - 2))
            continue
        n = d.get("nurture", {})
        t = d.get("torch", {})
        name = f"peer {d['preset']}" if d.get("benchmark") == "peer_compare" else d.get("label", "train")
        if d.get("benchmark") == "peer_compare":
            shape = d["preset"]
        else:
            shape = "V{vocab} d{d} L{layers} H{heads} T{seq} B{batch}".format(**d) if "vocab" in d else "?"
        ph = n.get("phase_ms_median") or {}
        phases = "/".join(fmt(ph.get(k), ".0f") for k in ("forward", "backward", "optimizer")) if ph else "-"
        torch_tps = fmt(t.get("tokens_per_s_median"), ".0f") if t.get("status") == "ok" else (
            "n/a" if t else "")
        rows.append((name, shape, fmt(n.get("tokens_per_s_median"), ".0f"), torch_tps,
                     fmt(d.get("ratio_nurture_over_torch"), ".2f") if t else "",
                     "/".join(pol(x) for x in (n, t) if x.get("quoted_policy")),
                     fmt(n.get("gflops"), ".1f"),
                     fmt(n.get("mfu_vs_peak"), ".0%") + "/" + fmt(n.get("mfu_vs_sgemm_ceiling"), ".0%"), phases,
                     "/".join(fmt(x.get("peak_rss_mb"), ".0f") for x in (n, t) if x.get("status") == "ok"),
                     fmt(n.get("rss_growth_mb"), ".1f")))
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    print(line(hdr))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    return 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "run":
        return cmd_run(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peer")
    p.add_argument("--raw", required=True)
    p.add_argument("--preset", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--rounds", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--skip", type=int, required=True)
    p.add_argument("--peak", type=float, required=True)
    p.add_argument("--torch-status", default="ok")
    p.add_argument("--torch-blas", default="")
    p.add_argument("--load-start", default=None)
    p.add_argument("--load-end", default=None)
    p.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--raw", required=True)
    t.add_argument("--label", required=True)
    t.add_argument("--load-start", default=None)
    t.add_argument("--load-end", default=None)
    t.add_argument("--out", required=True)
    tb = sub.add_parser("table")
    tb.add_argument("files", nargs="+")
    a = ap.parse_args()
    return {"peer": cmd_peer, "train": cmd_train, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
