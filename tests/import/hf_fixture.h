// Writers for the files a Hugging Face GPT-2 directory holds (model.safetensors, config.json,
// vocab.json, merges.txt), so the import tests need no network: a small random GPT-2 in the
// Hugging Face layout, and safetensors bytes that can be damaged on purpose.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nurture::test {

// One safetensors entry: raw little-endian bytes, written as given (no check that they fit).
struct StEntry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
StEntry st_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values);

// The file: 8-byte length, JSON header (entries in order, contiguous data_offsets, padded with
// spaces to a multiple of 8 as the reference writer does), then the data.
std::string safetensors_bytes(const std::vector<StEntry>& entries);
// The header and data separately, for tests that damage the header.
std::string safetensors_header(const std::vector<StEntry>& entries);
std::string with_header(const std::string& header_json, const std::string& data);

// A GPT-2 as Hugging Face stores it: Conv1D weights [in, out], names without a prefix.
struct HfGpt2 {
  int vocab = 0, d = 0, layers = 0, heads = 0, positions = 0;
  double ln_eps = 1e-5;
  std::map<std::string, std::vector<float>> tensors;  // HF name -> values (HF layout)
  std::map<std::string, std::vector<int64_t>> shapes;
};
// Random weights (normal, std 0.02-0.3; LayerNorm gains around 1) for a byte-level vocabulary:
// vocab = 256 bytes + merges + <|endoftext|>.
HfGpt2 random_hf_gpt2(int layers, int d, int heads, int positions, uint64_t seed);

// The merges the fixture tokenizer knows (GPT-2's merges.txt syntax, "Ġ" for the space byte).
const std::vector<std::string>& fixture_merges();

struct HfWriteOptions {
  std::string prefix;        // e.g. "transformer." as GPT2LMHeadModel saves it
  bool attn_buffers = true;  // h.{i}.attn.bias / masked_bias, as older exports carry
  std::string activation = "gelu_new";
};
// config.json, model.safetensors, vocab.json, merges.txt into `dir` (created).
void write_hf_gpt2(const std::filesystem::path& dir, const HfGpt2& m, const HfWriteOptions& o = {});

}  // namespace nurture::test
