// `nurture eval CHECKPOINT [--suite S] [--limit N] [--json out.json]`: zero-shot evaluation of
// a checkpoint on a task suite (eval/README.md). Prints a table; writes the results as JSON.

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scoring_options.h"
#include "core/atomic_file.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "train/load_model.h"

namespace nurture::cli {

Action add_eval(CLI::App& app) {
  struct Opts {
    std::string checkpoint, suite = "default", json;
    bool no_json = false;
    int64_t limit = 0;
    ScoringOptions scoring;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("checkpoint", o->checkpoint, "Checkpoint (.h5) written by nurture train")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--suite", o->suite, "Suite YAML file, or a shipped suite name (default, paper)")
      ->capture_default_str();
  app.add_option("--limit", o->limit, "At most N items per task (likelihood: N windows); 0 = the suite's limits")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", o->json, "Write results here (default: <checkpoint>.eval-<suite>.json beside it)");
  app.add_flag("--no-json", o->no_json, "Do not write the JSON results file");
  add_scoring_options(app, o->scoring);
  return [o] {
    const auto log = apply_scoring_options(o->scoring, "eval");
    // Everything that can fail on user input happens before any scoring: suite, checkpoint,
    // held-out data, task files.
    const eval::Suite suite = eval::load_suite(o->suite);
    train::LoadedModel lm = train::load_model(o->checkpoint);
    if (!lm.tokenizer)
      throw std::runtime_error(o->checkpoint + ": no tokenizer.model next to the checkpoint or in its run directory");
    eval::HeldOut heldout;
    eval::EvalOptions opt;
    opt.limit = o->limit;
    opt.score.batch_tokens = o->scoring.batch_tokens;
    opt.log = log;
    if (suite.needs_heldout()) {
      heldout = eval::load_heldout(lm.config, *lm.tokenizer, log);
      opt.heldout = &heldout;
    }
    const eval::PreparedSuite prepared = eval::prepare_suite(suite, *lm.tokenizer, lm.gpt->config().seq_len, opt);
    const eval::SuiteResult result = eval::run_suite(*lm.gpt, prepared, opt);

    std::cout << "checkpoint " << o->checkpoint << " (step " << lm.step << "), suite " << suite.name << " ("
              << suite.path.string() << ")\n"
              << eval::format_table(result);
    if (!o->no_json) {
      std::string path = o->json;
      if (path.empty()) {
        std::filesystem::path p = o->checkpoint;
        path = (p.parent_path() / (p.stem().string() + ".eval-" + suite.name + ".json")).string();
      }
      nlohmann::ordered_json j;
      j["format"] = "nurture-eval-v1";
      j["checkpoint"] = o->checkpoint;
      j["step"] = lm.step;
      j["suite_file"] = suite.path.string();
      j["limit"] = o->limit;
      j["precision"] = "fp32";
      const nlohmann::ordered_json body = eval::to_json(result);
      for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "format") j[it.key()] = it.value();
      core::write_file_atomic(path, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      std::cout << "wrote " << path << "\n";
    }
    if (!o->scoring.log_samples.empty()) {
      core::write_file_atomic(o->scoring.log_samples, eval::samples_jsonl(prepared, result, ""));
      std::cout << "wrote " << o->scoring.log_samples << "\n";
    }
    return 0;
  };
}

}  // namespace nurture::cli
