// Every op's backward against central finite differences (see grad_check.h for tolerances),
// on random non-square shapes with batch > 1.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

#include "core/ops.h"
#include "grad_check.h"

using namespace nurture;
using core::Buffer;
using core::Ctx;
using core::Tensor;
using test::check_gradients;
using test::fill_normal;

TEST(OpsGrad, LinearWithBias) {
  Buffer x({3, 5, 7}, true), w({6, 7}, true), b({6}, true);
  fill_normal(x, 1);
  fill_normal(w, 2, 0.5);
  fill_normal(b, 3);
  check_gradients([&](Ctx& c) { return core::linear(c, x.t(), w.t(), &b.t()); },
                  {{"x", &x}, {"w", &w}, {"b", &b}});
}

TEST(OpsGrad, LinearNoBias) {
  Buffer x({9, 4}, true), w({11, 4}, true);
  fill_normal(x, 4);
  fill_normal(w, 5);
  check_gradients([&](Ctx& c) { return core::linear(c, x.t(), w.t(), nullptr); }, {{"x", &x}, {"w", &w}});
}

TEST(OpsGrad, LayerNorm) {
  Buffer x({2, 5, 12}, true), g({12}, true), b({12}, true);
  fill_normal(x, 6, 2.0);
  fill_normal(g, 7);
  fill_normal(b, 8);
  // LayerNorm's output is scale-free in x; a smaller eps keeps truncation error low.
  test::GradCheckOptions opt;
  opt.eps = 5e-3;
  check_gradients([&](Ctx& c) { return core::layer_norm(c, x.t(), g.t(), &b.t()); },
                  {{"x", &x}, {"gamma", &g}, {"beta", &b}}, opt);
}

TEST(OpsGrad, LayerNormManyRowsDeterministicChunks) {
  // > 64 rows exercises the chunked parameter-gradient reduction.
  Buffer x({150, 8}, true), g({8}, true);
  fill_normal(x, 9);
  fill_normal(g, 10);
  check_gradients([&](Ctx& c) { return core::layer_norm(c, x.t(), g.t(), nullptr); }, {{"x", &x}, {"gamma", &g}});
}

TEST(OpsGrad, GeluTanh) {
  Buffer x({4, 13}, true);
  fill_normal(x, 11, 2.0);
  check_gradients([&](Ctx& c) { return core::gelu(c, x.t(), core::GeluKind::Tanh); }, {{"x", &x}});
}

TEST(OpsGrad, GeluErf) {
  Buffer x({4, 13}, true);
  fill_normal(x, 12, 2.0);
  check_gradients([&](Ctx& c) { return core::gelu(c, x.t(), core::GeluKind::Erf); }, {{"x", &x}});
}

TEST(OpsGrad, CausalAttention) {
  const int B = 2, T = 7, H = 3, hd = 4, C = H * hd;
  Buffer qkv({B, T, 3 * C}, true);
  fill_normal(qkv, 13);
  test::GradCheckOptions opt;
  opt.samples_per_input = 120;
  check_gradients([&](Ctx& c) { return core::causal_attention(c, qkv.t(), H); }, {{"qkv", &qkv}}, opt);
}

TEST(OpsGrad, CausalAttentionAlibi) {
  const int B = 2, T = 6, H = 4, hd = 3, C = H * hd;
  Buffer qkv({B, T, 3 * C}, true);
  fill_normal(qkv, 14);
  check_gradients([&](Ctx& c) { return core::causal_attention(c, qkv.t(), H, true); }, {{"qkv", &qkv}});
}

TEST(OpsGrad, Embedding) {
  const int B = 3, T = 5, V = 11, C = 6;
  Buffer wte({V, C}, true), wpe({8, C}, true);
  fill_normal(wte, 15);
  fill_normal(wpe, 16);
  std::vector<int32_t> ids = {1, 4, 4, 0, 10, 3, 3, 3, 7, 2, 9, 1, 5, 6, 4};  // repeats: accumulation
  check_gradients([&](Ctx& c) { return core::embedding(c, ids.data(), B, T, wte.t(), &wpe.t()); },
                  {{"wte", &wte}, {"wpe", &wpe}});
}

TEST(OpsGrad, ResidualAdd) {
  Buffer a({3, 4, 5}, true), b({3, 4, 5}, true);
  fill_normal(a, 17);
  fill_normal(b, 18);
  check_gradients([&](Ctx& c) { return core::add(c, a.t(), b.t()); }, {{"a", &a}, {"b", &b}});
}

TEST(OpsGrad, Dropout) {
  Buffer x({6, 9}, true);
  fill_normal(x, 19);
  check_gradients([&](Ctx& c) { return core::dropout(c, x.t(), 0.3f, 12345); }, {{"x", &x}});
}

TEST(OpsGrad, CrossEntropy) {
  const int N = 6, V = 9;
  Buffer logits({2, 3, V}, true);
  fill_normal(logits, 20, 2.0);
  std::vector<int32_t> targets = {0, 8, 3, -1, 5, 5};  // -1 is ignored
  check_gradients([&](Ctx& c) { return core::cross_entropy(c, logits.t(), targets.data()); }, {{"logits", &logits}});
  (void)N;
}

