#include "data/gpt2_bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "data/error.h"
#include "data/file_io.h"
#include "data/hash.h"

namespace nurture::data {

namespace {

constexpr std::string_view kPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kEndOfText = "<|endoftext|>";

// Pre-tokens longer than this are not cached (long whitespace or digit runs are rare and would
// crowd the cache); the cache stops growing at kCacheEntries so memory stays bounded (~10 MB).
constexpr size_t kCacheMaxBytes = 64;
constexpr size_t kCacheEntries = 1 << 17;

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Next code point of valid UTF-8 `s` at `i` (nlohmann::json has validated JSON strings), advancing `i`.
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (i + static_cast<size_t>(len) > s.size()) len = 1;
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (b(i + static_cast<size_t>(k)) & 0x3F);
  i += static_cast<size_t>(len);
  return cp;
}

// GPT-2's bytes_to_unicode(): bytes that are printable Latin-1 stand for themselves; the others
// (controls, space, DEL, NBSP, soft hyphen, ...) take U+0100 onwards in byte order, so every token
// is a printable string.
struct ByteMap {
  std::array<std::string, 256> to_char;  // byte -> its character, UTF-8
  std::array<int, 512> to_byte{};        // code point -> byte, -1 if none (all code points are < 0x144)
  ByteMap() {
    to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      append_utf8(to_char[static_cast<size_t>(b)], cp);
      to_byte[cp] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

std::unique_ptr<pcre2_code, CodeFree> compile_pattern() {
  int err = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_code, CodeFree> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern.data()), kPattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr));
  if (!code) throw std::runtime_error("PCRE2 cannot compile GPT-2's pattern: " + pcre2_message(err));
  // JIT is several times faster; without it (a PCRE2 built without JIT) pcre2_match interprets.
  pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
  return code;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class Gpt2Bpe final : public Tokenizer::Impl {
 public:
  struct Merge {
    int rank;
    int32_t result;
  };

  std::vector<std::string> pieces;  // id -> vocab.json spelling
  std::vector<std::string> bytes;   // id -> the bytes it decodes to ("" for <|endoftext|>)
  std::array<int32_t, 256> byte_id{};
  std::unordered_map<uint64_t, Merge> merges;  // (left id, right id) -> rank and merged id
  int32_t end_of_text = -1;
  std::unique_ptr<pcre2_code, CodeFree> pattern = compile_pattern();

  void encode_append(std::string_view text, std::vector<int32_t>& out) const override {
    if (text.empty()) return;
    std::unique_ptr<pcre2_match_data, MatchDataFree> md(pcre2_match_data_create_from_pattern(pattern.get(), nullptr));
    if (!md) throw std::bad_alloc();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
      const int rc = pcre2_match(pattern.get(), subject, text.size(), pos, 0, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) {  // only invalid UTF-8 is left
        encode_pretoken(text.substr(pos), out);
        break;
      }
      if (rc < 0) throw std::runtime_error("GPT-2 pre-tokeniser (PCRE2) failed: " + pcre2_message(rc));
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      if (ov[0] > pos) encode_pretoken(text.substr(pos, ov[0] - pos), out);  // invalid UTF-8 bytes
      encode_pretoken(text.substr(ov[0], ov[1] - ov[0]), out);
      pos = ov[1];
    }
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (int32_t id : ids) text += bytes[static_cast<size_t>(id)];
    return text;
  }

  int vocab_size() const override { return static_cast<int>(pieces.size()); }
  int bos_id() const override { return end_of_text; }
  int eos_id() const override { return end_of_text; }
  // GPT-2 saw <|endoftext|> between documents; lm-evaluation-harness uses it as the prefix token.
  int document_start_id() const override { return end_of_text; }
  int unk_id() const override { return -1; }
  std::string piece(int id) const override { return pieces[static_cast<size_t>(id)]; }

