// Grid files: product / one_at_a_time / group / explicit expansion, derived names, and the
// file:line errors that stop a bad grid before anything trains.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "config/config_error.h"
#include "experiments/grid.h"
#include "experiments/grid_keys.h"
#include "experiments/sweep.h"
#include "tests/support/support.h"

namespace nurture::experiments {
namespace {

namespace fs = std::filesystem;

const std::string kExperiments = std::string(NURTURE_SOURCE_DIR) + "/experiments";

Grid parse(const std::string& yaml) { return parse_grid(yaml, "g.yaml", kExperiments); }

std::vector<std::string> names(const Grid& g) {
  std::vector<std::string> out;
  for (const auto& v : g.variants) out.push_back(v.name);
  return out;
}

// The error message, or "" when the grid loaded.
std::string error_of(const std::string& yaml) {
  return test::error_of<config::ConfigError>([&] { parse(yaml); });
}

TEST(GridTest, ProductTakesEveryCombinationWithReadableNames) {
  const Grid g = parse(
      "base: ../configs/tiny.yaml\n"
      "axes:\n"
      "  optim.weight_decay: [0.001, 1.0e-2]\n"
      "  dtype: [bf16, fp16]\n");
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.out_dir, "runs/g");
  EXPECT_EQ(fs::path(g.base_file), fs::path(NURTURE_SOURCE_DIR) / "configs/tiny.yaml");
  EXPECT_EQ(names(g), (std::vector<std::string>{"wd=0.001,dtype=bf16", "wd=0.001,dtype=fp16", "wd=0.01,dtype=bf16",
                                                "wd=0.01,dtype=fp16"}));
  EXPECT_EQ(g.axes, (std::vector<std::string>{"optim.weight_decay", "precision.dtype"}));
  const GridVariant& v = g.variants[3];
  EXPECT_EQ(v.overrides, (std::vector<std::pair<std::string, std::string>>{{"optim.weight_decay", "0.01"},
                                                                           {"precision.dtype", "fp16"}}));
  EXPECT_EQ(v.axis_values.at("optim.weight_decay"), "0.01");
  EXPECT_FALSE(v.control);
  EXPECT_EQ(v.steps, 50);  // tiny.yaml's train.steps
}

TEST(GridTest, OneAtATimeVariesEachAxisAloneAroundTheControl) {
  const Grid g = parse(
      "base: ../configs/tiny.yaml\n"
      "control: {wd: 0.1, dropout: 0.0}\n"
      "axes:\n"
      "  wd: [0.001, 0.1]\n"
      "  model.dropout: [0.0, 0.1]\n"
      "  pos: [learned, alibi]\n");
  // The control point comes first and is not repeated when an axis passes through it.
  EXPECT_EQ(names(g), (std::vector<std::string>{"control", "wd=0.001", "dropout=0.1", "pos=alibi"}));
  EXPECT_TRUE(g.variants[0].control);
  EXPECT_FALSE(g.variants[1].control);
  // axis_values are the resolved config, also for keys the variant does not override.
  EXPECT_EQ(g.variants[3].axis_values.at("optim.weight_decay"), "0.1");
  EXPECT_EQ(g.variants[3].axis_values.at("model.pos_embedding"), "alibi");
  EXPECT_EQ(g.variants[0].axis_values.at("model.pos_embedding"), "learned");
}

TEST(GridTest, GroupsShareTheControlAndDuplicatesTrainOnce) {
  // The paper's design: some axes are varied with other keys held at non-control values.
  const Grid g = parse(
      "base: ../configs/tiny.yaml\n"
      "control: {wd: 0.1, clip: 1.0, dtype: bf16}\n"
      "groups:\n"
      "  - set: {clip: null}\n"
      "    axes: {wd: [0.001, 0.1]}\n"
      "  - set: {wd: 0.001}\n"
      "    axes: {clip: [null, 1.0]}\n"
      "  - axes: {dtype: [bf16, fp16], wd: [0.1, 0.01]}\n");
  EXPECT_EQ(names(g), (std::vector<std::string>{"wd=0.001,clip=none", "clip=none", "wd=0.001", "control", "wd=0.01",
                                                "dtype=fp16", "wd=0.01,dtype=fp16"}));
  EXPECT_TRUE(g.variants[3].control);
  EXPECT_EQ(g.variants[0].axis_values.at("optim.grad_clip"), "null");
}

TEST(GridTest, ExplicitVariantsKeepTheirNamesAndGetTheCommonSettings) {
  const Grid g = parse(
      "name: mine\n"
      "base: ../configs/tiny.yaml\n"
      "out: /tmp/somewhere\n"
      "set: {train.steps: 8}\n"
      "variants:\n"
      "  baseline: {}\n"
      "  half: {precision.dtype: fp16, precision.loss_scale: 1024}\n"
      "every: 4\n"
      "ptq: {recipes: [w8a8, w4, w8a4-tensor, w3, w6a6-g64], suite: default, baseline: bf16, limit: 10}\n"
      "analyze: {sequences: 4}\n");
  EXPECT_EQ(names(g), (std::vector<std::string>{"baseline", "half"}));
  EXPECT_EQ(g.variants[1].overrides.front(), (std::pair<std::string, std::string>{"train.steps", "8"}));
  EXPECT_EQ(g.variants[1].axis_values.at("precision.loss_scale"), "1024");
  EXPECT_EQ(g.settings.recipes, (std::vector<std::string>{"w8a8", "w4", "w8a4-tensor", "w3", "w6a6-g64"}));
  EXPECT_EQ(g.settings.baseline, "bf16");
  EXPECT_EQ(g.settings.limit, 10);
  EXPECT_EQ(g.settings.analyze_sequences, 4);
  EXPECT_EQ(evaluated_steps(g, g.variants[0]), (std::vector<int64_t>{4, 8}));
  const auto o = train_overrides(g, g.variants[1]);
  EXPECT_EQ(o.back(), "output.dir=/tmp/somewhere/half");
  EXPECT_NE(std::find(o.begin(), o.end(), "train.checkpoint_every=4"), o.end());
}

TEST(GridTest, MistakesPointAtTheLine) {
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\naxes:\n  optim.weight_dekay: [0.1]\n"),
            "g.yaml:3: key 'optim.weight_dekay' is not a config key; did you mean 'optim.weight_decay'? (use dotted "
            "keys such as optim.weight_decay, or an alias: wd, clip, dtype, dropout, pos, ...; see "
            "experiments/README.md)");
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes:\n  dropout: [0.0,\n    1.5]\n").find("g.yaml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxis:\n  wd: [0.1]\n")
                .find("g.yaml:2: unknown grid key 'axis'; did you mean 'axes'?"),
            std::string::npos);
  // A combination only the whole config can reject (n_head must divide d_model).
  const std::string combo = error_of("base: ../configs/tiny.yaml\nvariants:\n  ok: {}\n  odd: {model.n_head: 5}\n");
  EXPECT_EQ(combo.rfind("g.yaml:4: variant 'odd': ", 0), 0u) << combo;
  EXPECT_NE(error_of("base: ../configs/nope.yaml\naxes: {wd: [0.1]}\n").find("g.yaml:1: base config"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: {wd: 0.1}\n").find("g.yaml:2: axis 'optim.weight_decay' needs"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1, 0.10]}\n").find("lists the value 0.1 twice"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\n").find("defines no variants"), std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\nvariants:\n  a/b: {}\n").find("g.yaml:3: variant name"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq: {baseline: fp8}\n").find("g.yaml:3:"),
            std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq:\n  recipes: [w8a8,\n    int3]\n")
                .find("g.yaml:5: ptq.recipes: unknown recipe 'int3'"),
            std::string::npos);
  // Ladder recipes go through the same parser as nurture ptq's --recipes.
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq:\n  recipes: [w8a8,\n    w9]\n")
                .find("g.yaml:5: ptq.recipes: recipe 'w9': weight bits must be 2..8, got 9"),
            std::string::npos);
  EXPECT_NE(
      error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq: {suite: nosuch}\n").find("g.yaml:3: ptq.suite"),
      std::string::npos);
  EXPECT_NE(error_of("base: ../configs/tiny.yaml\naxes: [wd]\n").find("g.yaml:2: axes must be a map"),
            std::string::npos);
}

