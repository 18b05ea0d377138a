// Options every command that runs the packed evaluation forward shares (eval, ptq), registered in
// one place so their names, defaults and help text cannot drift apart.
#pragma once

#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>

namespace nurture::cli {

struct ScoringOptions {
  int64_t batch_tokens = 4096;
  int threads = 0;
  bool quiet = false;
  std::string log_samples;  // --log-samples PATH: one JSON line per scored item (eval/report.h samples_jsonl)
};

// --log-samples, --batch-tokens, --threads, -q/--quiet (in this order, last in the command's help).
inline void add_scoring_options(CLI::App& app, ScoringOptions& o) {
  app.add_option("--log-samples", o.log_samples,
                 "Write one JSON line per scored item (and recipe) here: per-choice log-likelihoods, correct, "
                 "acc_norm, tokens, bytes");
  app.add_option("--batch-tokens", o.batch_tokens, "Tokens per packed forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "OpenMP threads (0 = all cores)")->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "No progress lines on stderr");
}

// Applies --threads and returns the progress logger: "<command>: message" on stderr unless --quiet.
inline std::function<void(const std::string&)> apply_scoring_options(const ScoringOptions& o, std::string command) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  return [quiet = o.quiet, command = std::move(command)](const std::string& m) {
    if (!quiet) std::cerr << command << ": " << m << "\n";
  };
}

}  // namespace nurture::cli
