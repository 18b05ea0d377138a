#include "data/prepare.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/error.h"
#include "test_support.h"

namespace nurture::data {
namespace {

using testing::TempDir;

struct Fixture {
  TempDir dir;
  DataConfig config;
  Fixture() {
    testing::write_text(dir / "shakespeare.txt", testing::shakespeare_prefix());
    config.corpus = {(dir / "shakespeare.txt").string()};
    config.cache_dir = (dir / "cache").string();
    config.vocab_size = 400;
    config.seq_len = 64;
  }
};

TEST(DataPrepare, SecondRunHitsTheCacheAndGivesIdenticalTokens) {
  Fixture f;
  std::vector<std::string> messages;
  const PreparedData first = prepare(f.config, [&](const std::string& m) { messages.push_back(m); });
  EXPECT_FALSE(first.tokenizer_cache_hit);
  EXPECT_FALSE(first.tokens_cache_hit);
  EXPECT_FALSE(messages.empty());
  ASSERT_TRUE(std::filesystem::exists(first.tokenizer_path));
  ASSERT_TRUE(std::filesystem::exists(first.tokens_path));
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(first.tokenizer_path).replace_extension(".json")));
  const auto model_mtime = std::filesystem::last_write_time(first.tokenizer_path);
  const auto tokens_mtime = std::filesystem::last_write_time(first.tokens_path);

  const PreparedData second = prepare(f.config);
  EXPECT_TRUE(second.tokenizer_cache_hit);
  EXPECT_TRUE(second.tokens_cache_hit);
  EXPECT_EQ(second.tokenizer_path, first.tokenizer_path);
  EXPECT_EQ(std::filesystem::last_write_time(first.tokenizer_path), model_mtime);
  EXPECT_EQ(std::filesystem::last_write_time(first.tokens_path), tokens_mtime);
  EXPECT_EQ(second.train_tokens, first.train_tokens);
  EXPECT_EQ(second.val_tokens, first.val_tokens);
  EXPECT_EQ(second.stats.tokenizer_hash, first.stats.tokenizer_hash);
}

TEST(DataPrepare, ChangingVocabSizeRetrainsNextToTheOldEntry) {
  Fixture f;
  const PreparedData a = prepare(f.config);
  f.config.vocab_size = 512;
  const PreparedData b = prepare(f.config);
  EXPECT_FALSE(b.tokenizer_cache_hit);
  EXPECT_FALSE(b.tokens_cache_hit);
  EXPECT_NE(a.tokenizer_path, b.tokenizer_path);
  EXPECT_EQ(b.tokenizer.vocab_size(), 512);
  EXPECT_LT(b.stats.tokens, a.stats.tokens) << "a larger vocabulary compresses more";
  f.config.vocab_size = 400;
  EXPECT_TRUE(prepare(f.config).tokenizer_cache_hit) << "the first entry is still there";
}

TEST(DataPrepare, ChangedCorpusRetrains) {
  Fixture f;
  prepare(f.config);
  testing::write_text(f.dir / "shakespeare.txt", testing::shakespeare_prefix(90'000));
  EXPECT_FALSE(prepare(f.config).tokenizer_cache_hit);
}

TEST(DataPrepare, StatsAddUpAndSplitIsTheTail) {
  Fixture f;
  const PreparedData d = prepare(f.config);
  const DataStats& s = d.stats;
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.corpus_bytes, testing::shakespeare_prefix().size());
  EXPECT_EQ(s.train_tokens + s.val_tokens, s.tokens);
  EXPECT_EQ(s.val_tokens, static_cast<uint64_t>(std::llround(0.05 * static_cast<double>(s.tokens))));
  EXPECT_EQ(s.train_bytes + s.val_bytes, s.corpus_bytes) << "tokens account for every byte";
  EXPECT_NEAR(s.bytes_per_token, double(s.corpus_bytes) / double(s.tokens), 1e-12);
  EXPECT_GT(s.bytes_per_token, 1.4);
  // Concatenated splits decode back to the corpus.
  std::vector<int32_t> all = d.train_tokens;
  all.insert(all.end(), d.val_tokens.begin(), d.val_tokens.end());
  EXPECT_EQ(d.tokenizer.decode(all), testing::shakespeare_prefix());
}

TEST(DataPrepare, CorruptCacheFilesAreRebuilt) {
  Fixture f;
  const PreparedData a = prepare(f.config);
  testing::write_text(a.tokens_path, "garbage");
  const PreparedData b = prepare(f.config);
  EXPECT_TRUE(b.tokenizer_cache_hit);
  EXPECT_FALSE(b.tokens_cache_hit);
  EXPECT_EQ(b.train_tokens, a.train_tokens);
}

TEST(DataPrepare, TooSmallCorpusForSeqLen) {
  Fixture f;
  f.config.seq_len = 4096;  // validation holds ~2.5k tokens
  try {
    prepare(f.config);
    FAIL();
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("corpus smaller than one sequence"), std::string::npos) << msg;
    EXPECT_NE(msg.find("< seq_len+1 = 4097"), std::string::npos) << msg;
  }
}

TEST(DataPrepare, VocabTooLargeIsReportedNotCached) {
  Fixture f;
  testing::write_text(f.dir / "shakespeare.txt", testing::shakespeare_prefix(3'000));
  f.config.vocab_size = 5000;
  f.config.seq_len = 0;
  EXPECT_THROW(prepare(f.config), DataError);
  f.config.tokenizer_type = "unigram";
  EXPECT_THROW(prepare(f.config), DataError);
}

}  // namespace
}  // namespace nurture::data
