#include "import/hf_gpt2.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/file_io.h"
#include "data/tokenizer.h"
#include "import/error.h"
#include "import/safetensors.h"
#include "model/gpt.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace nurture::import {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

int positive_int(const nlohmann::json& j, const fs::path& file, const char* key, const char* fallback = nullptr) {
  const char* used = key;
  if (!j.contains(key) || j[key].is_null()) {
    if (!fallback || !j.contains(fallback))
      throw ImportError(file.string() + ": " + key + " is missing (a GPT-2 config.json has n_embd, n_layer, n_head, " +
                        "n_positions and vocab_size)");
    used = fallback;
  }
  const nlohmann::json& v = j[used];
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > (1 << 24))
    throw ImportError(file.string() + ": " + used + " is " + v.dump() + ", expected a positive integer");
  return v.get<int>();
}

// A Conv1D weight, stored [in, out] by Hugging Face, transposed to nurture's [out, in].
bool is_conv1d(const std::string& name) {
  for (const char* s : {".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"})
    if (name.size() > std::string(s).size() && name.ends_with(s)) return true;
  return false;
}

// nurture's parameter name -> the Hugging Face name it is read from.
std::string hf_name(const std::string& nurture_name) {
  if (nurture_name == "wte" || nurture_name == "wpe") return nurture_name + ".weight";
  return nurture_name;
}

bool is_mask_buffer(const std::string& name) {
  return name.starts_with("h.") && (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"));
}

}  // namespace

