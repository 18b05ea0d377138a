// The "done when": `nurture import hf-gpt2`, then `nurture analyze`, `nurture ptq` with the
// bit-width ladder, `nurture eval` and `nurture sample` on the imported synthetic GPT-2, through
// the built binary; and the one-line errors of the command and of training with the GPT-2 tokenizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.h"
#include "tests/import/hf_fixture.h"

namespace nurture::test {
namespace {

TEST(ImportCli, ImportedSyntheticGpt2RunsAnalyzePtqEvalAndSample) {
  Sandbox box("import");
  // 256 positions: the fixture tokenizer spends about a token per byte, and the generated cloze
  // items (4 sentences of context) must fit a window.
  write_hf_gpt2(box.root() / "gpt2", random_hf_gpt2(2, 32, 4, 256, 5), {.prefix = "transformer."});
  // The held-out text: 5% of the first 200 kB of Tiny Shakespeare, enough for every generated task.
  write_text(box.root() / "corpus.txt", read_text(box.root() / "datasets/tinyshakespeare/input.txt").substr(0, 200000));
  RunResult r = box.run("nurture import hf-gpt2 gpt2 --out imported/model.h5 --corpus corpus.txt --cache-dir cache");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("n_layer 2, d_model 32, n_head 4, seq_len 256, vocab 263, lm_head copied from wte (tied)"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(box.root() / "imported/vocab.json"));

  r = box.run("nurture analyze imported/model.h5 --sequences 2 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto a = nlohmann::json::parse(read_text(box.root() / "imported/model.h5.analysis/analysis.json"));
  EXPECT_FALSE(a.empty());

  r = box.run("nurture ptq imported/model.h5 --recipes w8a8,w8a8-tensor,w4 --limit 2 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto p = nlohmann::json::parse(read_text(box.root() / "imported/model.h5.ptq/ptq.json"));
  ASSERT_EQ(p["recipes"].size(), 4u);
  EXPECT_EQ(p["recipes"][1]["name"], "w8a8");
  EXPECT_EQ(p["recipes"][2]["name"], "w8a8-tensor");
  EXPECT_EQ(p["recipes"][3]["name"], "w4");
  // Every task scored (no FAILED): a degradation for each recipe.
  for (int i = 1; i <= 3; ++i)
    EXPECT_TRUE(p["recipes"][i]["mean_degradation_pct"].is_number()) << p["recipes"][i].dump();

  r = box.run("nurture eval imported/model.h5 --limit 2 --no-json -q");
  EXPECT_EQ(r.status, 0) << r.err;
  r = box.run("nurture sample imported/model.h5 --prompt 'the ' -n 5 --temperature 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("the ", 0), 0u) << r.out;
}

TEST(ImportCli, RealGpt2VocabularyAnd1024Positions) {
  // GPT-2's own vocabulary (50257 tokens, tests/data/gpt2) and context (1024) on a narrow random
  // model: eval, ptq and analyze must not assume nurture's sizes (4096 tokens, 256 positions).
  Sandbox box("import-vocab");
  HfGpt2 m = random_hf_gpt2(1, 16, 2, 1024, 13);
  m.vocab = 50257;
  m.shapes["wte.weight"] = {50257, 16};
  m.tensors["wte.weight"].resize(size_t(50257) * 16, 0.01f);
  write_hf_gpt2(box.root() / "gpt2", m, {.prefix = "", .attn_buffers = false});
  const fs::path data = fs::path(NURTURE_SOURCE_DIR) / "tests/data/gpt2";
  fs::copy_file(data / "encoder.json", box.root() / "gpt2/vocab.json", fs::copy_options::overwrite_existing);
  fs::copy_file(data / "vocab.bpe", box.root() / "gpt2/merges.txt", fs::copy_options::overwrite_existing);
  write_text(box.root() / "corpus.txt", read_text(box.root() / "datasets/tinyshakespeare/input.txt").substr(0, 200000));
  RunResult r = box.run("nurture import hf-gpt2 gpt2 --out m/model.h5 --corpus corpus.txt --cache-dir cache");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("seq_len 1024, vocab 50257"), std::string::npos) << r.out;
  r = box.run("nurture ptq m/model.h5 --recipes w8a8,w4 --limit 2 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto p = nlohmann::json::parse(read_text(box.root() / "m/model.h5.ptq/ptq.json"));
  for (const auto& recipe : p["recipes"]) EXPECT_FALSE(recipe["failed"].get<bool>()) << recipe.dump();
  r = box.run("nurture analyze m/model.h5 --sequences 2 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  r = box.run("nurture sample m/model.h5 --prompt 'Hello, world' -n 3 --temperature 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Hello, world", 0), 0u) << r.out;
}

TEST(ImportCli, SampleDrawsOnlyTokensTheTokenizerHas) {
  // An embedding padded past the tokenizer (300 rows, 263 tokens): the padding rows are never drawn.
  Sandbox box("import-pad");
  HfGpt2 m = random_hf_gpt2(1, 16, 2, 32, 9);
  m.vocab = 300;
  m.shapes["wte.weight"] = {300, 16};
  m.tensors["wte.weight"].resize(300 * 16, 0.5f);  // padding rows: large logits, likely picks
  write_hf_gpt2(box.root() / "gpt2", m);
  write_text(box.root() / "corpus.txt", "the tin hen\n");
  ASSERT_EQ(box.run("nurture import hf-gpt2 gpt2 --out m.h5 --corpus corpus.txt").status, 0);
  const RunResult r = box.run("nurture sample m.h5 --prompt 'the ' -n 40 --temperature 2 --seed 1");
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(ImportCli, ErrorsAreOneLine) {
  Sandbox box("import-bad");
  auto one_line = [](const RunResult& r) {
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  RunResult r = box.run("nurture import hf-gpt2 nowhere --out m.h5");
  one_line(r);
  EXPECT_NE(r.err.find("nurture import: error: nowhere/config.json: no such file"), std::string::npos) << r.err;
  r = box.run("nurture import hf-gpt2 nowhere");
  one_line(r);
  EXPECT_NE(r.err.find("--out is required"), std::string::npos) << r.err;
  r = box.run("nurture import");
  one_line(r);
  // Training cannot use the imported tokenizer.
  r = box.run("nurture train configs/tiny.yaml data.tokenizer=gpt2 output.dir=runs/x");
  one_line(r);
  EXPECT_NE(r.err.find("data.tokenizer: gpt2 is the fixed tokenizer of an imported GPT-2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nurture::test
