// The bit-width ladder: held-out degradation against activation bits (weights at 8 bits) and
// against weight bits (weight-only recipes), from nurture-ptq-v2's weight_bits / act_bits
// fields. Recipe names are never parsed: a v1 ptq.json has no ladder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/report_data.h"
#include "report/report_paired.h"
#include "report/report_table.h"

namespace nurture::report {

struct LadderRung {
  int bits = 0;
  std::string recipe;  // the first recipe seen with these bits (w8a4 before w8a4-tensor)
};

struct Ladder {
  std::string name;               // "activation", "weight"
  std::string xlabel;             // "activation bits (weights int8)"
  std::vector<LadderRung> rungs;  // descending bits
};

// The ladders with at least two rungs among the final evaluations (none for v1 files).
std::vector<Ladder> bit_ladders(const RunTree& tree);

// The smallest bit width b of `ladder` such that the point's held-out degradation is below
// `threshold_pct` at b and at every wider rung (a noisy dip below a failing rung does not
// count). Empty when even the widest rung is not under the threshold (or failed).
std::optional<LadderRung> smallest_bits_under(const Point& point, const Ladder& ladder, double threshold_pct = 1.0);

// The ladder's tables for summary.md / index.html (none without ladders).
std::vector<Section> ladder_sections(const RunTree& tree);

}  // namespace nurture::report