// Grids are read by config::YamlReader, like suites: the key a typo meant, keys given twice with
// the first line, and keys that are not words.
TEST(GridTest, KeysAreCheckedLikeTheConfigs) {
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq: {recipe: [w8a8]}\n"),
            "g.yaml:3: unknown ptq key 'recipe'; did you mean 'recipes'? (accepted: recipes, suite, baseline, limit)");
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nevery: 2\naxes: {wd: [0.2]}\n"),
            "g.yaml:4: grid key 'axes' is given twice (first at line 2)");
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nanalyze: {sequences: 2, sequences: 3}\n"),
            "g.yaml:3: analyze key 'sequences' is given twice (first at line 3)");
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\nvariants:\n  ? [a]\n  : {}\n"),
            "g.yaml:3: keys must be plain words, found a list");
  EXPECT_EQ(error_of("base: ../configs/tiny.yaml\naxes: {wd: [0.1]}\nptq: {limit: -1}\n"),
            "g.yaml:3: 'ptq.limit' must be ≥ 0, got -1");
}

TEST(GridTest, InlineBaseIsAConfig) {
  const Grid g = parse(
      "base:\n"
      "  model: {d_model: 32, n_layer: 1, n_head: 2, vocab_size: 300, seq_len: 16}\n"
      "  train: {steps: 3}\n"
      "variants: {only: {}}\n");
  EXPECT_FALSE(g.base_inline_yaml.empty());
  EXPECT_EQ(g.base_file, "runs/g/base.yaml");
  EXPECT_EQ(g.variants[0].steps, 3);
  EXPECT_NE(error_of("base:\n  model: {d_modle: 32}\nvariants: {only: {}}\n").find("g.yaml:2: base config"),
            std::string::npos);
}

