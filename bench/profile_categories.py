#!/usr/bin/env python3
"""Sums `perf report` samples of a bench_train profile into the categories of docs/PERFORMANCE.md.

  profile_categories.py PERF_DATA...   (needs perf; prints one markdown table per file)
"""
import subprocess, re, sys, collections
def cats(data):
    out = subprocess.run(["perf","report","-i",data,"--no-children","--sort","dso,symbol","--percent-limit","0","--stdio"],capture_output=True,text=True).stdout
    c = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\[JIT\] tid \d+|\S+)\s+\[(.)\]\s+(.*)", line)
        if not m: continue
        p, dso, kind, sym = float(m[1]), m[2], m[3], m[4]
        if dso.startswith("[JIT]") or "dnnl" in dso: k = "oneDNN GEMM (JIT sgemm / bf16 matmul)"
        elif kind == "k": k = "kernel (page faults of the first step, scheduling)"
        elif re.search(r"GPT::init|normal|__cos|__log|SeqRng|mt19937|uniform_int", sym): k = "setup (weight init, random tokens)"
        elif re.search(r"attention|probs_tile|nt_tile|pack_bf16_pairs|pack_bf16_row|words_kernel|gemm_bf16_words|gebp|gemm_pack|general_matrix_matrix", sym): k = "attention (tile GEMMs + softmax)"
        elif re.search(r"erf|gelu", sym): k = "GELU"
        elif re.search(r"dropout", sym): k = "dropout"
        elif re.search(r"layer_norm", sym): k = "LayerNorm"
        elif re.search(r"cross_entropy|exp", sym): k = "cross-entropy (+ libm exp)"
        elif re.search(r"colsum", sym): k = "bias/LN parameter-gradient column sums"
        elif re.search(r"memset|memcpy|memmove", sym): k = "memset/memcpy (zeroed gradient buffers)"
        elif re.search(r"round|run_avx|run_scalar", sym): k = "precision rounding"
        elif re.search(r"pack_rows|to_bf16", sym): k = "fp32->bf16 operand conversion"
        elif re.search(r"AdamW|global_norm|clip", sym): k = "optimizer (clip + AdamW)"
        elif re.search(r"dense_assignment_loop", sym): k = "attention (tile GEMMs + softmax)"
        elif re.search(r"add\(|core::add|linear", sym): k = "residual add, bias add"
        else: k = "other"
        c[k] += p
    return c
for d in sys.argv[1:]:
    c = cats(d); tot = sum(c.values())
    setup = c["setup (weight init, random tokens)"] + c["kernel (page faults of the first step, scheduling)"]
    print(f"## {d}  (shares of samples excluding setup and kernel = {tot-setup:.1f}% of all)")
    for k, v in c.most_common():
        if k.startswith("setup") or k.startswith("kernel"): continue
        print(f"| {k} | {100*v/(tot-setup):.1f}% |")
