// What `nurture analyze` writes: analysis.json (schema "nurture-analysis-v1", documented in
// quant/README.md "Analysis") and analysis.md, the same numbers as readable tables.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/analysis.h"

namespace nurture::quant {

struct AnalysisSource {
  std::string checkpoint;
  int64_t step = 0;
};

nlohmann::ordered_json to_json(const Analysis& a, const AnalysisSource& src);
std::string to_markdown(const Analysis& a, const AnalysisSource& src);

// <run dir>/analysis/<checkpoint stem>/ when the checkpoint sits in <run dir>/checkpoints/,
// else <checkpoint>.analysis/ beside it.
std::filesystem::path default_analysis_dir(const std::filesystem::path& checkpoint);

}  // namespace nurture::quant
