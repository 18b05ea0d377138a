// Grid file -> validated variants (format: experiments/README.md).
#include "experiments/grid.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "config/yaml_source.h"
#include "eval/suite.h"
#include "experiments/grid_keys.h"
#include "quant/recipes.h"

namespace nurture::experiments {
namespace {

namespace fs = std::filesystem;
using Overrides = std::vector<std::pair<std::string, std::string>>;

const config::MapKeys kTopKeys{
    {"name", "base", "out", "set", "control", "design", "axes", "groups", "variants", "ptq", "analyze", "every"},
    "grid key",
    ""};
const config::MapKeys kGroupKeys{{"set", "axes", "design"}, "group key", ""};
const config::MapKeys kPtqKeys{{"recipes", "suite", "baseline", "limit"}, "ptq key", ""};
const config::MapKeys kAnalyzeKeys{{"sequences"}, "analyze key", ""};

using Reader = config::YamlReader;

// `key: value` pairs of config overrides (dotted keys or aliases), values canonicalised.
Overrides read_overrides(const Reader& r, const YAML::Node& map, const std::string& what) {
  Overrides out;
  if (!map || map.IsNull()) return out;
  r.require_map(map, what, "{optim.weight_decay: 0.01}");
  for (const auto& kv : map) {
    const std::string where = r.at(kv.first);
    const std::string key = resolve_key(r.key(kv.first), where);
    for (const auto& [k, v] : out)
      if (k == key) r.fail(where, "key '" + key + "' is given twice in " + what);
    if (kv.second.IsSequence())
      if (!config::find_key(key) || config::find_key(key)->type.find("list") == std::string::npos)
        r.fail(where, what + " sets one value per key; to vary '" + key + "', list its values under axes:");
    out.emplace_back(key, canonical_value(key, kv.second, where));
  }
  return out;
}

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

enum class Design { one_at_a_time, product };

struct Candidate {
  Overrides o;
  std::string where;
  std::string name;                    // explicit variants only
  std::vector<std::string> name_keys;  // product without a control: named by all of these
};

void put(Overrides& o, const std::string& key, const std::string& value) {
  for (auto& [k, v] : o)
    if (k == key) {
      v = value;
      return;
    }
  o.emplace_back(key, value);
}

std::optional<std::string> lookup(const Overrides& o, const std::string& key) {
  for (const auto& [k, v] : o)
    if (k == key) return v;
  return std::nullopt;
}

Overrides merged(Overrides a, const Overrides& b) {
  for (const auto& [k, v] : b) put(a, k, v);
  return a;
}

// Variant and grid names become directory names and `--only` patterns: keep them to
// characters that need no quoting in a path or a glob.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '=' ||
                    c == ',' || c == '+';
    out += ok ? c : '_';
  }
  return out;
}

std::string name_value(const std::string& canonical) {
  if (canonical == "null") return "none";
  std::string v;
  for (char c : canonical)
    if (c != '"' && c != '[' && c != ']' && c != ' ') v += c == ',' ? '+' : c;
  return safe_name(v);
}

