// The encoded corpus on disk, and encoding it quickly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace nurture::data {

// File layout, all little-endian (readable with numpy:
// np.fromfile(f, dtype=np.uint16 if dtype == 1 else np.int32, offset=40)):
//   offset  0  char[8]  magic "NURTOKS\0"
//   offset  8  uint32   format version (1)
//   offset 12  uint32   dtype: 1 = uint16 (vocab <= 65536), 2 = int32
//   offset 16  uint64   token count
//   offset 24  uint64   tokenizer hash (Tokenizer::hash of the model that produced the tokens)
//   offset 32  uint64   corpus hash (Corpus::hash of the text that was encoded)
//   offset 40  tokens
inline constexpr uint32_t kShardVersion = 1;
inline constexpr size_t kShardHeaderBytes = 40;
enum class ShardDtype : uint32_t { kUint16 = 1, kInt32 = 2 };

struct TokenShard {
  std::vector<int32_t> tokens;
  uint64_t tokenizer_hash = 0;
  uint64_t corpus_hash = 0;
};

// uint16 when every id in [0, vocab_size) fits, halving the file; int32 otherwise.
ShardDtype shard_dtype_for(int vocab_size);

void write_shard(const std::filesystem::path& path, const TokenShard& shard, int vocab_size);
// Throws DataError if the file is not a shard, has another version, or is truncated.
TokenShard read_shard(const std::filesystem::path& path);

// Encodes a whole corpus with OpenMP over ~64 KB chunks that end just after a '\n' between two
// printable ASCII characters. Both tokenizer kinds encode the text on either side of such a '\n'
// independently (SentencePiece works line by line; GPT-2's pattern makes that '\n' a pre-token of
// its own), so the result equals tokenizer.encode(text) exactly, whatever the thread count. Text with
// no such newline is encoded in one piece.
std::vector<int32_t> encode_corpus(const Tokenizer& tokenizer, std::string_view text);

}  // namespace nurture::data