 private:
  // GPT-2's bpe(): take the adjacent pair with the lowest rank, merge all its occurrences left to
  // right (non-overlapping), repeat until no adjacent pair has a rank. Done with a heap of candidate
  // pairs over a linked list of symbols, O(n log n), rather than encoder.py's rescans, O(n^2), which
  // take seconds on a 100 KB pre-token (a long run of letters or digits). Exactly GPT-2's order: all
  // occurrences of one rank are taken from the heap before any merge, processed by position, and
  // the pairs they create are queued only afterwards.
  void bpe(std::string_view pretoken, std::vector<int32_t>& word) const {
    const int n = static_cast<int>(pretoken.size());
    std::vector<int32_t> sym(static_cast<size_t>(n));
    std::vector<int> next(static_cast<size_t>(n)), prev(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      sym[static_cast<size_t>(i)] = byte_id[static_cast<unsigned char>(pretoken[static_cast<size_t>(i)])];
      next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
      prev[static_cast<size_t>(i)] = i - 1;
    }
    struct Candidate {
      int rank, pos;
      int32_t left, right, merged;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<Candidate> heap;
    const auto at = [](auto& v, int i) -> auto& { return v[static_cast<size_t>(i)]; };
    const auto push = [&](int i) {
      if (i < 0 || at(sym, i) < 0 || at(next, i) < 0) return;
      const int32_t l = at(sym, i), r = at(sym, at(next, i));
      const auto it = merges.find(pair_key(l, r));
      if (it == merges.end()) return;
      heap.push_back({it->second.rank, i, l, r, it->second.result});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    std::vector<Candidate> batch;
    std::vector<int> merged_at;
    while (!heap.empty()) {
      const int rank = heap.front().rank;
      batch.clear();
      while (!heap.empty() && heap.front().rank == rank) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        batch.push_back(heap.back());
        heap.pop_back();
      }
      merged_at.clear();
      for (const Candidate& c : batch) {  // by position: left to right
        const int i = c.pos, j = at(next, i);
        // Stale when a symbol changed since the pair was queued (symbols only ever grow, so equal
        // ids mean the pair is still there).
        if (at(sym, i) != c.left || j < 0 || at(sym, j) != c.right) continue;
        at(sym, i) = c.merged;
        at(sym, j) = -1;
        at(next, i) = at(next, j);
        if (at(next, j) >= 0) at(prev, at(next, j)) = i;
        merged_at.push_back(i);
      }
      for (int i : merged_at) {
        push(at(prev, i));
        push(i);
      }
    }
    word.clear();
    for (int i = 0; i >= 0; i = at(next, i)) word.push_back(at(sym, i));
  }

  void encode_pretoken(std::string_view pretoken, std::vector<int32_t>& out) const {
    if (pretoken.size() == 1) {
      out.push_back(byte_id[static_cast<unsigned char>(pretoken[0])]);
      return;
    }
    const bool cacheable = pretoken.size() <= kCacheMaxBytes;
    if (cacheable) {
      std::shared_lock lock(cache_mutex_);
      const auto it = cache_.find(std::string(pretoken));
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> word;
    bpe(pretoken, word);
    out.insert(out.end(), word.begin(), word.end());
    if (cacheable) {
      std::unique_lock lock(cache_mutex_);
      if (cache_.size() < kCacheEntries) cache_.emplace(std::string(pretoken), std::move(word));
    }
  }

  // Pre-token -> ids: a pure function of the pre-token, so caching it changes no result.
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

std::string json_quoted(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

void read_vocab(const std::filesystem::path& path, const std::string& text, Gpt2Bpe& t,
                std::unordered_map<std::string, int32_t>& ids) {
  const std::string where = "GPT-2 vocabulary '" + path.string() + "'";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw DataError(where + " is not valid JSON (" + e.what() + "); use the vocab.json of a Hugging Face GPT-2 model");
  }
  if (!j.is_object() || j.empty())
    throw DataError(where + " must be a JSON object mapping each token to its id, e.g. {\"!\": 0, ...}");
  const size_t n = j.size();
  if (n > static_cast<size_t>(INT32_MAX)) throw DataError(where + " has too many entries");
  t.pieces.assign(n, {});
  t.bytes.assign(n, {});
  std::vector<bool> seen(n, false);
  const ByteMap& bm = byte_map();
  for (const auto& [key, value] : j.items()) {
    if (!value.is_number_integer())
      throw DataError(where + ": entry " + json_quoted(key) + " has id " + value.dump() + ", not an integer");
    const auto id = value.get<int64_t>();
    if (id < 0 || static_cast<size_t>(id) >= n)
      throw DataError(where + ": entry " + json_quoted(key) + " has id " + std::to_string(id) + ", outside 0.." +
                      std::to_string(n - 1) + " (the ids of " + std::to_string(n) + " entries must be exactly 0..n-1)");
    const auto uid = static_cast<size_t>(id);
    if (seen[uid])
      throw DataError(where + ": entry " + json_quoted(key) + " has id " + std::to_string(id) + ", already used by " +
                      json_quoted(t.pieces[uid]) + "; each id must appear once");
    seen[uid] = true;
    t.pieces[uid] = key;
    ids.emplace(key, static_cast<int32_t>(id));
    if (key == kEndOfText) continue;  // a control token: decodes to no bytes
    std::string& b = t.bytes[uid];
    for (size_t i = 0; i < key.size();) {
      const char32_t cp = next_code_point(key, i);
      const int byte = cp < bm.to_byte.size() ? bm.to_byte[cp] : -1;
      if (byte < 0)
        throw DataError(
            where + ": entry " + json_quoted(key) +
            " has a character outside GPT-2's byte-to-unicode alphabet; is this a byte-level BPE vocabulary?");
      b += static_cast<char>(byte);
    }
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = ids.find(bm.to_char[static_cast<size_t>(b)]);
    if (it == ids.end())
      throw DataError(where + " lacks the single-byte token " + json_quoted(bm.to_char[static_cast<size_t>(b)]) +
                      " (byte " + std::to_string(b) + "); a byte-level BPE vocabulary has all 256");
    t.byte_id[static_cast<size_t>(b)] = it->second;
  }
  const auto eot = ids.find(std::string(kEndOfText));
  if (eot == ids.end())
    throw DataError(where +
                    " has no \"<|endoftext|>\" entry, which GPT-2 models use as bos and eos; add it as the last id");
  t.end_of_text = eot->second;
}

void read_merges(const std::filesystem::path& path, const std::string& text, Gpt2Bpe& t,
                 const std::unordered_map<std::string, int32_t>& ids) {
  const std::string where = "GPT-2 merges '" + path.string() + "'";
  int rank = 0;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string::npos ? text.size() : nl;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.starts_with("#version")) continue;
    const std::string at = where + " line " + std::to_string(line_no);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      throw DataError(at + ": expected two tokens separated by one space, got " + json_quoted(line));
    const std::string left(line.substr(0, space)), right(line.substr(space + 1));
    const auto find = [&](const std::string& token, const char* role) {
      const auto it = ids.find(token);
      if (it == ids.end())
        throw DataError(at + ": the " + std::string(role) + " " + json_quoted(token) +
                        " is not in the vocabulary; vocab.json and merges.txt must come from the same model");
      return it->second;
    };
    const int32_t a = find(left, "left token"), b = find(right, "right token"),
                  merged = find(left + right, "merged token");
    if (merged == t.end_of_text)
      throw DataError(at + ": merging to \"<|endoftext|>\" would let text encode to the control token");
    if (!t.merges.emplace(pair_key(a, b), Gpt2Bpe::Merge{rank, merged}).second)
      throw DataError(at + ": the pair " + json_quoted(line) + " is listed twice");
    ++rank;
  }
}

}  // namespace

std::shared_ptr<const Tokenizer::Impl> load_gpt2_bpe(const std::filesystem::path& vocab_json,
                                                     const std::filesystem::path& merges_txt) {
  auto t = std::make_shared<Gpt2Bpe>();
  std::unordered_map<std::string, int32_t> ids;
  const std::string vocab_text = read_file(vocab_json), merges_text = read_file(merges_txt);
  read_vocab(vocab_json, vocab_text, *t, ids);
  read_merges(merges_txt, merges_text, *t, ids);
  t->token_bytes.resize(t->bytes.size());
  for (size_t id = 0; id < t->bytes.size(); ++id) t->token_bytes[id] = static_cast<int>(t->bytes[id].size());
  t->newline_id = t->byte_id['\n'];
  t->hash = Fnv1a64().update(vocab_text).update(merges_text).digest();
  t->path = vocab_json;
  return t;
}

}  // namespace nurture::data
