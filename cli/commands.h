// One function per `nurture` subcommand. Each registers its options on the CLI11 app and
// returns the action to run once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace nurture::cli {

using Action = std::function<int()>;

Action add_train(CLI::App& app);
Action add_sample(CLI::App& app);
Action add_eval(CLI::App& app);
Action add_ptq(CLI::App& app);
Action add_report(CLI::App& app);
Action add_analyze(CLI::App& app);
Action add_sweep(CLI::App& app);
Action add_import(CLI::App& app);

}  // namespace nurture::cli
