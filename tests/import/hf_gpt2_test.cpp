// The Hugging Face GPT-2 import: after import, nurture's logits equal a direct double-precision
// computation from the same tensors (written here with plain loops, in Hugging Face's layout),
// and every kind of damaged input is a one-line error naming the file and what is wrong.
#include "import/hf_gpt2.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/graph.h"
#include "data/tokenizer.h"
#include "import/error.h"
#include "tests/import/hf_fixture.h"
#include "tests/support/support.h"
#include "train/checkpoint.h"
#include "train/load_model.h"

namespace nurture::import {
namespace {

using test::HfGpt2;
namespace fs = std::filesystem;

using Mat = std::vector<std::vector<double>>;  // [T][n]

void layer_norm(Mat& x, const std::vector<float>& g, const std::vector<float>& b, double eps) {
  for (auto& row : x) {
    double mean = 0, var = 0;
    for (double v : row) mean += v;
    mean /= double(row.size());
    for (double v : row) var += (v - mean) * (v - mean);
    var /= double(row.size());
    const double r = 1.0 / std::sqrt(var + eps);
    for (size_t i = 0; i < row.size(); ++i) row[i] = (row[i] - mean) * r * g[i] + b[i];
  }
}

// x [T][in] times a Conv1D weight stored [in][out], plus bias.
Mat conv1d(const Mat& x, const std::vector<float>& w, const std::vector<float>& b, size_t out) {
  Mat y(x.size(), std::vector<double>(out));
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t o = 0; o < out; ++o) {
      double s = b[o];
      for (size_t i = 0; i < x[t].size(); ++i) s += x[t][i] * w[i * out + o];
      y[t][o] = s;
    }
  return y;
}

// GPT-2 as Hugging Face's modeling_gpt2 computes it: token + position embeddings, pre-LN blocks
// with causal attention (c_attn's output split into q, k, v, each into heads) and the tanh GELU,
// final LayerNorm, head tied to wte (or `lm_head` when given, [V][C]).
Mat reference_logits(const HfGpt2& m, const std::vector<int32_t>& ids, const std::vector<float>* lm_head = nullptr) {
  const auto& W = m.tensors;
  const size_t T = ids.size(), C = size_t(m.d), H = size_t(m.heads), hd = C / H, V = size_t(m.vocab);
  Mat x(T, std::vector<double>(C));
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < C; ++i)
      x[t][i] = double(W.at("wte.weight")[size_t(ids[t]) * C + i]) + W.at("wpe.weight")[t * C + i];
  for (int l = 0; l < m.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Mat h = x;
    layer_norm(h, W.at(p + "ln_1.weight"), W.at(p + "ln_1.bias"), m.ln_eps);
    const Mat qkv = conv1d(h, W.at(p + "attn.c_attn.weight"), W.at(p + "attn.c_attn.bias"), 3 * C);
    Mat att(T, std::vector<double>(C, 0.0));
    for (size_t hh = 0; hh < H; ++hh)
      for (size_t t = 0; t < T; ++t) {
        std::vector<double> s(t + 1);
        double mx = -1e300;
        for (size_t u = 0; u <= t; ++u) {
          double d = 0;
          for (size_t j = 0; j < hd; ++j) d += qkv[t][hh * hd + j] * qkv[u][C + hh * hd + j];
          s[u] = d / std::sqrt(double(hd));
          mx = std::max(mx, s[u]);
        }
        double z = 0;
        for (auto& v : s) z += (v = std::exp(v - mx));
        for (size_t u = 0; u <= t; ++u)
          for (size_t j = 0; j < hd; ++j) att[t][hh * hd + j] += s[u] / z * qkv[u][2 * C + hh * hd + j];
      }
    const Mat a = conv1d(att, W.at(p + "attn.c_proj.weight"), W.at(p + "attn.c_proj.bias"), C);
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < C; ++i) x[t][i] += a[t][i];
    h = x;
    layer_norm(h, W.at(p + "ln_2.weight"), W.at(p + "ln_2.bias"), m.ln_eps);
    Mat f = conv1d(h, W.at(p + "mlp.c_fc.weight"), W.at(p + "mlp.c_fc.bias"), 4 * C);
    for (auto& row : f)
      for (auto& v : row) v = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    const Mat o = conv1d(f, W.at(p + "mlp.c_proj.weight"), W.at(p + "mlp.c_proj.bias"), C);
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < C; ++i) x[t][i] += o[t][i];
  }
  layer_norm(x, W.at("ln_f.weight"), W.at("ln_f.bias"), m.ln_eps);
  const std::vector<float>& head = lm_head ? *lm_head : W.at("wte.weight");
  Mat logits(T, std::vector<double>(V));
  for (size_t t = 0; t < T; ++t)
    for (size_t v = 0; v < V; ++v) {
      double s = 0;
      for (size_t i = 0; i < C; ++i) s += x[t][i] * head[v * C + i];
      logits[t][v] = s;
    }
  return logits;
}

