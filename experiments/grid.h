// Experiment grids (experiments/README.md): a base config plus the variants to train from it,
// and what to do with each trained model (PTQ recipes, eval suite, intermediate checkpoints,
// analysis). Loading validates every override against the config key table up front, so a
// typo fails in a second with file:line instead of an hour into a sweep.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace nurture::experiments {

// One trained model of the grid. `overrides` are dotted config keys with their values as YAML
// text ("optim.weight_decay" -> "0.01", "optim.grad_clip" -> "null"), applied on top of the
// base config in order.
struct GridVariant {
  std::string name;  // readable and unique; also the run directory's name
  std::vector<std::pair<std::string, std::string>> overrides;
  std::map<std::string, std::string> axis_values;  // every grid axis -> this variant's resolved value
  // Keys the config derived from a key stated relative to the run (config::derived_keys(), e.g.
  // optim.weight_decay from optim.paper_weight_decay), with the value used, when the relative key is set.
  struct Derived {
    std::string relative, relative_value, absolute, value;  // canonical YAML text, as in axis_values
  };
  std::vector<Derived> derived;
  bool control = false;  // the grid's control point (one_at_a_time)
  std::string where;     // "grid.yaml:LINE" that defined it, for errors
  int64_t steps = 0;     // resolved train.steps
};

// What happens after training.
struct GridSettings {
  std::vector<std::string> recipes;  // empty: ptq's default recipe list
  std::string suite = "default";
  std::string baseline = "fp16";
  int64_t limit = 0;  // ptq --limit (0: the suite's limits)
  int64_t every = 0;  // also evaluate the checkpoints every K steps (0: final only)
  bool ptq = true;
  bool analyze = true;
  int analyze_sequences = 16;  // nurture analyze --sequences
};

struct Grid {
  std::string name;               // runs/<name>/; default: the grid file's stem
  std::string file;               // the grid file as given
  std::string base_file;          // the config every variant starts from (written out when inline)
  std::string base_inline_yaml;   // non-empty when `base:` was a map
  std::string out_dir;            // default runs/<name>
  std::vector<std::string> axes;  // every key that differs between variants, in grid order
  std::vector<GridVariant> variants;
  GridSettings settings;
};

// Reads and validates a grid file; throws config::ConfigError "file:line: ..." on any mistake,
// including a variant whose combined config is invalid.
Grid load_grid(const std::string& path);
// Same, from text; relative paths (`base:`) resolve against `dir`.
Grid parse_grid(const std::string& yaml, const std::string& source, const std::string& dir = ".");

// The `key=value` overrides that build a variant's config from grid.base_file, including the
// sweep's own (output.dir, checkpoint cadence) -- what the train stage passes on its command line.
std::vector<std::string> train_overrides(const Grid& grid, const GridVariant& v);
// The variant's run directory: <out_dir>/<name>.
std::string variant_dir(const Grid& grid, const GridVariant& v);
// The optimizer steps whose checkpoints are evaluated: every K steps (when set) and the last.
std::vector<int64_t> evaluated_steps(const Grid& grid, const GridVariant& v);

}  // namespace nurture::experiments
