// `nurture`: the command-line front end. User errors (bad config, missing file, bad value)
// arrive here as exceptions and leave as one line on stderr with a non-zero exit status.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "precision/cast.h"

int main(int argc, char** argv) {
  // `cast` takes negative numbers and its own flags: hand it the raw arguments.
  if (argc >= 2 && std::string(argv[1]) == "cast") {
    try {
      return nurture::precision::run_cast(std::vector<std::string>(argv + 2, argv + argc), std::cin, std::cout,
                                          std::cerr);
    } catch (const std::exception& e) {
      std::cerr << std::string("nurture cast: ") + e.what() + "\n";
      return 2;
    }
  }
  CLI::App app{"nurture: train small GPTs under different optimization choices and measure what they do"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::map<CLI::App*, nurture::cli::Action> actions;
  auto add = [&](const char* name, const char* desc, auto fn) {
    CLI::App* sub = app.add_subcommand(name, desc);
    actions[sub] = fn(*sub);
  };
  add("train", "Train a GPT from a YAML config", nurture::cli::add_train);
  add("sample", "Generate text from a checkpoint", nurture::cli::add_sample);
  add("eval", "Zero-shot evaluation of a checkpoint on a task suite", nurture::cli::add_eval);
  add("ptq", "Post-training quantization of a checkpoint: evaluate each recipe against the baseline",
      nurture::cli::add_ptq);
  add("analyze", "Weight and activation statistics of a checkpoint (the paper's section 5)", nurture::cli::add_analyze);
  add("report", "Tables, plots and index.html for a sweep's results", nurture::cli::add_report);
  add("sweep", "Run an experiment grid: train, quantize and analyze every variant", nurture::cli::add_sweep);
  add("import", "Convert a model trained elsewhere to a nurture checkpoint (hf-gpt2)", nurture::cli::add_import);
  app.add_subcommand("cast", "Show how values round to fp32, bf16 and fp16 (nurture cast --help)");
  bool known = argc < 2 || argv[1][0] == '-';
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    known = known || sub->get_name() == argv[1];
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  if (!known) {
    std::cerr << "nurture: error: unknown command '" + std::string(argv[1]) + "'; commands: " + names +
                     " (see nurture --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 would add a second "Run with --help" line: keep the one-line error contract.
    std::string where = "nurture";
    for (CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
    std::cerr << where + ": error: " + e.what() + " (see " + where + " --help)\n";
    return 2;
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      return action();
    } catch (const std::exception& e) {
      // One write per line: under mpirun, stderr is forwarded in pieces and would interleave.
      std::cerr << "nurture " + sub->get_name() + ": error: " + e.what() + "\n";
      return 1;
    }
  }
  return 0;
}