// Backward closures are anonymous lambdas; the name each op records with lets a profile of backward
// attribute time to ops. One entry per op, in forward order, under the op's own name.
TEST(Tape, NamesEachEntryAfterItsOp) {
  const int B = 1, T = 4, V = 5, C = 6;
  Buffer wte({V, C}, true), g({C}, true), w({C, C}, true), wout({V, 2}, true);
  fill_normal(wte, 21);
  fill_normal(g, 22);
  fill_normal(w, 23);
  fill_normal(wout, 24);
  const std::vector<int32_t> ids = {1, 4, 0, 2}, targets = {4, 0, 2, 3};
  core::Arena acts, grads;
  core::Tape tape;
  Ctx c(acts, grads, &tape);
  c.training = true;
  Tensor h = core::embedding(c, ids.data(), B, T, wte.t(), nullptr);
  h = core::layer_norm(c, h, g.t(), nullptr);
  h = core::linear(c, h, w.t(), nullptr);      // [1, 4, 6] read as qkv of one head of size 2
  h = core::causal_attention(c, h, 1);         // [1, 4, 2]
  h = core::gelu(c, h);
  h = core::dropout(c, h, 0.5f, 7);
  h = core::add(c, h, h);
  h = core::linear(c, h, wout.t(), nullptr);  // [1, 4, 5]
  core::cross_entropy(c, h, targets.data());
  const char* want[] = {"embedding", "layer_norm", "linear", "causal_attention", "gelu",
                        "dropout",   "add",        "linear", "cross_entropy"};
  ASSERT_EQ(tape.size(), std::size(want));
  for (size_t i = 0; i < tape.size(); ++i) EXPECT_STREQ(tape.op_name(i), want[i]) << "entry " << i;
}

// One-reader tensors (core::Tensor::one_reader): their gradient buffers are never zeroed and their
// one reader writes them whole. A block made of every op that honours the flag — linear, attention,
// dropout, add, LayerNorm and GELU into a linear, cross-entropy with an ignored target — must give
// the same bits with the flags as without, with NaN garbage where the unzeroed gradients go.
namespace {
std::vector<std::vector<float>> one_reader_block(bool flags, bool ignore_all) {
  const int64_t B = 2, T = 9, C = 12, V = 10;
  Buffer x({B, T, C}, true), wq({3 * C, C}, true), w1({C, C}, true), g({C}, true), w2({4 * C, C}, true),
      w3({V, 4 * C}, true);
  uint64_t seed = 40;
  for (Buffer* p : {&x, &wq, &w1, &g, &w2, &w3}) fill_normal(*p, seed++);
  std::vector<int32_t> targets(B * T);
  for (int64_t i = 0; i < B * T; ++i) targets[i] = ignore_all || i == 5 ? -1 : int32_t(i % V);
  core::Arena acts, grads;
  const size_t poison = size_t(1) << 16;
  std::fill_n(grads.alloc(poison), poison, std::numeric_limits<float>::quiet_NaN());
  grads.reset();
  core::Tape tape;
  Ctx ctx(acts, grads, &tape);
  ctx.training = true;
  Tensor qkv = core::linear(ctx, x.t(), wq.t(), nullptr, flags);
  Tensor att = core::causal_attention(ctx, qkv, 3, false, flags);
  Tensor a = core::linear(ctx, att, w1.t(), nullptr, flags);
  a = core::dropout(ctx, a, 0.25f, 7, flags);
  Tensor r = core::add(ctx, x.t(), a);
  Tensor h = core::layer_norm(ctx, r, g.t(), nullptr, 1e-5f, flags);
  Tensor f = core::gelu(ctx, core::linear(ctx, h, w2.t(), nullptr, flags), core::GeluKind::Erf, flags);
  Tensor logits = core::linear(ctx, f, w3.t(), nullptr, flags);
  EXPECT_EQ(flags, qkv.one_reader && att.one_reader && a.one_reader && h.one_reader && f.one_reader &&
                       logits.one_reader);
  Tensor loss = core::cross_entropy(ctx, logits, targets.data());
  loss.grad[0] = 1.0f;
  tape.backward(ctx.prec);
  std::vector<std::vector<float>> out;
  for (Buffer* p : {&x, &wq, &w1, &g, &w2, &w3}) out.emplace_back(p->grad(), p->grad() + p->numel());
  return out;
}
}  // namespace

TEST(OneReader, GradientsAreTheSameBitsWithoutZeroing) {
  for (bool ignore_all : {false, true}) {
    const auto plain = one_reader_block(false, ignore_all), flagged = one_reader_block(true, ignore_all);
    for (size_t k = 0; k < plain.size(); ++k)
      EXPECT_EQ(0, std::memcmp(plain[k].data(), flagged[k].data(), plain[k].size() * 4))
          << "gradient " << k << (ignore_all ? " (every target ignored)" : "");
  }
}
