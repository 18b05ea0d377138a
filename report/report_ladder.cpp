#include "report/report_ladder.h"

#include <algorithm>

#include "report/report_axes.h"

namespace nurture::report {

std::vector<Ladder> bit_ladders(const RunTree& tree) {
  Ladder act{"activation", "activation bits (weights int8)", {}};
  Ladder weight{"weight", "weight bits (weight-only recipes)", {}};
  auto add = [](Ladder& l, int bits, const std::string& recipe) {
    if (std::none_of(l.rungs.begin(), l.rungs.end(), [&](const LadderRung& r) { return r.bits == bits; }))
      l.rungs.push_back({bits, recipe});
  };
  for (const auto& v : tree.variants)
    if (const PtqResult* e = v.final_eval())
      for (const auto& r : e->recipes) {
        if (r.name == "pre" || !r.weight_bits || !r.act_bits) continue;
        if (*r.weight_bits == 8 && *r.act_bits > 0) add(act, *r.act_bits, r.name);
        if (*r.weight_bits > 0 && *r.act_bits == 0) add(weight, *r.weight_bits, r.name);
      }
  std::vector<Ladder> out;
  for (Ladder* l : {&act, &weight}) {
    std::sort(l->rungs.begin(), l->rungs.end(), [](auto& a, auto& b) { return a.bits > b.bits; });
    if (l->rungs.size() >= 2) out.push_back(*l);
  }
  return out;
}

std::optional<LadderRung> smallest_bits_under(const Point& point, const Ladder& ladder, double threshold_pct) {
  std::optional<LadderRung> best;
  for (const LadderRung& r : ladder.rungs) {  // widest first
    const auto m = collect(point.variants, r.recipe, heldout_degradation).mean();
    if (!m || *m >= threshold_pct) break;
    best = r;
  }
  return best;
}

std::vector<Section> ladder_sections(const RunTree& tree) {
  const std::vector<Ladder> ladders = bit_ladders(tree);
  if (ladders.empty()) return {};
  const std::vector<Point> points = grid_points(tree);
  std::vector<Section> out;
  Section head;
  head.title = "Bit-width ladder (held-out bits per byte)";
  head.text =
      "Held-out % degradation at each bit width, from ptq.json's weight_bits / act_bits (plots/fig_bit_ladder). "
      "Seeds of one point are averaged (± 95% CI half width). \"smallest under 1%\": the narrowest width whose "
      "degradation, and that of every wider rung, is below 1%; — when even the widest is not.";
  out.push_back(head);
  Section smallest;
  smallest.level = 3;
  smallest.title = "Smallest bit width under 1% held-out degradation";
  smallest.table.header = {"point"};
  for (const auto& l : ladders) smallest.table.header.push_back(l.name + " bits");
  smallest.table.numeric.assign(smallest.table.header.size(), true);
  smallest.table.numeric[0] = false;
  for (const auto& p : points) {
    std::vector<std::string> row = {p.label};
    for (const auto& l : ladders) {
      const auto r = smallest_bits_under(p, l);
      row.push_back(r ? std::to_string(r->bits) + " (" + r->recipe + ")" : kMissing);
    }
    smallest.table.rows.push_back(row);
  }
  out.push_back(smallest);
  for (const auto& l : ladders) {
    Section s;
    s.level = 3;
    s.title = "Held-out % degradation by " + l.xlabel;
    s.table.header = {"point"};
    for (const auto& r : l.rungs) s.table.header.push_back(std::to_string(r.bits) + " (" + r.recipe + ")");
    s.table.numeric.assign(s.table.header.size(), true);
    s.table.numeric[0] = false;
    for (const auto& p : points) {
      std::vector<std::string> row = {p.label};
      for (const auto& r : l.rungs)
        row.push_back(cell_text(collect(p.variants, r.recipe, heldout_degradation), 3, true));
      s.table.rows.push_back(row);
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace nurture::report
