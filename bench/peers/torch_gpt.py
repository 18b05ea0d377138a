#!/usr/bin/env python3
# Copied verbatim (apart from this header) from the project's shared peer baseline,
# /work/shared/peers/torch_gpt.py (see its README: "Peer baseline: PyTorch CPU training of the same
# GPT"), so that `make bench` is self-contained and never reads outside the repository.
# bench/peer_compare.sh runs it against bench_train on the same preset and thread count.
# Keep it in sync with the shared copy rather than editing it here.
"""GPT-2-style decoder training-throughput benchmark (PyTorch CPU, peer baseline).

Model: learned token + positional embeddings, pre-LayerNorm blocks, causal multi-head
attention, GeLU MLP (4x), dropout before each residual add, untied input/output
embeddings, final LayerNorm.  Optimiser: AdamW (weight decay 0.1 on 2-D weights),
grad-norm clipping 1.0, cosine LR with linear warmup.  Data: random uniform tokens.

Measures training tokens/s (forward + backward + clip + step), excluding the first
--skip steps, and prints ONE JSON line.

Examples:
  OMP_NUM_THREADS=2 /usr/bin/python3 torch_gpt.py --config small --precision fp32
  OMP_NUM_THREADS=2 /usr/bin/python3 torch_gpt.py --config medium --precision bf16 --steps 11
  /usr/bin/python3 torch_gpt.py --vocab 4096 --d 256 --layers 6 --heads 8 --seq 256 --batch 16
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(vocab=2048, d=128, layers=4, heads=4, seq=128, batch=16),
    "small": dict(vocab=4096, d=256, layers=6, heads=8, seq=256, batch=16),
    "medium": dict(vocab=8192, d=512, layers=8, heads=8, seq=256, batch=8),
}


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, seq, dropout):
        super().__init__()
        assert d % heads == 0
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.attn_drop = nn.Dropout(dropout)
        self.resid_drop = nn.Dropout(dropout)
        self.register_buffer("mask", torch.tril(torch.ones(seq, seq, dtype=torch.bool)).view(1, 1, seq, seq))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_drop(att)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    def __init__(self, d, dropout):
        super().__init__()
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    def __init__(self, d, heads, seq, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, seq, dropout)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = MLP(d, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))   # dropout applied inside, before the residual add
        x = x + self.mlp(self.ln2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab, d, layers, heads, seq, dropout):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(seq, d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d, heads, seq, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)  # untied
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith("proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx, targets):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for b in self.blocks:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=list(PRESETS), default=None)
    for k in ("vocab", "d", "layers", "heads", "seq", "batch"):
        ap.add_argument("--" + k, type=int, default=None)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--steps", type=int, default=13, help="total steps incl. skipped ones")
    ap.add_argument("--skip", type=int, default=3, help="initial steps excluded from timing")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--sgemm_ceiling", type=float, default=None,
                    help="measured fp32 sgemm GFLOP/s ceiling for MFU (at this thread count)")
    ap.add_argument("--peak", type=float, default=None,
                    help="theoretical fp32 peak GFLOP/s for MFU (default 32 FLOP/cycle/core x 3.6 GHz x threads)")
    a = ap.parse_args()

    cfg = dict(PRESETS[a.config]) if a.config else dict(PRESETS["small"])
    for k in cfg:
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    V, d, L, H, T, B = (cfg[k] for k in ("vocab", "d", "layers", "heads", "seq", "batch"))
    model = GPT(V, d, L, H, T, a.dropout)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    n_embed = model.wte.weight.numel() + model.wpe.weight.numel()
    n_matmul = n_params - n_embed  # params that take part in matmuls (incl. lm_head, tiny LN/bias terms)

    decay = [p for p in model.parameters() if p.dim() >= 2 and p is not model.wte.weight and p is not model.wpe.weight]
    no_decay = [p for p in model.parameters() if not any(p is q for q in decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    total = a.steps

    def lr_lambda(step):
        if step < a.warmup:
            return (step + 1) / a.warmup
        prog = (step - a.warmup) / max(1, total - a.warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, prog)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    g = torch.Generator().manual_seed(a.seed)
    data = torch.randint(0, V, (a.steps, B, T + 1), generator=g)

    times, losses = [], []
    for step in range(a.steps):
        x, y = data[step, :, :-1].contiguous(), data[step, :, 1:].contiguous()
        t0 = time.perf_counter()
        if a.precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(x, y)
        else:
            loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        lv = loss.item()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        losses.append(lv)

    meas = times[a.skip:]
    tok = B * T
    tps = sorted(tok / t for t in meas)
    med_t = statistics.median(meas)
    flops_per_token = 6 * n_matmul + 12 * L * T * d  # 6N + attention (QK^T and AV, fwd+bwd, full TxT)
    achieved = flops_per_token * tok / med_t / 1e9
    peak = a.peak if a.peak else 32 * 3.6 * a.threads
    res = dict(system="pytorch", torch=torch.__version__, config=a.config or "custom", **cfg,
               precision=a.precision, threads=a.threads, params=n_params, params_matmul=n_matmul,
               steps_measured=len(meas), ms_per_step_median=round(med_t * 1000, 2),
               tokens_per_s_min=round(tps[0], 1), tokens_per_s_median=round(tok / med_t, 1),
               tokens_per_s_max=round(tps[-1], 1), flops_per_token=flops_per_token,
               achieved_gflops=round(achieved, 2), mfu_vs_peak=round(achieved / peak, 4), peak_gflops=peak,
               loss_first=round(losses[0], 4), loss_last=round(losses[-1], 4))
    if a.sgemm_ceiling:
        res["sgemm_ceiling_gflops"] = a.sgemm_ceiling
        res["mfu_vs_sgemm_ceiling"] = round(achieved / a.sgemm_ceiling, 4)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
