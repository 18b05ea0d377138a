#include "data/tokenizer.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "data/error.h"
#include "data/token_shard.h"
#include "data/tokenizer_trainer.h"
#include "test_support.h"

namespace nurture::data {
namespace {

using testing::TempDir;

Tokenizer train_and_load(const TempDir& dir, const std::string& text, const TokenizerOptions& o) {
  const auto path = dir / ("t-" + o.model_type + std::to_string(o.vocab_size) + ".model");
  core::write_file_atomic(path, train_tokenizer(text, o));
  return Tokenizer::load(path);
}

std::string training_error(const std::string& text, int vocab) {
  TokenizerOptions o;
  o.vocab_size = vocab;
  return test::error_of<DataError>([&] { train_tokenizer(text, o); });
}

class DataTokenizerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DataTokenizerTest, RoundTripsExactBytesAndCountsThem) {
  TempDir dir;
  const std::string text = testing::shakespeare_prefix();
  TokenizerOptions o;
  o.vocab_size = 512;
  o.model_type = GetParam();
  const Tokenizer tok = train_and_load(dir, text, o);
  EXPECT_EQ(tok.vocab_size(), 512);

  // 259 of the 512 ids are byte and control pieces, so only ~190 pieces are learned merges.
  const auto ids = tok.encode(text);
  EXPECT_LT(ids.size(), text.size() / 1.7) << "a 512-piece model should still compress English";
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.count_bytes(ids), text.size());
  for (int32_t id : ids) ASSERT_NE(id, tok.unk_id());

  // Whitespace, newlines, unseen characters (byte fallback) and a leading space all survive.
  for (const std::string s : {"  two leading spaces", "\n\nblank lines\n\n\n", "tab\there  and  runs   ",
                              "unseen: \xC3\xA9\xE2\x80\x94\xF0\x9F\x98\x80 \xE4\xB8\xAD", " x", ""}) {
    const auto v = tok.encode(s);
    EXPECT_EQ(tok.decode(v), s);
    EXPECT_EQ(tok.count_bytes(v), s.size()) << s;
  }
}

TEST_P(DataTokenizerTest, EncodingIsLineLocalSoChunkingNeverMatters) {
  TempDir dir;
  const std::string text = testing::shakespeare_prefix();
  TokenizerOptions o;
  o.vocab_size = 400;
  o.model_type = GetParam();
  const Tokenizer tok = train_and_load(dir, text, o);
  const auto whole = tok.encode(text);
  EXPECT_EQ(encode_corpus(tok, text), whole);
  const size_t cut = text.find('\n', text.size() / 3) + 1;
  auto parts = tok.encode(std::string_view(text).substr(0, cut));
  tok.encode_append(std::string_view(text).substr(cut), parts);
  EXPECT_EQ(parts, whole);
  EXPECT_EQ(tok.encode("a\nb").at(1), tok.newline_id());
}

TEST_P(DataTokenizerTest, TrainingIsByteDeterministic) {
  const std::string text = testing::shakespeare_prefix(30'000);
  TokenizerOptions o;
  o.vocab_size = 384;
  o.model_type = GetParam();
  EXPECT_EQ(train_tokenizer(text, o), train_tokenizer(text, o));
}

INSTANTIATE_TEST_SUITE_P(DataModelTypes, DataTokenizerTest, ::testing::Values("bpe", "unigram"));

TEST(DataTokenizer, SpecialIdsAndPieces) {
  TempDir dir;
  TokenizerOptions o;
  o.vocab_size = 384;
  const Tokenizer tok = train_and_load(dir, testing::shakespeare_prefix(30'000), o);
  EXPECT_EQ(tok.piece(tok.bos_id()), "<s>");
  EXPECT_EQ(tok.piece(tok.eos_id()), "</s>");
  EXPECT_EQ(tok.piece(tok.newline_id()), "<0x0A>");
  EXPECT_EQ(tok.document_start_id(), tok.newline_id());  // eval's prefix token for nurture's own models
  EXPECT_EQ(tok.token_bytes(tok.bos_id()), 0);
  EXPECT_EQ(tok.token_bytes(tok.newline_id()), 1);
  const auto ids = tok.encode(" the");
  EXPECT_EQ(tok.piece(ids.front()).rfind("\xE2\x96\x81", 0), 0u) << "a leading space becomes the ▁ marker";
  EXPECT_THROW(tok.decode(std::vector<int32_t>{tok.vocab_size()}), std::out_of_range);
  EXPECT_NE(tok.hash(), 0u);
}

TEST(DataTokenizer, VocabTooLargeForCorpusSaysHowLarge) {
  const std::string msg = training_error(testing::shakespeare_prefix(3'000), 5000);
  EXPECT_NE(msg.find("vocab_size 5000 is too large"), std::string::npos) << msg;
  EXPECT_NE(msg.find("set vocab_size <= "), std::string::npos) << msg;
  EXPECT_NE(msg.find("KB"), std::string::npos) << "mentions the corpus size: " << msg;
}

TEST(DataTokenizer, VocabTooSmallForCharacters) {
  const std::string msg = training_error(testing::shakespeare_prefix(3'000), 100);
  EXPECT_NE(msg.find("too small"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vocab_size >= "), std::string::npos) << msg;
}

TEST(DataTokenizer, BadOptionsAndFiles) {
  TokenizerOptions o;
  o.model_type = "wordpiece";
  EXPECT_THROW(train_tokenizer("some text", o), DataError);
  TempDir dir;
  EXPECT_THROW(Tokenizer::load(dir / "missing.model"), DataError);
  testing::write_text(dir / "junk.model", "not a model");
  EXPECT_THROW(Tokenizer::load(dir / "junk.model"), DataError);
}

TEST(DataTokenizer, CacheKeyCoversEverySetting) {
  TokenizerOptions a, b;
  EXPECT_EQ(tokenizer_key(1, a), tokenizer_key(1, b));
  EXPECT_NE(tokenizer_key(1, a), tokenizer_key(2, a));
  b.vocab_size = 8192;
  EXPECT_NE(tokenizer_key(1, a), tokenizer_key(1, b));
  b = a;
  b.model_type = "unigram";
  EXPECT_NE(tokenizer_key(1, a), tokenizer_key(1, b));
  b = a;
  b.character_coverage = 0.9995;
  EXPECT_NE(tokenizer_key(1, a), tokenizer_key(1, b));
}

}  // namespace
}  // namespace nurture::data