// The largest |nurture - reference| over all logits, relative to max(1, |reference|).
double max_logit_error(const fs::path& ckpt, const HfGpt2& m, const std::vector<int32_t>& ids,
                       const std::vector<float>* lm_head = nullptr) {
  train::LoadedModel lm = train::load_model(ckpt);
  core::Arena a, g;
  core::Ctx ctx(a, g, nullptr);
  const core::Tensor logits = lm.gpt->forward(ctx, ids.data(), 1, int64_t(ids.size()));
  const Mat ref = reference_logits(m, ids, lm_head);
  double err = 0;
  for (size_t t = 0; t < ids.size(); ++t)
    for (size_t v = 0; v < size_t(m.vocab); ++v)
      err = std::max(err,
                     std::abs(logits.data[t * size_t(m.vocab) + v] - ref[t][v]) / std::max(1.0, std::abs(ref[t][v])));
  return err;
}

config::DataConfig no_data() { return config::DataConfig{}; }

// fp32 (nurture) against double (reference), 2 layers of width 32 with weights of std ~0.2:
// the observed error is ~1e-6; 1e-4 leaves room for summation order, not for a wrong layout
// (a transposed or misordered weight moves logits by O(1)).
constexpr double kTolerance = 1e-4;

TEST(HfGpt2Import, LogitsEqualADirectComputationFromTheSameTensors) {
  test::TempDir dir("hf");
  const HfGpt2 m = test::random_hf_gpt2(2, 32, 4, 24, 7);
  test::write_hf_gpt2(dir / "gpt2", m);
  const ImportResult r = import_hf_gpt2(dir / "gpt2", dir / "out" / "model.h5", no_data());
  EXPECT_TRUE(r.tied_head);
  EXPECT_EQ(r.skipped.size(), 4u);  // attn.bias + attn.masked_bias per layer
  EXPECT_EQ(r.config.data.tokenizer, config::Tokenizer::gpt2);
  EXPECT_EQ(r.config.model.seq_len, 24);
  EXPECT_TRUE(fs::exists(dir / "out" / "vocab.json"));
  EXPECT_TRUE(fs::exists(dir / "out" / "merges.txt"));
  const std::vector<int32_t> ids{5,  200, 17, 262, 0,  255, 33, 33, 100, 7, 1, 256,
                                 90, 12,  3,  41,  60, 61,  62, 63, 64,  9, 8, 7};
  EXPECT_LT(max_logit_error(dir / "out" / "model.h5", m, ids), kTolerance);
  // Every command loads it the same way, with the GPT-2 tokenizer beside it.
  train::LoadedModel lm = train::load_model(dir / "out" / "model.h5");
  ASSERT_TRUE(lm.tokenizer);
  EXPECT_EQ(lm.tokenizer->vocab_size(), m.vocab);
  EXPECT_EQ(lm.tokenizer->decode(lm.tokenizer->encode("the tin hen")), "the tin hen");
  EXPECT_EQ(lm.gpt->config().ln_eps, 1e-5f);
}

TEST(HfGpt2Import, PrefixedNamesUntiedHeadAndTheConfigsEpsilon) {
  test::TempDir dir("hf-prefix");
  HfGpt2 m = test::random_hf_gpt2(1, 16, 2, 8, 11);
  m.ln_eps = 0.5;  // large enough to move every logit: the config's epsilon must be the one used
  // An explicit lm_head (not tied) is taken from the file.
  std::vector<float> head(m.tensors.at("wte.weight").size());
  for (size_t i = 0; i < head.size(); ++i) head[i] = float(std::sin(double(i)));
  m.tensors["lm_head.weight"] = head;
  m.shapes["lm_head.weight"] = {m.vocab, m.d};
  test::write_hf_gpt2(dir / "gpt2", m,
                      {.prefix = "transformer.", .attn_buffers = false, .activation = "gelu_pytorch_tanh"});
  // lm_head.weight carries the prefix too here; GPT2LMHeadModel saves it without one: both map.
  const ImportResult r = import_hf_gpt2(dir / "gpt2", dir / "model.h5", no_data());
  EXPECT_FALSE(r.tied_head);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_DOUBLE_EQ(r.config.model.ln_eps, 0.5);
  const std::vector<int32_t> ids{1, 2, 3, 258, 4, 5, 6, 7};
  EXPECT_LT(max_logit_error(dir / "model.h5", m, ids, &head), kTolerance);
  // The same model read with the default epsilon is measurably different: the test can fail.
  HfGpt2 wrong = m;
  wrong.ln_eps = 1e-5;
  EXPECT_GT(max_logit_error(dir / "model.h5", wrong, ids, &head), 1e-2);
}