std::vector<Axis> read_axes(const Reader& r, const YAML::Node& node) {
  std::vector<Axis> axes;
  if (!node || node.IsNull()) return axes;
  r.require_map(node, "axes", "{optim.weight_decay: [0.001, 0.01, 0.1]}");
  for (const auto& kv : node) {
    const std::string where = r.at(kv.first);
    Axis a{resolve_key(r.key(kv.first), where), {}};
    for (const auto& other : axes)
      if (other.key == a.key) r.fail(where, "axis '" + a.key + "' is given twice");
    if (!kv.second.IsSequence() || kv.second.size() == 0)
      r.fail(r.at(kv.second), "axis '" + a.key + "' needs a non-empty list of values, e.g. [0.001, 0.01]");
    for (const auto& v : kv.second) {
      const std::string text = canonical_value(a.key, v, r.at(v));
      if (std::find(a.values.begin(), a.values.end(), text) != a.values.end())
        r.fail(r.at(v), "axis '" + a.key + "' lists the value " + text + " twice");
      a.values.push_back(text);
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

Design read_design(const Reader& r, const YAML::Node& node, Design fallback) {
  if (!node) return fallback;
  const std::string d = r.text(node, "design");
  if (d == "product") return Design::product;
  if (d == "one_at_a_time") return Design::one_at_a_time;
  r.fail(r.at(node), "design '" + d + "' is unknown (accepted: product, one_at_a_time)");
}

// A group's variants: one_at_a_time starts at `base` and changes one axis at a time; product
// takes every combination.
void expand(const Overrides& base, const std::vector<Axis>& axes, Design design, const std::string& where,
            std::vector<std::string> name_keys, bool full_names, std::vector<Candidate>& out) {
  if (design == Design::one_at_a_time) {
    out.push_back({base, where, "", {}});
    for (const auto& a : axes)
      for (const auto& v : a.values) out.push_back({merged(base, {{a.key, v}}), where, "", {}});
    return;
  }
  for (const auto& a : axes) name_keys.push_back(a.key);
  if (!full_names) name_keys.clear();
  std::vector<Overrides> combos{base};
  for (const auto& a : axes) {
    std::vector<Overrides> next;
    for (const auto& c : combos)
      for (const auto& v : a.values) next.push_back(merged(c, {{a.key, v}}));
    combos = std::move(next);
  }
  for (auto& c : combos) out.push_back({std::move(c), where, "", name_keys});
}

void add_axis_key(std::vector<std::string>& keys, const std::string& k) {
  if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
}

// "command line: 'k=v': msg" from load_config becomes "override k=v: msg" (the grid has no command line).
std::string without_command_line(std::string msg) {
  const std::string prefix = "command line: '";
  if (msg.rfind(prefix, 0) == 0) {
    const size_t end = msg.find("': ", prefix.size());
    if (end != std::string::npos)
      msg = "override " + msg.substr(prefix.size(), end - prefix.size()) + ": " + msg.substr(end + 3);
  }
  return msg;
}

}  // namespace

Grid parse_grid(const std::string& yaml, const std::string& source, const std::string& dir) {
  const Reader r(source);
  const YAML::Node root = config::load_yaml_string(yaml, source);
  if (!root.IsMap()) r.fail(r.at(root), "a grid file must be a map with base: and axes:, groups: or variants:");
  r.check_keys(root, kTopKeys);

  Grid g;
  g.file = source;
  g.name = root["name"] ? r.text(root["name"], "name") : fs::path(source).stem().string();
  if (g.name.empty() || safe_name(g.name) != g.name)
    r.fail(root["name"] ? r.at(root["name"]) : source,
           "grid name '" + g.name + "' must be non-empty and use only letters, digits and . _ - = , +");
  g.out_dir = root["out"] ? r.text(root["out"], "out") : "runs/" + g.name;

  // The base config: a file relative to the grid, or the config itself inline.
  const YAML::Node base = root["base"];
  if (!base) r.fail(source, "missing 'base:' (the config every variant starts from, e.g. base: ../configs/small.yaml)");
  if (base.IsMap()) {
    g.base_inline_yaml = YAML::Dump(base) + "\n";
    g.base_file = (fs::path(g.out_dir) / "base.yaml").string();
  } else {
    const fs::path p = (fs::path(dir) / r.text(base, "base")).lexically_normal();
    if (!fs::is_regular_file(p))
      r.fail(r.at(base), "base config '" + p.string() + "' not found (the path is relative to the grid file's folder)");
    g.base_file = p.string();
  }
  auto load_variant_config = [&](const std::vector<std::string>& overrides) {
    return g.base_inline_yaml.empty() ? config::load_config(g.base_file, overrides)
                                      : config::parse_config(g.base_inline_yaml, overrides, r.at(base) + ": base");
  };
  try {
    (void)load_variant_config({});
  } catch (const config::ConfigError& e) {
    r.fail(r.at(base), std::string("base config: ") + e.what());
  }

  // After-training settings.
  GridSettings& s = g.settings;
  if (const YAML::Node p = root["ptq"]) {
    if (p.IsScalar()) {
      s.ptq = r.boolean(p, "ptq");
    } else {
      r.require_map(p, "ptq", "{recipes: [w8a8, w4], suite: default, baseline: fp16}");
      r.check_keys(p, kPtqKeys);
      if (const YAML::Node rec = p["recipes"]) {
        if (!rec.IsSequence()) r.fail(r.at(rec), "ptq.recipes must be a list, e.g. [w8a8, w4-g128]");
        for (const auto& x : rec) {
          s.recipes.push_back(r.text(x, "ptq.recipes"));
          if (s.recipes.back() == "all") continue;
          try {
            (void)quant::find_recipe(s.recipes.back());
          } catch (const std::invalid_argument& e) {
            r.fail(r.at(x), std::string("ptq.recipes: ") + e.what());
          }
        }
      }
      if (p["suite"]) {
        s.suite = r.text(p["suite"], "ptq.suite");
        // A suite name or a path relative to the working directory, as nurture ptq reads it.
        try {
          (void)eval::load_suite(s.suite);
        } catch (const std::exception& e) {
          r.fail(r.at(p["suite"]), std::string("ptq.suite: ") + e.what());
        }
      }
      if (p["baseline"]) {
        s.baseline = r.text(p["baseline"], "ptq.baseline");
        if (s.baseline != "fp16" && s.baseline != "bf16" && s.baseline != "fp32")
          r.fail(r.at(p["baseline"]), "ptq.baseline '" + s.baseline + "' is unknown (accepted: fp16, bf16, fp32)");
      }
      if (p["limit"]) s.limit = r.integer(p["limit"], "ptq.limit", 0);
    }
  }
  if (const YAML::Node a = root["analyze"]) {
    if (a.IsScalar()) {
      s.analyze = r.boolean(a, "analyze");
    } else {
      r.require_map(a, "analyze", "{sequences: 16}");
      r.check_keys(a, kAnalyzeKeys);
      if (a["sequences"]) s.analyze_sequences = static_cast<int>(r.integer(a["sequences"], "analyze.sequences", 1));
    }
  }
  if (root["every"]) s.every = r.integer(root["every"], "every", 0);

  // Variants: every group (the top level's axes are the first) starts from set + control.
  const Overrides common = read_overrides(r, root["set"], "set");
  const Overrides control = read_overrides(r, root["control"], "control");
  const Overrides start = merged(common, control);
  std::vector<std::string> varying;
  std::vector<Candidate> cands;
  const Design fallback = control.empty() ? Design::product : Design::one_at_a_time;
  if (root["axes"]) {
    const auto axes = read_axes(r, root["axes"]);
    for (const auto& a : axes) add_axis_key(varying, a.key);
    expand(start, axes, read_design(r, root["design"], fallback), r.at(root["axes"]), {}, control.empty(), cands);
  } else if (root["design"]) {
    r.fail(r.at(root["design"]), "design: applies to axes:, and this grid has none");
  }
  if (const YAML::Node groups = root["groups"]) {
    if (!groups.IsSequence()) r.fail(r.at(groups), "groups must be a list of {set:, axes:, design:} maps");
    for (const auto& grp : groups) {
      r.require_map(grp, "a group", "{set: {optim.grad_clip: null}, axes: {wd: [0.001, 0.01]}}");
      r.check_keys(grp, kGroupKeys);
      const Overrides gs = read_overrides(r, grp["set"], "a group's set");
      const auto axes = read_axes(r, grp["axes"]);
      for (const auto& a : axes) add_axis_key(varying, a.key);
      std::vector<std::string> set_keys;
      for (const auto& [k, v] : gs) add_axis_key(varying, k), set_keys.push_back(k);
      expand(merged(start, gs), axes, read_design(r, grp["design"], Design::product), r.at(grp), set_keys,
             control.empty(), cands);
    }
  }
  if (const YAML::Node vars = root["variants"]) {
    r.require_map(vars, "variants", "{fp16: {precision.dtype: fp16}}");
    for (const auto& kv : vars) {
      const std::string name = r.key(kv.first);
      if (name.empty() || safe_name(name) != name || name == "." || name == "..")
        r.fail(r.at(kv.first), "variant name '" + name + "' must use only letters, digits and . _ - = , +");
      const Overrides o = read_overrides(r, kv.second, "variant '" + name + "'");
      for (const auto& [k, v] : o) add_axis_key(varying, k);
      cands.push_back({merged(start, o), r.at(kv.first), name, {}});
    }
  }
  if (cands.empty()) r.fail(source, "the grid defines no variants: add axes:, groups: or variants:");
  g.axes = varying;

  // Variants are compared and named by their resolved configs, so `wd: 0.1` and `wd: 1.0e-1`,
  // or a value equal to the base config's, are the same point.
  auto resolve = [&](const Overrides& o, const std::string& where, const std::string& name) {
    std::vector<std::string> args;
    for (const auto& [k, val] : o) args.push_back(k + "=" + val);
    try {
      return load_variant_config(args);
    } catch (const config::ConfigError& e) {
      r.fail(where, (name.empty() ? "" : "variant '" + name + "': ") + without_command_line(e.what()));
    }
  };
  auto value_of = [](const config::Config& c, const std::string& k) { return value_text(config::find_key(k)->get(c)); };
  const config::Config reference = resolve(start, root["control"] ? r.at(root["control"]) : source, "control");
  std::set<std::string> names, seen;
  for (auto& c : cands) {
    GridVariant v;
    v.where = c.where;
    v.overrides = c.o;
    std::string derived;
    for (const auto& k : varying) {
      if (c.name.empty() && !c.name_keys.empty() &&
          std::find(c.name_keys.begin(), c.name_keys.end(), k) == c.name_keys.end())
        continue;
      const auto val = lookup(c.o, k);
      if (!val) continue;
      if (c.name_keys.empty() && *val == value_of(reference, k)) continue;
      derived += (derived.empty() ? "" : ",") + short_key(k) + "=" + name_value(*val);
    }
    v.control = !control.empty() && derived.empty();
    v.name = !c.name.empty() ? c.name : derived.empty() ? (control.empty() ? "base" : "control") : derived;
    const config::Config cfg = resolve(c.o, c.where, v.name);
    // The same point reached twice (e.g. the control in two groups) is trained once.
    if (!seen.insert(config::to_yaml(cfg)).second) {
      if (!c.name.empty()) r.fail(c.where, "variant '" + c.name + "' repeats the settings of an earlier variant");
      continue;
    }
    if (!names.insert(v.name).second) r.fail(c.where, "two variants are named '" + v.name + "'; rename one");
    v.steps = cfg.train.steps;
    for (const auto& k : varying) v.axis_values[k] = value_of(cfg, k);
    for (const auto& d : config::derived_keys())
      if (value_of(cfg, d.relative) != "null")
        v.derived.push_back({d.relative, value_of(cfg, d.relative), d.absolute, value_of(cfg, d.absolute)});
    g.variants.push_back(std::move(v));
  }
  return g;
}

Grid load_grid(const std::string& path) {
  const YAML::Node probe = config::load_yaml_file(path);  // file errors with the path
  (void)probe;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_grid(text.str(), path, fs::path(path).parent_path().string());
}

std::string variant_dir(const Grid& grid, const GridVariant& v) { return (fs::path(grid.out_dir) / v.name).string(); }

std::vector<std::string> train_overrides(const Grid& grid, const GridVariant& v) {
  std::vector<std::string> out;
  for (const auto& [k, val] : v.overrides) out.push_back(k + "=" + val);
  if (grid.settings.every > 0) out.push_back("train.checkpoint_every=" + std::to_string(grid.settings.every));
  out.push_back("output.dir=" + value_text(variant_dir(grid, v)));
  return out;
}

std::vector<int64_t> evaluated_steps(const Grid& grid, const GridVariant& v) {
  std::vector<int64_t> steps;
  if (grid.settings.every > 0)
    for (int64_t s = grid.settings.every; s < v.steps; s += grid.settings.every) steps.push_back(s);
  steps.push_back(v.steps);
  return steps;
}

}  // namespace nurture::experiments
