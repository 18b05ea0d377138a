#include "tests/import/hf_fixture.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "tests/support/support.h"

namespace nurture::test {

StEntry st_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
  StEntry e{name, "F32", std::move(shape), std::string(values.size() * 4, '\0')};
  std::memcpy(e.bytes.data(), values.data(), e.bytes.size());
  return e;
}

std::string safetensors_header(const std::vector<StEntry>& entries) {
  // ordered_json keeps the entries in file order, as the reference writer does.
  nlohmann::ordered_json h;
  h["__metadata__"] = {{"format", "pt"}};
  uint64_t off = 0;
  for (const auto& e : entries) {
    h[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {off, off + e.bytes.size()}}};
    off += e.bytes.size();
  }
  std::string s = h.dump();
  while (s.size() % 8) s += ' ';
  return s;
}

std::string with_header(const std::string& header_json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header_json + data;
}

std::string safetensors_bytes(const std::vector<StEntry>& entries) {
  std::string data;
  for (const auto& e : entries) data += e.bytes;
  return with_header(safetensors_header(entries), data);
}

const std::vector<std::string>& fixture_merges() {
  static const std::vector<std::string> m{"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r"};
  return m;
}

HfGpt2 random_hf_gpt2(int layers, int d, int heads, int positions, uint64_t seed) {
  HfGpt2 m;
  m.vocab = 256 + int(fixture_merges().size()) + 1;
  m.d = d;
  m.layers = layers;
  m.heads = heads;
  m.positions = positions;
  core::SeqRng rng(seed);
  auto add = [&](const std::string& n, std::vector<int64_t> shape, double mean, double std) {
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    std::vector<float> v(static_cast<size_t>(numel));
    for (auto& x : v) x = static_cast<float>(mean + std * rng.normal());
    m.tensors[n] = std::move(v);
    m.shapes[n] = std::move(shape);
  };
  const int64_t V = m.vocab, C = d;
  add("wte.weight", {V, C}, 0, 0.3);
  add("wpe.weight", {positions, C}, 0, 0.1);
  for (int l = 0; l < layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    add(h + "ln_1.weight", {C}, 1, 0.2);
    add(h + "ln_1.bias", {C}, 0, 0.1);
    add(h + "attn.c_attn.weight", {C, 3 * C}, 0, 0.2);
    add(h + "attn.c_attn.bias", {3 * C}, 0, 0.1);
    add(h + "attn.c_proj.weight", {C, C}, 0, 0.2);
    add(h + "attn.c_proj.bias", {C}, 0, 0.05);
    add(h + "ln_2.weight", {C}, 1, 0.2);
    add(h + "ln_2.bias", {C}, 0, 0.1);
    add(h + "mlp.c_fc.weight", {C, 4 * C}, 0, 0.2);
    add(h + "mlp.c_fc.bias", {4 * C}, 0, 0.1);
    add(h + "mlp.c_proj.weight", {4 * C, C}, 0, 0.1);
    add(h + "mlp.c_proj.bias", {C}, 0, 0.05);
  }
  add("ln_f.weight", {C}, 1, 0.2);
  add("ln_f.bias", {C}, 0, 0.1);
  return m;
}

namespace {

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to U+0100 onwards,
// in the order that also gives the byte tokens their ids.
std::vector<std::pair<int, std::string>> byte_tokens() {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  std::vector<int> cs = bs;
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
      bs.push_back(b);
      cs.push_back(256 + n++);
    }
  std::vector<std::pair<int, std::string>> out;
  for (size_t i = 0; i < bs.size(); ++i) {
    const int c = cs[i];
    std::string u;
    if (c < 0x80) {
      u += char(c);
    } else {
      u += char(0xC0 | (c >> 6));
      u += char(0x80 | (c & 0x3F));
    }
    out.push_back({bs[i], u});
  }
  return out;
}

}  // namespace

void write_hf_gpt2(const std::filesystem::path& dir, const HfGpt2& m, const HfWriteOptions& o) {
  std::filesystem::create_directories(dir);
  nlohmann::ordered_json cfg{{"activation_function", o.activation},
                             {"architectures", {"GPT2LMHeadModel"}},
                             {"attn_pdrop", 0.1},
                             {"embd_pdrop", 0.1},
                             {"layer_norm_epsilon", m.ln_eps},
                             {"model_type", "gpt2"},
                             {"n_ctx", m.positions},
                             {"n_embd", m.d},
                             {"n_head", m.heads},
                             {"n_layer", m.layers},
                             {"n_positions", m.positions},
                             {"resid_pdrop", 0.1},
                             {"vocab_size", m.vocab}};
  write_text(dir / "config.json", cfg.dump(2) + "\n");

  std::vector<StEntry> entries;
  for (const auto& [name, values] : m.tensors) entries.push_back(st_f32(o.prefix + name, m.shapes.at(name), values));
  if (o.attn_buffers)
    for (int l = 0; l < m.layers; ++l) {
      const int64_t T = m.positions;
      std::vector<float> mask(size_t(T * T), 0.0f);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j <= i; ++j) mask[size_t(i * T + j)] = 1.0f;
      const std::string h = o.prefix + "h." + std::to_string(l) + ".attn.";
      entries.push_back(st_f32(h + "bias", {1, 1, T, T}, mask));
      entries.push_back(st_f32(h + "masked_bias", {}, {-1e4f}));
    }
  write_text(dir / "model.safetensors", safetensors_bytes(entries));

  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  int id = 0;
  for (const auto& [byte, text] : byte_tokens()) vocab[text] = id++;
  std::string merges = "#version: 0.2\n";
  for (const std::string& mg : fixture_merges()) {
    const auto sp = mg.find(' ');
    vocab[mg.substr(0, sp) + mg.substr(sp + 1)] = id++;
    merges += mg + "\n";
  }
  vocab["<|endoftext|>"] = id++;
  write_text(dir / "vocab.json", vocab.dump() + "\n");
  write_text(dir / "merges.txt", merges);
}

}  // namespace nurture::test
