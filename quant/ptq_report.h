// Views of a PtqResult: ptq.json (schema "nurture-ptq-v2", quant/README.md "Output"), ptq.md and
// the console table.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/ptq.h"

namespace nurture::quant {

struct PtqMeta {
  std::string checkpoint;
  int64_t step = 0;
  int64_t limit = 0;
};

nlohmann::ordered_json to_json(const PtqResult& r, const PtqMeta& meta);
// One row per task (headline metric), one column per recipe: the score and, after "pre", the
// relative degradation in %; then the mean degradation and the weight bytes.
std::string format_table(const PtqResult& r);
std::string format_markdown(const PtqResult& r, const PtqMeta& meta);

}  // namespace nurture::quant
