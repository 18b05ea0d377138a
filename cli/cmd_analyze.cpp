// `nurture analyze CHECKPOINT [--out DIR] [--sequences N] [--precision F] [--threads N]`: the
// paper's weight and activation statistics (section 5, Table 5, Figures 4-5) on a calibration
// batch of held-out text, in the number format of PTQ's baseline. Writes DIR/analysis.json and
// DIR/analysis.md and prints the tables.
#include <omp.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "data/file_io.h"
#include "eval/heldout.h"
#include "precision/format.h"
#include "quant/analysis.h"
#include "quant/analysis_report.h"
#include "train/load_model.h"

namespace nurture::cli {

Action add_analyze(CLI::App& app) {
  struct Opts {
    std::string checkpoint, out, precision = "fp16";
    int sequences = 16, threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  // No CLI::ExistingFile check: a missing checkpoint is reported by load_model as one line.
  app.add_option("checkpoint", o->checkpoint, "Checkpoint (.h5) written by nurture train")->required();
  app.add_option("--out", o->out,
                 "Output directory (default: <run>/analysis/<checkpoint stem>/ for <run>/checkpoints/*.h5, "
                 "else <checkpoint>.analysis/)");
  app.add_option("--sequences", o->sequences, "Held-out sequences of the model's seq_len to calibrate on")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  // fp16 is nurture ptq's default --baseline: the statistics describe the model PTQ quantizes.
  app.add_option("--precision", o->precision,
                 "Number format of the analysed parameters and forward, as in nurture ptq --baseline")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp16", "bf16", "fp32"}));
  app.add_option("--threads", o->threads, "OpenMP threads (0 = all cores)")->capture_default_str();
  app.add_flag("-q,--quiet", o->quiet, "Print only the paths written (no progress lines, no tables)");
  return [o] {
    if (o->threads > 0) omp_set_num_threads(o->threads);
    auto log = [o](const std::string& m) {
      if (!o->quiet) std::cerr << "analyze: " << m << "\n";
    };
    if (!std::filesystem::is_regular_file(o->checkpoint))
      throw std::runtime_error(o->checkpoint + ": no such checkpoint file (pass a .h5 from <run>/checkpoints/)");
    train::LoadedModel lm = train::load_model(o->checkpoint);
    if (!lm.tokenizer)
      throw std::runtime_error(o->checkpoint + ": no tokenizer.model next to the checkpoint or in its run directory");
    const eval::HeldOut heldout = eval::load_heldout(lm.config, *lm.tokenizer, log);
    const int T = lm.gpt->config().seq_len;
    const std::vector<int32_t> ids = quant::calibration_windows(heldout.tokens, o->sequences, T);
    if (int64_t(ids.size()) < int64_t(o->sequences) * T)
      log("held-out text holds only " + std::to_string(ids.size() / size_t(T)) + " sequences of " + std::to_string(T) +
          " tokens; calibrating on those");
    quant::AnalysisOptions opt;
    opt.log = log;
    opt.precision = precision::parse_format(o->precision);
    opt.restore_weights = false;  // the model is discarded afterwards: no copy of the weights
    quant::Analysis a = quant::analyze(*lm.gpt, ids, T, opt);
    a.calibration.description = heldout.description;

    const quant::AnalysisSource src{o->checkpoint, lm.step};
    const std::filesystem::path dir =
        o->out.empty() ? quant::default_analysis_dir(o->checkpoint) : std::filesystem::path(o->out);
    data::ensure_directory(dir);
    const std::string md = quant::to_markdown(a, src);
    core::write_file_atomic(
        dir / "analysis.json",
        quant::to_json(a, src).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    core::write_file_atomic(dir / "analysis.md", md);
    if (!o->quiet) std::cout << md << "\n";
    std::cout << "wrote " << (dir / "analysis.json").string() << " and " << (dir / "analysis.md").string() << "\n";
    return 0;
  };
}

}  // namespace nurture::cli