HfGpt2Config read_hf_gpt2_config(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw ImportError(file.string() + ": no such file (pass the directory of a Hugging Face GPT-2 checkpoint)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(data::read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw ImportError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw ImportError(file.string() + ": not a JSON object");
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    throw ImportError(file.string() + ": model_type is " + j["model_type"].dump() +
                      "; only GPT-2 (model_type \"gpt2\") can be imported");
  HfGpt2Config c;
  c.n_embd = positive_int(j, file, "n_embd");
  c.n_layer = positive_int(j, file, "n_layer");
  c.n_head = positive_int(j, file, "n_head");
  c.n_positions = positive_int(j, file, "n_positions", "n_ctx");
  c.vocab_size = positive_int(j, file, "vocab_size");
  if (c.n_embd % c.n_head != 0)
    throw ImportError(file.string() + ": n_embd " + std::to_string(c.n_embd) + " is not a multiple of n_head " +
                      std::to_string(c.n_head));
  if (j.contains("layer_norm_epsilon")) {
    if (!j["layer_norm_epsilon"].is_number() || !(j["layer_norm_epsilon"].get<double>() > 0))
      throw ImportError(file.string() + ": layer_norm_epsilon is " + j["layer_norm_epsilon"].dump() +
                        ", expected a positive number");
    c.layer_norm_epsilon = j["layer_norm_epsilon"].get<double>();
  }
  // Hugging Face's GPT2Config defaults to gelu_new, the tanh approximation.
  const std::string act = j.contains("activation_function") && j["activation_function"].is_string()
                              ? j["activation_function"].get<std::string>()
                              : (j.contains("activation_function") ? j["activation_function"].dump() : "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    throw ImportError(file.string() + ": activation_function is " + act +
                      "; nurture runs GPT-2's tanh GELU only (gelu_new or gelu_pytorch_tanh)");
  if (j.contains("n_inner") && !j["n_inner"].is_null() &&
      !(j["n_inner"].is_number_integer() && j["n_inner"].get<int64_t>() == 4 * int64_t(c.n_embd)))
    throw ImportError(file.string() + ": n_inner is " + j["n_inner"].dump() +
                      "; nurture's MLP is 4 * n_embd = " + std::to_string(4 * c.n_embd) + " wide");
  for (const char* flag : {"scale_attn_by_inverse_layer_idx", "add_cross_attention"})
    if (j.contains(flag) && j[flag] == true)
      throw ImportError(file.string() + ": " + flag + " is true; nurture's GPT has no such variant");
  if (j.contains("scale_attn_weights") && j["scale_attn_weights"] == false)
    throw ImportError(file.string() + ": scale_attn_weights is false; nurture scales attention by 1/sqrt(head_dim)");
  return c;
}

ImportResult import_hf_gpt2(const fs::path& dir, const fs::path& out, const config::DataConfig& data,
                            const std::function<void(const std::string&)>& log_fn) {
  const auto log = log_fn ? log_fn : [](const std::string&) {};
  const HfGpt2Config hc = read_hf_gpt2_config(dir / "config.json");
  for (const char* f : {"vocab.json", "merges.txt"})
    if (!fs::is_regular_file(dir / f))
      throw ImportError((dir / f).string() + ": no such file (the GPT-2 tokenizer needs vocab.json and merges.txt)");
  const data::Tokenizer tok = data::Tokenizer::load_gpt2_bpe(dir / "vocab.json", dir / "merges.txt");
  if (tok.vocab_size() > hc.vocab_size)
    throw ImportError((dir / "vocab.json").string() + ": " + std::to_string(tok.vocab_size()) +
                      " tokens, more than config.json's vocab_size " + std::to_string(hc.vocab_size));
  const SafeTensors st = SafeTensors::open(dir / "model.safetensors");

  ImportResult r;
  config::Config& cfg = r.config;
  cfg.model.vocab_size = hc.vocab_size;
  cfg.model.d_model = hc.n_embd;
  cfg.model.n_layer = hc.n_layer;
  cfg.model.n_head = hc.n_head;
  cfg.model.seq_len = hc.n_positions;
  cfg.model.dropout = 0.0;
  cfg.model.bias = true;
  cfg.model.pos_embedding = model::PosEmbedding::learned;
  cfg.model.gelu = core::GeluKind::Tanh;
  cfg.model.ln_eps = hc.layer_norm_epsilon;
  cfg.data = data;
  cfg.data.tokenizer = config::Tokenizer::gpt2;
  cfg.precision.dtype = precision::Format::fp32;
  cfg.output.dir = out.parent_path().empty() ? "." : out.parent_path().string();
  cfg.output.name = "hf-gpt2 import of " + dir.string();
  cfg.train.steps = 1;  // never trained here; keeps the config valid
  cfg.optim.warmup_steps = 0;
  // The text must parse back as what load_model will see.
  cfg = config::parse_config(config::to_yaml(cfg), {}, "imported config");

  // Names in the file, without the optional "transformer." prefix of GPT2LMHeadModel.
  std::map<std::string, const StTensor*> by_name;
  for (const StTensor& t : st.tensors()) {
    const std::string n = t.name.starts_with("transformer.") ? t.name.substr(12) : t.name;
    if (!by_name.emplace(n, &t).second)
      throw ImportError(st.path().string() + ": tensor '" + n + "' appears twice (with and without transformer.)");
  }

  model::GPTConfig g = train::gpt_config(cfg);
  g.gradients = false;
  auto gpt = std::make_unique<model::GPT>(g);
  auto& P = gpt->params();
  // Every name and shape first, so a damaged file costs no reading.
  std::map<std::string, bool> used;
  std::vector<const StTensor*> source(P.infos().size());
  for (size_t i = 0; i < P.infos().size(); ++i) {
    const model::ParamInfo& p = P.info(int(i));
    std::string n = hf_name(p.name);
    std::vector<int64_t> want = p.shape.vec();
    if (is_conv1d(p.name)) std::swap(want[0], want[1]);
    auto it = by_name.find(n);
    if (it == by_name.end() && p.name == "lm_head.weight") {
      it = by_name.find("wte.weight");  // tied: GPT-2 saves no separate head
      n = "wte.weight";
    } else if (p.name == "lm_head.weight") {
      r.tied_head = false;
    }
    if (it == by_name.end())
      throw ImportError(st.path().string() + ": tensor '" + n + "' " + shape_text(want) +
                        " is missing (config.json: n_layer " + std::to_string(hc.n_layer) + ", n_embd " +
                        std::to_string(hc.n_embd) + ")");
    if (it->second->shape != want)
      throw ImportError(st.path().string() + ": tensor '" + it->second->name + "' has shape " +
                        shape_text(it->second->shape) + ", but config.json (n_embd " + std::to_string(hc.n_embd) +
                        ", vocab_size " + std::to_string(hc.vocab_size) + ", n_positions " +
                        std::to_string(hc.n_positions) + ") needs " + shape_text(want));
    source[i] = it->second;
    used[it->first] = true;
  }
  for (const auto& [n, t] : by_name) {
    if (used.count(n)) continue;
    if (!is_mask_buffer(n))
      throw ImportError(st.path().string() + ": tensor '" + t->name + "' " + shape_text(t->shape) +
                        " is not part of a GPT-2 with n_layer " + std::to_string(hc.n_layer) +
                        " (a different architecture?)");
    r.skipped.push_back(t->name);
  }

  log("reading " + st.path().string() + " (" + std::to_string(P.infos().size()) + " parameters)");
  std::vector<float> tmp;
  for (size_t i = 0; i < P.infos().size(); ++i) {
    const model::ParamInfo& p = P.info(int(i));
    float* dst = P.master(int(i));
    if (!is_conv1d(p.name)) {
      st.read_f32(*source[i], dst);
    } else {
      tmp.resize(size_t(p.numel()));
      st.read_f32(*source[i], tmp.data());
      const int64_t rows = p.shape[0], cols = p.shape[1];  // nurture [out, in]; the file [in, out]
      for (int64_t o = 0; o < rows; ++o)
        for (int64_t k = 0; k < cols; ++k) dst[o * cols + k] = tmp[size_t(k * rows + o)];
    }
    for (int64_t k = 0; k < p.numel(); ++k)
      if (!std::isfinite(dst[k]))
        throw ImportError(st.path().string() + ": tensor '" + source[i]->name + "' holds a non-finite value (" +
                          std::to_string(dst[k]) + ")");
    r.parameters += p.numel();
  }
  std::vector<float>().swap(tmp);

  train::CheckpointContents c;
  for (size_t i = 0; i < P.infos().size(); ++i)
    c.params.push_back({P.info(int(i)).name, P.info(int(i)).shape.vec(), P.master(int(i))});
  c.state.ints["step"] = 0;
  c.meta.strings["precision"] = "fp32";
  c.meta.strings["tokenizer"] = "vocab.json merges.txt";
  c.meta.strings["imported_from"] = fs::absolute(dir).lexically_normal().string();
  c.config_yaml = config::to_yaml(cfg);
  // The weights are in the HDF5 image once written: free them before the image is copied out
  // (GPT-2 small: 650 MB each), so the import peaks at two copies, not three.
  c.arrays_copied = [&gpt] { gpt.reset(); };
  if (!out.parent_path().empty()) data::ensure_directory(out.parent_path());
  train::write_checkpoint(out.string(), c);
  for (const char* f : {"vocab.json", "merges.txt"})
    core::write_file_atomic(out.parent_path() / f, data::read_file(dir / f));
  log("wrote " + out.string() + " and vocab.json, merges.txt beside it");
  return r;
}

}  // namespace nurture::import