TEST(GridTest, ShippedGridsLoad) {
  for (const char* f : {"quick.yaml", "paper.yaml", "scaling.yaml", "seeds.yaml"}) {
    SCOPED_TRACE(f);
    const Grid g = load_grid(kExperiments + "/" + f);
    EXPECT_GE(g.variants.size(), 3u);
  }
  const Grid paper = load_grid(kExperiments + "/paper.yaml");
  std::vector<std::string> n = names(paper);
  // The paper's 13 points, each with seeds 1-3 paired across points; the control's replicates
  // are named by their seed alone.
  EXPECT_EQ(n.size(), 39u);
  for (const char* seed : {"seed=1", "seed=2", "seed=3"})
    for (const char* point : {"", ",paper_wd=0.001,clip=none", ",paper_wd=0.01,clip=none", ",clip=none",
                              ",paper_wd=0.001", ",dropout=0.1", ",dropout=0.4", ",dropout=0.8", ",dtype=fp16",
                              ",paper_wd=0.01", ",paper_wd=0.01,dtype=fp16", ",pos=sinusoidal", ",pos=alibi"}) {
      const std::string want = std::string(seed) + point;
      EXPECT_NE(std::find(n.begin(), n.end(), want), n.end()) << want;
    }
  // seeds.yaml: two more seeds of the control, no clipping and fp16; the shared control points
  // of its two groups are one model each.
  EXPECT_EQ(names(load_grid(kExperiments + "/seeds.yaml")),
            (std::vector<std::string>{"seed=1", "seed=1,clip=none", "seed=2", "seed=2,clip=none", "seed=1,dtype=fp16",
                                      "seed=2,dtype=fp16"}));
}

TEST(GridTest, KeyAliases) {
  EXPECT_EQ(short_key("optim.weight_decay"), "wd");
  EXPECT_EQ(short_key("optim.beta2"), "optim.beta2");
  EXPECT_EQ(resolve_key("clip", "x"), "optim.grad_clip");
  EXPECT_EQ(resolve_key("model.bias", "x"), "model.bias");
  EXPECT_THROW(resolve_key("wdd", "x"), config::ConfigError);
  EXPECT_EQ(resolve_key("paper_wd", "x"), "optim.paper_weight_decay");
  EXPECT_EQ(resolve_key("schedule", "x"), "optim.schedule");
  EXPECT_EQ(resolve_key("growth_frac", "x"), "precision.growth_interval_fraction");
}

// tiny.yaml: lr 1e-3, 50 steps, so λ = λ_paper · (1.2e-4 · 75000) / (1e-3 · 50) = 180 · λ_paper.
// The variant keeps the paper's λ in its name and axis value; the λ it trains with is `derived`,
// and the dry-run plan shows both.
TEST(GridTest, PaperWeightDecayShowsBothLambdas) {
  const Grid g = parse(
      "base: ../configs/tiny.yaml\n"
      "control: {paper_wd: 0.01, schedule: wsd}\n"
      "axes:\n"
      "  paper_wd: [0.001, 0.1]\n"
      "  schedule: [cosine]\n");
  EXPECT_EQ(names(g), (std::vector<std::string>{"control", "paper_wd=0.001", "paper_wd=0.1", "schedule=cosine"}));
  ASSERT_EQ(g.variants[1].derived.size(), 1u);
  const auto& d = g.variants[1].derived[0];
  EXPECT_EQ(d.relative, "optim.paper_weight_decay");
  EXPECT_EQ(d.relative_value, "0.001");
  EXPECT_EQ(d.absolute, "optim.weight_decay");
  EXPECT_EQ(d.value, "0.18");
  EXPECT_EQ(g.variants[1].axis_values.at("optim.paper_weight_decay"), "0.001");
  EXPECT_EQ(g.variants[2].derived[0].value, "18");
  EXPECT_EQ(g.variants[3].derived[0].value, "1.8");  // the schedule does not change λ (peak lr · T)
  std::ostringstream plan;
  SweepOptions opt;
  opt.only = "paper_wd=0.1";
  opt.threads_per_job = 1;
  print_plan(g, opt, plan);
  EXPECT_NE(plan.str().find("optim.paper_weight_decay=0.1 "), std::string::npos) << plan.str();
  EXPECT_NE(plan.str().find("  derived  optim.weight_decay=18 (from optim.paper_weight_decay=0.1)\n"),
            std::string::npos)
      << plan.str();
  // A grid that states weight_decay after paper_wd trains with the plain λ and derives nothing.
  const Grid plain = parse("base: ../configs/tiny.yaml\ncontrol: {paper_wd: 0.01}\naxes: {wd: [0.05]}\n");
  EXPECT_EQ(plain.variants[1].name, "wd=0.05");
  EXPECT_TRUE(plain.variants[1].derived.empty());
}

}  // namespace
}  // namespace nurture::experiments
