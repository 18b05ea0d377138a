// `nurture import hf-gpt2`: a Hugging Face GPT-2 directory (config.json, model.safetensors,
// vocab.json, merges.txt) to a nurture checkpoint that every command loads with train::load_model.
//
// The mapping (docs/IMPORT-GPT2.md):
//   - names: HF's, optionally under "transformer.", are nurture's (wte.weight -> wte, wpe.weight ->
//     wpe); the attention-mask buffers h.{i}.attn.bias / masked_bias are skipped;
//   - Conv1D weights (c_attn, attn.c_proj, c_fc, mlp.c_proj) are stored [in, out]: transposed to
//     nurture's [out, in]. c_attn's output is q | k | v, each split into heads, which is nurture's
//     qkv layout, so no reordering is needed;
//   - lm_head.weight is HF's when the file has one, else a copy of the tied wte (nurture's head is
//     untied);
//   - config: n_embd, n_layer, n_head, n_positions (or n_ctx), vocab_size, layer_norm_epsilon;
//     activation_function must be GPT-2's tanh GELU (gelu_new or gelu_pytorch_tanh); dropout 0;
//     data.tokenizer: gpt2, with vocab.json and merges.txt copied next to the checkpoint.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace nurture::import {

struct HfGpt2Config {
  int vocab_size = 0, n_embd = 0, n_layer = 0, n_head = 0, n_positions = 0;
  double layer_norm_epsilon = 1e-5;
};
// Reads and checks DIR/config.json; throws ImportError naming the file and the key.
HfGpt2Config read_hf_gpt2_config(const std::filesystem::path& config_json);

struct ImportResult {
  config::Config config;  // what the checkpoint's /config holds
  int64_t parameters = 0;
  std::vector<std::string> skipped;  // tensors in the file that are not parameters (mask buffers)
  bool tied_head = true;             // lm_head copied from wte
};

// `data` supplies the held-out text eval, ptq and analyze will use (data.corpus, cache_dir,
// val_fraction); the rest of the config comes from config.json. Writes `out` atomically, then
// vocab.json and merges.txt beside it. Everything is checked before anything is written.
ImportResult import_hf_gpt2(const std::filesystem::path& dir, const std::filesystem::path& out,
                            const config::DataConfig& data, const std::function<void(const std::string&)>& log = {});

}  // namespace nurture::import
