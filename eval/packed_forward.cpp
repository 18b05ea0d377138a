#include "eval/packed_forward.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/attention_head.h"
#include "core/ops.h"

namespace nurture::eval {

namespace {
int64_t length(const Segment& s) { return s.end - s.begin; }
}  // namespace

int64_t PackedBatch::add_sequence(const int32_t* tokens, int64_t n) {
  Segment s;
  s.begin = static_cast<int64_t>(ids.size());
  ids.insert(ids.end(), tokens, tokens + n);
  s.end = static_cast<int64_t>(ids.size());
  segments.push_back(s);
  return static_cast<int64_t>(segments.size()) - 1;
}

int64_t PackedBatch::add_continuation(int64_t parent, const int32_t* tokens, int64_t n) {
  if (parent < 0 || parent >= static_cast<int64_t>(segments.size()) || segments[parent].parent >= 0)
    throw std::invalid_argument("add_continuation: parent must be an earlier root segment");
  const int64_t s = add_sequence(tokens, n);
  segments[s].parent = parent;
  return s;
}

int64_t PackedBatch::want(int64_t row) {
  out_rows.push_back(row);
  return static_cast<int64_t>(out_rows.size()) - 1;
}

void PackedBatch::clear() {
  ids.clear();
  segments.clear();
  out_rows.clear();
}

core::Tensor segment_attention(core::Ctx& ctx, const core::Tensor& qkv, const std::vector<Segment>& segments,
                               int n_head, bool alibi) {
  const int64_t N = qkv.rows(), C3 = qkv.cols(), C = C3 / 3;
  const int64_t H = n_head, hd = C / H;
  core::Tensor y = ctx.make(core::Shape{1, N, C}, false);
  int64_t max_len = 1;
  for (const Segment& s : segments)
    max_len = std::max(max_len, length(s) + (s.parent >= 0 ? length(segments[s.parent]) : 0));
  // GPT::forward's attention kernel, so the two agree in rounding points and cost.
  const core::AttentionHeads heads(ctx, hd, n_head, alibi, max_len);
  // Per thread: the kernel's scratch, then a continuation's keys and values (its parent's rows,
  // then its own) gathered contiguously; root segments read theirs from qkv in place.
  const int64_t kv = (max_len * hd + 15) / 16 * 16;
  const int64_t slot = heads.work_floats() + 2 * kv;
  float* scratch = ctx.scratch(int64_t(omp_get_max_threads()) * slot);
  const int64_t tasks = static_cast<int64_t>(segments.size()) * H;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < tasks; ++t) {
    const Segment& s = segments[t / H];
    const int64_t h = t % H, n = length(s);
    if (n == 0) continue;
    float* work = scratch + int64_t(omp_get_thread_num()) * slot;
    const float* q = qkv.data + s.begin * C3 + h * hd;
    float* out = y.data + s.begin * C + h * hd;
    if (s.parent < 0) {
      heads.forward(int(h), q, C3, q + C, q + 2 * C, C3, 0, n, out, C, work);
      continue;
    }
    const Segment& par = segments[s.parent];
    const int64_t np = length(par);
    float* K = work + heads.work_floats();
    float* V = K + kv;
    auto gather = [&](int64_t row, int64_t dst) {
      const float* base = qkv.data + row * C3 + h * hd;
      std::copy(base + C, base + C + hd, K + dst * hd);
      std::copy(base + 2 * C, base + 2 * C + hd, V + dst * hd);
    };
    for (int64_t j = 0; j < np; ++j) gather(par.begin + j, j);
    for (int64_t j = 0; j < n; ++j) gather(s.begin + j, np + j);
    heads.forward(int(h), q, C3, K, V, hd, np, n, out, C, work);
  }
  ctx.prec.act(y.data, y.numel());
  return y;
}

PackedForward::PackedForward(model::GPT& gpt) : gpt_(gpt) {}

core::Tensor PackedForward::operator()(core::Ctx& ctx, const PackedBatch& batch, model::ForwardObserver* obs) {
  if (ctx.grad_enabled()) throw std::invalid_argument("PackedForward runs without a tape");
  const model::GPTConfig& cfg = gpt_.config();
  auto& P = gpt_.params();
  const int64_t N = batch.tokens(), C = cfg.d_model, V = cfg.vocab_size;
  if (N == 0 || batch.out_rows.empty()) return core::Tensor{nullptr, nullptr, core::Shape{0, V}};

  // Positions: a root segment starts at 0, a continuation right after its parent.
  std::vector<int32_t> pos(static_cast<size_t>(N), 0);
  for (const Segment& s : batch.segments) {
    const int64_t off = s.parent >= 0 ? length(batch.segments[s.parent]) : 0;
    if (off + length(s) > cfg.seq_len)
      throw std::invalid_argument("packed sequence of " + std::to_string(off + length(s)) +
                                  " tokens exceeds the model's seq_len " + std::to_string(cfg.seq_len));
    for (int64_t r = s.begin; r < s.end; ++r) pos[r] = static_cast<int32_t>(off + r - s.begin);
  }
  for (int64_t i = 0; i < N; ++i)
    if (batch.ids[i] < 0 || batch.ids[i] >= V)
      throw std::out_of_range("token id " + std::to_string(batch.ids[i]) + " outside the vocabulary of " +
                              std::to_string(V) + " (tokenizer and model disagree?)");

  // Embedding, as core::embedding but with explicit positions: wte[id] + pos_table[pos].
  const float* wte = P.tensor(gpt_.wte()).data;
  const float* table = gpt_.position_table().data;
  core::Tensor x = ctx.make(core::Shape{1, N, C}, false);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* e = wte + int64_t(batch.ids[i]) * C;
    const float* p = table ? table + int64_t(pos[i]) * C : nullptr;
    float* o = x.data + i * C;
    for (int64_t j = 0; j < C; ++j) o[j] = e[j] + (p ? p[j] : 0.0f);
  }
  ctx.prec.act(x.data, x.numel());
  if (obs) obs->residual(-1, x);

  // GPT::forward's blocks with attention kept inside each segment. Dropout follows ctx.training,
  // which evaluation leaves off.
  const bool alibi = cfg.pos == model::PosEmbedding::alibi;
  x = gpt_.run_blocks(
      ctx, x,
      [&](core::Ctx& c, const core::Tensor& qkv) { return segment_attention(c, qkv, batch.segments, cfg.n_head, alibi); },
      0, obs);

  // Final LayerNorm and lm_head only on the wanted rows (both act row by row).
  const int64_t R = static_cast<int64_t>(batch.out_rows.size());
  core::Tensor xr = ctx.make(core::Shape{1, R, C}, false);
  for (int64_t r = 0; r < R; ++r) std::copy_n(x.data + batch.out_rows[r] * C, C, xr.data + r * C);
  core::Tensor logits = gpt_.head(ctx, xr, obs);
  return logits.reshape(core::Shape{R, V});
}

}  // namespace nurture::eval
