// `nurture ptq CHECKPOINT [--recipes LIST] [--suite S] [--baseline fp16|bf16|fp32] [--limit N]
// [--out DIR]`: post-training quantization of a checkpoint under each recipe, evaluated on a
// task suite against the unquantized baseline (quant/README.md). Prints a table; writes
// DIR/ptq.json and DIR/ptq.md.

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scoring_options.h"
#include "core/atomic_file.h"
#include "data/file_io.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "precision/format.h"
#include "quant/ptq.h"
#include "quant/ptq_report.h"
#include "train/load_model.h"

namespace nurture::cli {

namespace {

// <run dir>/eval/<stem>/ for <run dir>/checkpoints/<stem>.h5, else <checkpoint>.ptq/.
std::filesystem::path default_out_dir(const std::filesystem::path& checkpoint) {
  const std::filesystem::path parent = checkpoint.parent_path();
  if (parent.filename() == "checkpoints") return parent.parent_path() / "eval" / checkpoint.stem();
  return std::filesystem::path(checkpoint.string() + ".ptq");
}

}  // namespace

Action add_ptq(CLI::App& app) {
  struct Opts {
    std::string checkpoint, recipes = "all", suite = "default", baseline = "fp16", out;
    int64_t limit = 0;
    int calibration_sequences = 16;
    bool quantize_head = false, int8_kernels = false;
    ScoringOptions scoring;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("checkpoint", o->checkpoint, "Checkpoint (.h5) written by nurture train")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--recipes", o->recipes,
                 "Comma-separated recipes to compare with pre: " + quant::recipe_names() + ", all, or " +
                     quant::recipe_grammar())
      ->capture_default_str();
  app.add_option("--suite", o->suite, "Suite YAML file, or a shipped suite name (default, paper)")
      ->capture_default_str();
  app.add_option("--baseline", o->baseline, "Precision of pre, and under the recipes (fp16, bf16, fp32)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp16", "bf16", "fp32"}));
  app.add_option("--limit", o->limit, "At most N items per task (likelihood: N windows); 0 = the suite's limits")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out", o->out, "Output directory (default: <run>/eval/<checkpoint stem>/, see quant/README.md)");
  app.add_flag("--quantize-head", o->quantize_head, "Quantize lm_head too (default: baseline precision)");
  app.add_flag("--int8-kernels", o->int8_kernels,
               "Run recipes with 8-bit activations (or none) and 8- or 4-bit per-channel/per-tensor weights with real "
               "int8 GEMMs; the others fall back to fake quantization (a log line says so)");
  app.add_option("--calibration-sequences", o->calibration_sequences,
                 "SmoothQuant and per-tensor activation scales: held-out windows of seq_len tokens to calibrate on")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_scoring_options(app, o->scoring);
  return [o] {
    const auto log = apply_scoring_options(o->scoring, "ptq");
    // Everything that can fail on user input happens before any scoring.
    quant::PtqOptions opt;
    opt.recipes = quant::parse_recipe_list(o->recipes);
    opt.baseline = precision::parse_format(o->baseline);
    opt.quantize_head = o->quantize_head;
    opt.int8_kernels = o->int8_kernels;
    opt.calibration_sequences = o->calibration_sequences;
    opt.restore_embeddings = false;  // the model is discarded afterwards: no copy of the embeddings
    const eval::Suite suite = eval::load_suite(o->suite);
    train::LoadedModel lm = train::load_model(o->checkpoint);
    if (!lm.tokenizer)
      throw std::runtime_error(o->checkpoint + ": no tokenizer.model next to the checkpoint or in its run directory");
    bool calibrate = false;  // SmoothQuant and static per-tensor activation scales
    for (const quant::Recipe& r : opt.recipes) calibrate = calibrate || r.needs_calibration();
    eval::HeldOut heldout;
    opt.eval.limit = o->limit;
    opt.eval.score.batch_tokens = o->scoring.batch_tokens;
    opt.eval.log = log;
    if (suite.needs_heldout() || calibrate) {
      heldout = eval::load_heldout(lm.config, *lm.tokenizer, log);
      opt.eval.heldout = &heldout;
      opt.calibration = &heldout.tokens;
    }
    const std::filesystem::path out_dir =
        o->out.empty() ? default_out_dir(o->checkpoint) : std::filesystem::path(o->out);
    const eval::PreparedSuite prepared = eval::prepare_suite(suite, *lm.tokenizer, lm.gpt->config().seq_len, opt.eval);
    const quant::PtqResult result = quant::run_ptq(*lm.gpt, prepared, opt);

    const quant::PtqMeta meta{o->checkpoint, lm.step, o->limit};
    std::cout << "checkpoint " << o->checkpoint << " (step " << lm.step << "), suite " << suite.name << ", baseline "
              << o->baseline << "\n"
              << quant::format_table(result);
    data::ensure_directory(out_dir);
    core::write_file_atomic(
        out_dir / "ptq.json",
        quant::to_json(result, meta).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    core::write_file_atomic(out_dir / "ptq.md", quant::format_markdown(result, meta));
    std::cout << "wrote " << (out_dir / "ptq.json").string() << " and ptq.md\n";
    if (!o->scoring.log_samples.empty()) {
      std::string lines;
      for (const quant::RecipeResult& rr : result.recipes) lines += eval::samples_jsonl(prepared, rr.suite, rr.name);
      core::write_file_atomic(o->scoring.log_samples, lines);
      std::cout << "wrote " << o->scoring.log_samples << "\n";
    }
    return 0;
  };
}

}  // namespace nurture::cli