TEST(HfGpt2Import, DamagedInputsAreOneLineErrors) {
  test::TempDir dir("hf-bad");
  const HfGpt2 good = test::random_hf_gpt2(1, 16, 2, 8, 3);
  auto error = [&](const std::function<void(const fs::path&)>& damage) {
    const fs::path d = dir / "m";
    fs::remove_all(d);
    test::write_hf_gpt2(d, good);
    damage(d);
    const std::string e = test::error_of([&] { import_hf_gpt2(d, dir / "out.h5", no_data()); });
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(dir / "out.h5")) << e;  // nothing is written on error
    return e;
  };
  auto has = [](const std::string& e, const std::string& part) { EXPECT_NE(e.find(part), std::string::npos) << e; };
  auto edit_config = [&](const std::string& from, const std::string& to) {
    return [from, to](const fs::path& d) {
      std::string c = test::read_text(d / "config.json");
      const auto at = c.find(from);
      ASSERT_NE(at, std::string::npos) << from;
      c.replace(at, from.size(), to);
      test::write_text(d / "config.json", c);
    };
  };
  auto with_model = [&](const std::function<void(HfGpt2&)>& change) {
    return [&, change](const fs::path& d) {
      HfGpt2 m = good;
      change(m);
      test::write_hf_gpt2(d, m);
    };
  };
  has(error([](const fs::path& d) { fs::remove(d / "config.json"); }), "config.json: no such file");
  has(error(edit_config("{", "{{")), "config.json: not valid JSON");
  has(error(edit_config("\"n_embd\"", "\"n_embed_x\"")), "config.json: n_embd is missing");
  has(error(edit_config("\"n_head\": 2", "\"n_head\": 3")), "n_embd 16 is not a multiple of n_head 3");
  has(error(edit_config("\"gelu_new\"", "\"relu\"")), "activation_function is relu; nurture runs GPT-2's tanh GELU");
  has(error(edit_config("\"gpt2\"", "\"llama\"")), "model_type is \"llama\"");
  has(error(edit_config("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": -1")), "layer_norm_epsilon is -1");
  has(error([](const fs::path& d) { fs::remove(d / "merges.txt"); }), "merges.txt: no such file");
  has(error([](const fs::path& d) { fs::remove(d / "model.safetensors"); }), "model.safetensors: no such file");
  has(error(with_model([](HfGpt2& m) {
        m.tensors.erase("h.0.mlp.c_fc.bias");
        m.shapes.erase("h.0.mlp.c_fc.bias");
      })),
      "model.safetensors: tensor 'h.0.mlp.c_fc.bias' [64] is missing");
  // A Conv1D weight in nn.Linear's [out, in] layout is the wrong shape.
  has(error(with_model([](HfGpt2& m) {
        m.shapes["h.0.attn.c_attn.weight"] = {48, 16};
      })),
      "tensor 'h.0.attn.c_attn.weight' has shape [48, 16], but config.json (n_embd 16");
  has(error(with_model([](HfGpt2& m) {
        m.tensors["h.0.attn.rotary"] = {1, 2};
        m.shapes["h.0.attn.rotary"] = {2};
      })),
      "tensor 'h.0.attn.rotary' [2] is not part of a GPT-2 with n_layer 1");
  has(error(with_model([](HfGpt2& m) { m.tensors["ln_f.bias"][3] = std::nanf(""); })),
      "tensor 'ln_f.bias' holds a non-finite value");
  // One layer more in config.json than in the file.
  has(error(edit_config("\"n_layer\": 1", "\"n_layer\": 2")), "tensor 'h.1.ln_1.weight' [16] is missing");
  // Truncated data.
  has(error([](const fs::path& d) {
        fs::resize_file(d / "model.safetensors", fs::file_size(d / "model.safetensors") - 100);
      }),
      "(truncated file?)");
  // A vocabulary larger than the model's embedding.
  has(error(edit_config("\"vocab_size\": 263", "\"vocab_size\": 200")),
      "263 tokens, more than config.json's vocab_size 200");
}

}  // namespace
}  // namespace nurture::import
