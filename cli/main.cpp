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
      std::cerr << "nurture cast: " << e.what() << "\n";
      return 2;
    }
  }
  CLI::App app{"nurture: train small GPTs under different optimization choices, quantize them, and measure the damage"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::map<CLI::App*, nurture::cli::Action> actions;
  auto add = [&](const char* name, const char* desc, auto fn) {
    CLI::App* sub = app.add_subcommand(name, desc);
    actions[sub] = fn(*sub);
  };
  add("train", "Train a GPT from a YAML config", nurture::cli::add_train);
  add("sample", "Generate text from a checkpoint", nurture::cli::add_sample);
  app.add_subcommand("cast", "Show how values round to fp32, bf16 and fp16 (nurture cast --help)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      return action();
    } catch (const std::exception& e) {
      std::cerr << "nurture " << sub->get_name() << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  return 0;
}
