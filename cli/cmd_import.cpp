// `nurture import hf-gpt2 DIR --out CKPT.h5 [--corpus PATH...]`: a Hugging Face GPT-2 directory to
// a nurture checkpoint, with the GPT-2 tokenizer beside it (import/hf_gpt2.h, docs/IMPORT-GPT2.md).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "import/hf_gpt2.h"

namespace nurture::cli {

Action add_import(CLI::App& app) {
  struct Opts {
    std::string dir, out;
    config::DataConfig data;
  };
  auto o = std::make_shared<Opts>();
  app.require_subcommand(1);
  CLI::App* hf = app.add_subcommand(
      "hf-gpt2", "A Hugging Face GPT-2 directory (config.json, model.safetensors, vocab.json, merges.txt)");
  hf->add_option("dir", o->dir, "The model directory, e.g. from huggingface-cli download gpt2")->required();
  hf->add_option("--out", o->out, "Checkpoint to write (.h5); vocab.json and merges.txt are copied beside it")
      ->required();
  hf->add_option("--corpus", o->data.corpus,
                 "Text file(s) or directories whose held-out tail eval, ptq and analyze use (data.corpus)")
      ->capture_default_str();
  hf->add_option("--cache-dir", o->data.cache_dir, "Where the encoded corpus is cached (data.cache_dir)");
  hf->add_option("--val-fraction", o->data.val_fraction, "Held-out fraction of the corpus (data.val_fraction)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  return [o] {
    const import::ImportResult r = import::import_hf_gpt2(
        o->dir, o->out, o->data, [](const std::string& m) { std::cerr << "import: " << m << "\n"; });
    const auto& m = r.config.model;
    std::cout << "imported " << o->dir << ": " << r.parameters << " parameters, n_layer " << m.n_layer << ", d_model "
              << m.d_model << ", n_head " << m.n_head << ", seq_len " << m.seq_len << ", vocab " << m.vocab_size
              << ", lm_head " << (r.tied_head ? "copied from wte (tied)" : "from the file") << "; skipped "
              << r.skipped.size() << " mask buffer(s)\nwrote " << o->out << "\n";
    return 0;
  };
}

}  // namespace nurture::cli
