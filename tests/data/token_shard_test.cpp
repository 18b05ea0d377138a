#include "data/token_shard.h"

#include <gtest/gtest.h>

#include "data/error.h"
#include "data/file_io.h"
#include "test_support.h"

namespace nurture::data {
namespace {

using testing::TempDir;

TEST(DataTokenShard, RoundTripUint16) {
  TempDir dir;
  const TokenShard in{{0, 1, 2, 65535, 42, 7}, 0x1234, 0x5678};
  write_shard(dir / "a.bin", in, 65536);
  EXPECT_EQ(std::filesystem::file_size(dir / "a.bin"), kShardHeaderBytes + 2 * in.tokens.size());
  const TokenShard out = read_shard(dir / "a.bin");
  EXPECT_EQ(out.tokens, in.tokens);
  EXPECT_EQ(out.tokenizer_hash, 0x1234u);
  EXPECT_EQ(out.corpus_hash, 0x5678u);
}

TEST(DataTokenShard, RoundTripInt32ForLargeVocab) {
  TempDir dir;
  const TokenShard in{{0, 65536, 100000, 3}, 1, 2};
  write_shard(dir / "b.bin", in, 100001);
  EXPECT_EQ(std::filesystem::file_size(dir / "b.bin"), kShardHeaderBytes + 4 * in.tokens.size());
  EXPECT_EQ(read_shard(dir / "b.bin").tokens, in.tokens);
}

TEST(DataTokenShard, HeaderIsLittleEndianAsDocumented) {
  TempDir dir;
  write_shard(dir / "c.bin", TokenShard{{258, 3}, 0, 0}, 300);
  const std::string b = read_file(dir / "c.bin");
  EXPECT_EQ(b.substr(0, 8), std::string("NURTOKS\0", 8));
  EXPECT_EQ(b[8], 1);                               // version
  EXPECT_EQ(b[12], 1);                              // dtype uint16
  EXPECT_EQ(b[16], 2);                              // count
  EXPECT_EQ(static_cast<unsigned char>(b[40]), 2);  // 258 = 0x0102, low byte first
  EXPECT_EQ(static_cast<unsigned char>(b[41]), 1);
}

TEST(DataTokenShard, RejectsForeignAndTruncatedFiles) {
  TempDir dir;
  testing::write_text(dir / "junk.bin", "definitely not a token shard file at all......");
  EXPECT_THROW(read_shard(dir / "junk.bin"), DataError);
  write_shard(dir / "t.bin", TokenShard{{1, 2, 3}, 0, 0}, 10);
  std::filesystem::resize_file(dir / "t.bin", kShardHeaderBytes + 4);
  try {
    read_shard(dir / "t.bin");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nurture::data
