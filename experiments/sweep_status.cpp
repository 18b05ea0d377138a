#include "experiments/sweep_status.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/file_io.h"

namespace nurture::experiments {

namespace fs = std::filesystem;

std::string VariantStatus::stage(const std::string& name) const {
  const auto it = stages.find(name);
  return it == stages.end() ? "pending" : it->second;
}

std::string VariantStatus::overall(const std::vector<std::string>& required) const {
  bool all_done = true, running = false;
  for (const auto& r : required) {
    const std::string s = stage(r);
    if (s == "failed") return "failed";
    running = running || s == "running";
    all_done = all_done && s == "done";
  }
  return all_done ? "done" : running ? "running" : "pending";
}

std::vector<std::string> grid_stages(const Grid& grid) {
  std::vector<std::string> s{"train"};
  if (grid.settings.ptq) s.push_back("ptq");
  if (grid.settings.analyze) s.push_back("analyze");
  return s;
}

VariantStatus read_status(const fs::path& dir) {
  VariantStatus s;
  std::ifstream in(dir / "status.json");
  if (!in) return s;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.contains("stages"))
      for (const auto& [k, v] : j["stages"].items()) s.stages[k] = v.get<std::string>();
    if (j.contains("error") && j["error"].is_string()) s.error = j["error"].get<std::string>();
    if (j.contains("seconds"))
      for (const auto& [k, v] : j["seconds"].items()) s.seconds[k] = v.get<double>();
    if (j.contains("cpu_seconds"))
      for (const auto& [k, v] : j["cpu_seconds"].items()) s.cpu_seconds[k] = v.get<double>();
  } catch (const nlohmann::json::exception&) {
    return {};  // a damaged file only costs a re-check of the outputs
  }
  return s;
}

void write_status(const fs::path& dir, const VariantStatus& s) {
  nlohmann::ordered_json j;
  j["stages"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.stages) j["stages"][k] = v;
  j["error"] = s.error;
  j["seconds"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.seconds) j["seconds"][k] = v;
  j["cpu_seconds"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.cpu_seconds) j["cpu_seconds"][k] = v;
  data::ensure_directory(dir);
  core::write_file_atomic(dir / "status.json", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void write_sweep_json(const Grid& grid) {
  const auto required = grid_stages(grid);
  nlohmann::ordered_json j;
  j["format"] = "nurture-sweep-v1";
  j["grid"] = grid.name;
  j["grid_file"] = grid.file;
  j["base"] = grid.base_file;
  j["stages"] = required;
  j["every"] = grid.settings.every;
  j["axes"] = grid.axes;
  j["variants"] = nlohmann::ordered_json::array();
  for (const auto& v : grid.variants) {
    const VariantStatus st = read_status(variant_dir(grid, v));
    nlohmann::ordered_json o;
    o["name"] = v.name;
    o["overrides"] = nlohmann::ordered_json::object();
    for (const auto& [k, val] : v.overrides) o["overrides"][k] = val;
    o["axis_values"] = nlohmann::ordered_json::object();
    for (const auto& k : grid.axes) o["axis_values"][k] = v.axis_values.at(k);
    if (!v.derived.empty()) {
      o["derived"] = nlohmann::ordered_json::object();
      for (const auto& d : v.derived) o["derived"][d.absolute] = {{"value", d.value}, {d.relative, d.relative_value}};
    }
    o["control"] = v.control;
    o["steps"] = v.steps;
    o["status"] = st.overall(required);
    o["error"] = st.error;
    j["variants"].push_back(o);
  }
  data::ensure_directory(grid.out_dir);
  core::write_file_atomic(fs::path(grid.out_dir) / "sweep.json",
                          j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace nurture::experiments
