#include "data/token_shard.h"

#include <bit>
#include <cstring>
#include <exception>

#include "core/atomic_file.h"
#include "data/error.h"
#include "data/file_io.h"

namespace nurture::data {

namespace fs = std::filesystem;

// The header and payload are written as raw host integers; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "token shards assume a little-endian host");

namespace {

constexpr char kMagic[8] = {'N', 'U', 'R', 'T', 'O', 'K', 'S', '\0'};

template <typename T>
void put(std::string& out, size_t offset, T v) {
  std::memcpy(out.data() + offset, &v, sizeof v);
}
template <typename T>
T get(const std::string& in, size_t offset) {
  T v;
  std::memcpy(&v, in.data() + offset, sizeof v);
  return v;
}

[[noreturn]] void bad_shard(const fs::path& path, const std::string& why) {
  throw DataError("token file '" + path.string() + "' " + why + "; delete it and rerun to re-encode the corpus");
}

}  // namespace

ShardDtype shard_dtype_for(int vocab_size) { return vocab_size <= 65536 ? ShardDtype::kUint16 : ShardDtype::kInt32; }

void write_shard(const fs::path& path, const TokenShard& shard, int vocab_size) {
  const ShardDtype dtype = shard_dtype_for(vocab_size);
  const size_t n = shard.tokens.size();
  const size_t width = dtype == ShardDtype::kUint16 ? 2 : 4;
  std::string bytes(kShardHeaderBytes + n * width, '\0');
  std::memcpy(bytes.data(), kMagic, sizeof kMagic);
  put<uint32_t>(bytes, 8, kShardVersion);
  put<uint32_t>(bytes, 12, static_cast<uint32_t>(dtype));
  put<uint64_t>(bytes, 16, n);
  put<uint64_t>(bytes, 24, shard.tokenizer_hash);
  put<uint64_t>(bytes, 32, shard.corpus_hash);
  char* payload = bytes.data() + kShardHeaderBytes;
  if (dtype == ShardDtype::kUint16) {
    for (size_t i = 0; i < n; ++i) {
      const auto v = static_cast<uint16_t>(shard.tokens[i]);
      std::memcpy(payload + 2 * i, &v, 2);
    }
  } else {
    std::memcpy(payload, shard.tokens.data(), n * 4);
  }
  core::write_file_atomic(path, bytes);
}

TokenShard read_shard(const fs::path& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < kShardHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    bad_shard(path, "is not a nurture token file (bad magic)");
  if (get<uint32_t>(bytes, 8) != kShardVersion)
    bad_shard(path, "has format version " + std::to_string(get<uint32_t>(bytes, 8)) + ", expected " +
                        std::to_string(kShardVersion));
  const uint32_t dtype = get<uint32_t>(bytes, 12);
  if (dtype != static_cast<uint32_t>(ShardDtype::kUint16) && dtype != static_cast<uint32_t>(ShardDtype::kInt32))
    bad_shard(path, "has unknown dtype " + std::to_string(dtype));
  const size_t width = dtype == static_cast<uint32_t>(ShardDtype::kUint16) ? 2 : 4;
  const uint64_t n = get<uint64_t>(bytes, 16);
  if (bytes.size() != kShardHeaderBytes + n * width)
    bad_shard(path, "is truncated or padded (" + std::to_string(bytes.size()) + " bytes for " + std::to_string(n) +
                        " tokens)");

  TokenShard shard;
  shard.tokenizer_hash = get<uint64_t>(bytes, 24);
  shard.corpus_hash = get<uint64_t>(bytes, 32);
  shard.tokens.resize(n);
  const char* payload = bytes.data() + kShardHeaderBytes;
  if (width == 2) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, payload + 2 * i, 2);
      shard.tokens[i] = v;
    }
  } else {
    std::memcpy(shard.tokens.data(), payload, n * 4);
  }
  return shard;
}

namespace {

// A '\n' between two printable ASCII characters: SentencePiece encodes lines apart anyway, and
// GPT-2's pre-tokeniser makes that '\n' a pre-token of its own whether or not the text is cut after
// it (a cut inside a longer whitespace run would change how the run splits).
bool safe_cut_after(std::string_view text, size_t nl) {
  const auto printable = [](char c) { return c > ' ' && c < 0x7F; };
  return nl > 0 && nl + 1 < text.size() && printable(text[nl - 1]) && printable(text[nl + 1]);
}

}  // namespace

std::vector<int32_t> encode_corpus(const Tokenizer& tokenizer, std::string_view text) {
  constexpr size_t kChunkBytes = 64 * 1024;
  std::vector<size_t> bounds{0};
  while (bounds.back() < text.size()) {
    size_t end = bounds.back() + kChunkBytes;
    if (end >= text.size()) {
      end = text.size();
    } else {
      size_t nl = text.find('\n', end);
      while (nl != std::string_view::npos && !safe_cut_after(text, nl)) nl = text.find('\n', nl + 1);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    bounds.push_back(end);
  }
  const auto chunks = static_cast<std::ptrdiff_t>(bounds.size() - 1);
  std::vector<std::vector<int32_t>> parts(static_cast<size_t>(chunks));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t i = 0; i < chunks; ++i) {
    // Exceptions must not cross the OpenMP region boundary; rethrown below in chunk order.
    try {
      parts[i] = tokenizer.encode(text.substr(bounds[i], bounds[i + 1] - bounds[i]));
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<int32_t> tokens;
  tokens.reserve(total);
  for (const auto& p : parts) tokens.insert(tokens.end(), p.begin(), p.end());
  return tokens;
}

}  // namespace nurture::data
