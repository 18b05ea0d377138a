#include "eval/generate_tasks.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/atomic_file.h"
#include "core/rng.h"
#include "data/file_io.h"
#include "data/hash.h"

namespace nurture::eval {

namespace fs = std::filesystem;

namespace {

constexpr const char* kVersion = "nurture-eval-generated-v4";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

struct Span {
  size_t begin, end;
};

// Whitespace-separated words, starting after the first newline (the held-out split starts at an
// arbitrary token, usually mid-line).
std::vector<Span> words_of(std::string_view t, size_t from) {
  std::vector<Span> w;
  size_t i = from;
  while (i < t.size()) {
    while (i < t.size() && is_space(t[i])) ++i;
    const size_t b = i;
    while (i < t.size() && !is_space(t[i])) ++i;
    if (i > b) w.push_back({b, i});
  }
  return w;
}

size_t first_line_start(std::string_view t) {
  const size_t nl = t.find('\n');
  return nl == std::string_view::npos ? t.size() : nl + 1;
}

// The word without surrounding punctuation: "(Romeo," → "Romeo".
std::string_view core_of(std::string_view w) {
  const std::string_view lead = "\"'([`", trail = ".,;:!?\"')]`-";
  size_t b = 0, e = w.size();
  while (b < e && lead.find(w[b]) != std::string_view::npos) ++b;
  while (e > b && trail.find(w[e - 1]) != std::string_view::npos) --e;
  return w.substr(b, e - b);
}

const std::set<std::string, std::less<>>& stop_words() {
  static const std::set<std::string, std::less<>> s = {
      "the",   "and",   "that",   "with",  "for",     "was",   "his",    "her",   "him",   "she",   "you",   "your",
      "are",   "not",   "but",    "had",   "have",    "all",   "this",   "they",  "them",  "their", "what",  "from",
      "one",   "which", "when",   "were",  "there",   "will",  "would",  "shall", "thou",  "thee",  "thy",   "upon",
      "more",  "said",  "then",   "than",  "into",    "its",   "our",    "out",   "who",   "whom",  "been",  "has",
      "can",   "may",   "some",   "very",  "now",     "well",  "how",    "too",   "any",   "did",   "these", "those",
      "where", "why",   "here",   "could", "should",  "being", "such",   "only",  "own",   "also",  "just",  "like",
      "about", "after", "before", "over",  "again",   "most",  "much",   "must",  "nor",   "off",   "once",  "other",
      "same",  "each",  "few",    "both",  "because", "while", "until",  "does",  "doing", "yet",   "let",   "see",
      "yes",   "nay",   "thus",   "hath",  "doth",    "art",   "didn't", "don't", "it's",  "i'm",   "let's", "that's"};
  return s;
}

// Seeded choice of `k` of `n` indices, returned sorted (partial Fisher-Yates).
std::vector<size_t> choose(size_t n, size_t k, core::SeqRng& rng) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  if (k >= n) return idx;
  for (size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct Sentence {
  size_t begin, end;  // raw span in the text
  int words;
  bool terminal;  // ends with . ! or ? (plus closing quotes/brackets)
};

// Sentences: a span ends after [.!?] (and any closing quotes/brackets) followed by whitespace, or
// at a blank line (a paragraph break).
std::vector<Sentence> sentences_of(std::string_view t, size_t from) {
  std::vector<Sentence> out;
  size_t i = from;
  const std::string_view closers = "\"')]";
  while (i < t.size()) {
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size()) break;
    const size_t b = i;
    size_t e = t.size();
    bool terminal = false;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '\n') {  // blank line ahead?
        size_t j = i + 1;
        while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) ++j;
        if (j < t.size() && t[j] == '\n') {
          e = i;
          break;
        }
      }
      if (c == '.' || c == '!' || c == '?') {
        size_t j = i + 1;
        while (j < t.size() && closers.find(t[j]) != std::string_view::npos) ++j;
        if (j >= t.size() || is_space(t[j])) {
          e = j;
          terminal = true;
          i = j;
          break;
        }
      }
      ++i;
    }
    if (e == t.size()) i = t.size();
    int words = 0;
    bool in = false;
    for (size_t k = b; k < e; ++k) {
      if (is_space(t[k]))
        in = false;
      else if (!in)
        in = true, ++words;
    }
    if (e > b) out.push_back({b, e, words, terminal});
  }
  return out;
}

}  // namespace

std::string generate_last_word_jsonl(std::string_view text, const GeneratorSpec& g) {
  const std::vector<Span> w = words_of(text, first_line_start(text));
  const size_t W = static_cast<size_t>(g.words);
  std::vector<Span> passages;  // [first word begin, target core end)
  size_t i = W - 1;
  while (i < w.size()) {
    const std::string_view word = text.substr(w[i].begin, w[i].end - w[i].begin);
    const std::string_view core = core_of(word);
    bool ok = w[i].begin > 0 && text[w[i].begin - 1] == ' ' && !core.empty() && core.data() == word.data() &&
              core.size() >= static_cast<size_t>(g.min_target_chars) && std::all_of(core.begin(), core.end(), is_alpha);
    if (ok) {
      std::string lower(core);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ok = stop_words().find(lower) == stop_words().end();
    }
    if (ok) {
      ok = false;
      for (size_t j = i + 1 - W; j < i && !ok; ++j)
        ok = core_of(text.substr(w[j].begin, w[j].end - w[j].begin)) == core;
    }
    if (ok) {
      // The passage starts at the beginning of its first word's line; the next one starts on a
      // line after this target, so passages never overlap.
      size_t start = w[i + 1 - W].begin;
      while (start > 0 && text[start - 1] != '\n') --start;
      passages.push_back({start, w[i].begin + core.size()});
      const size_t line_end = text.find('\n', w[i].end);
      size_t j = i + 1;
      while (j < w.size() && w[j].begin < line_end) ++j;
      i = j + W - 1;
    } else {
      ++i;
    }
  }
  core::SeqRng rng(core::mix_key(g.seed, 0x1A57));
  std::string out;
  for (size_t k : choose(passages.size(), static_cast<size_t>(g.items), rng)) {
    nlohmann::json j;
    j["text"] = std::string(text.substr(passages[k].begin, passages[k].end - passages[k].begin));
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

std::string generate_cloze_jsonl(std::string_view text, const GeneratorSpec& g) {
  const std::vector<Sentence> s = sentences_of(text, first_line_start(text));
  const size_t K = static_cast<size_t>(g.context_sentences);
  // The whitespace before sentence k ("\n", "\n\n", ...). Endings start a line, so their own line
  // breaks sit where they did in the text whatever they follow: no line-length clue tells the true
  // ending from a distractor. Distractors also follow the same separator (after a blank line a
  // play's speech starts with the speaker's name, a book's paragraph with its first sentence).
  auto sep = [&](size_t k) {
    size_t b = s[k].begin;
    while (b > 0 && is_space(text[b - 1])) --b;
    return std::string(text.substr(b, s[k].begin - b));
  };
  auto good_ending = [&](size_t k) {
    return k > 0 && s[k].terminal && s[k].words >= 4 && s[k].words <= 30 && text[s[k].begin - 1] == '\n';
  };
  // Items: sentences [a, a+K) as context (8..150 words, ending a sentence), a+K as the ending.
  std::vector<size_t> starts;
  for (size_t a = 0; a + K < s.size();) {
    int ctx_words = 0;
    for (size_t k = a; k < a + K; ++k) ctx_words += s[k].words;
    if (good_ending(a + K) && s[a + K - 1].terminal && ctx_words >= 8 && ctx_words <= 150) {
      starts.push_back(a);
      a += K + 1;
    } else {
      ++a;
    }
  }
  std::unordered_map<std::string, std::vector<size_t>> pool;  // candidate distractors by separator
  for (size_t k = 0; k < s.size(); ++k)
    if (good_ending(k)) pool[sep(k)].push_back(k);

  core::SeqRng rng(core::mix_key(g.seed, 0xC102E));
  std::string out;
  for (size_t item : choose(starts.size(), static_cast<size_t>(g.items), rng)) {
    const size_t a = starts[item], e = a + K;
    const std::string separator = sep(e);
    const std::vector<size_t>& cands = pool[separator];
    auto raw = [&](size_t k) { return std::string(text.substr(s[k].begin, s[k].end - s[k].begin)); };
    const std::string truth = raw(e);
    std::vector<std::string> choices{truth};
    std::set<std::string> seen{collapse_spaces(truth)};
    // Distractors come from other scenes: at least an eighth of the held-out text away.
    const size_t margin = std::max<size_t>(2 * (K + 1), s.size() / 8);
    const int n = s[e].words;
    for (int tries = 0; static_cast<int>(choices.size()) < g.choices && tries < 400 && !cands.empty(); ++tries) {
      const size_t k = cands[rng.below(cands.size())];
      if (k + margin >= a && k <= e + margin) continue;  // not from this passage's neighbourhood
      // Length-matched: within a quarter of the true ending's words first, then within 2×, then
      // any, so that summed log-likelihood does not favour whichever choice is shortest.
      const int diff = std::abs(s[k].words - n);
      if (tries < 200 && diff > std::max(2, n / 4)) continue;
      if (tries < 300 && !(s[k].words * 2 >= n && s[k].words <= 2 * n)) continue;
      if (seen.insert(collapse_spaces(raw(k))).second) choices.push_back(raw(k));
    }
    if (static_cast<int>(choices.size()) < g.choices) continue;  // text too small for distractors
    // Shuffle the choices; the label follows the true ending.
    std::vector<size_t> order(choices.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    for (size_t k = order.size() - 1; k > 0; --k) std::swap(order[k], order[rng.below(k + 1)]);
    nlohmann::json j;
    // The context keeps its trailing separator; the task reads it with target_delimiter "" and
    // lm-eval's encoding moves that whitespace to the front of every choice.
    j["context"] = std::string(text.substr(s[a].begin, s[e].begin - s[a].begin));
    j["choices"] = nlohmann::json::array();
    for (size_t k = 0; k < order.size(); ++k) {
      j["choices"].push_back(choices[order[k]]);
      if (order[k] == 0) j["label"] = k;
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

std::string generate_completion_jsonl(std::string_view text, const GeneratorSpec& g) {
  const std::vector<Sentence> s = sentences_of(text, first_line_start(text));
  const size_t K = static_cast<size_t>(g.context_sentences);
  auto good = [&](size_t k) { return s[k].terminal && s[k].words >= 8 && s[k].words <= 40; };
  // A sentence cut after its first max(3, words/2) words: [begin, prefix end) and [rest begin, end).
  struct Cut {
    size_t prefix_end, rest_begin;
    int rest_words;
  };
  auto cut = [&](size_t k) {
    const std::vector<Span> w = words_of(text.substr(0, s[k].end), s[k].begin);
    const size_t c = std::max<size_t>(3, w.size() / 2);
    return Cut{w[c - 1].end, w[c].begin, static_cast<int>(w.size() - c)};
  };
  std::vector<size_t> targets;  // sentence index of each item's cut sentence
  for (size_t e = K; e < s.size();) {
    int ctx_words = 0;
    for (size_t k = e - K; k < e; ++k) ctx_words += s[k].words;
    if (good(e) && ctx_words <= 150) {
      targets.push_back(e);
      e += K + 1;
    } else {
      ++e;
    }
  }
  std::vector<size_t> pool;
  for (size_t k = 0; k < s.size(); ++k)
    if (good(k)) pool.push_back(k);

  core::SeqRng rng(core::mix_key(g.seed, 0xC0E7));
  std::string out;
  for (size_t item : choose(targets.size(), static_cast<size_t>(g.items), rng)) {
    const size_t e = targets[item], a = e - K;
    const Cut ce = cut(e);
    auto rest = [&](size_t k, const Cut& c) {
      return collapse_spaces(text.substr(c.rest_begin, s[k].end - c.rest_begin));
    };
    std::vector<std::string> choices{rest(e, ce)};
    std::set<std::string> seen{choices[0]};
    const size_t margin = std::max<size_t>(2 * (K + 1), s.size() / 8);
    const int n = ce.rest_words;
    for (int tries = 0; static_cast<int>(choices.size()) < g.choices && tries < 400 && !pool.empty(); ++tries) {
      const size_t k = pool[rng.below(pool.size())];
      if (k + margin >= a && k <= e + margin) continue;
      const Cut ck = cut(k);
      const int diff = std::abs(ck.rest_words - n);
      if (tries < 200 && diff > std::max(1, n / 4)) continue;
      if (tries < 300 && !(ck.rest_words * 2 >= n && ck.rest_words <= 2 * n)) continue;
      std::string c = rest(k, ck);
      if (seen.insert(c).second) choices.push_back(std::move(c));
    }
    if (static_cast<int>(choices.size()) < g.choices) continue;
    std::vector<size_t> order(choices.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    for (size_t k = order.size() - 1; k > 0; --k) std::swap(order[k], order[rng.below(k + 1)]);
    nlohmann::json j;
    j["context"] = std::string(text.substr(s[a].begin, ce.prefix_end - s[a].begin));
    j["choices"] = nlohmann::json::array();
    for (size_t k = 0; k < order.size(); ++k) {
      j["choices"].push_back(choices[order[k]]);
      if (order[k] == 0) j["label"] = k;
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

fs::path generated_task_file(TaskKind kind, const GeneratorSpec& g, std::string_view heldout_text,
                             const fs::path& cache_dir, bool* created) {
  const bool completion = kind == TaskKind::multiple_choice && g.style == "completion";
  const std::string prefix = kind == TaskKind::last_word ? "lastword" : completion ? "completion" : "cloze";
  data::Fnv1a64 h;
  h.update(kVersion).update(prefix).update_u64(g.seed).update_u64(static_cast<uint64_t>(g.items));
  if (kind == TaskKind::last_word)
    h.update_u64(static_cast<uint64_t>(g.words)).update_u64(static_cast<uint64_t>(g.min_target_chars));
  else
    h.update_u64(static_cast<uint64_t>(g.context_sentences)).update_u64(static_cast<uint64_t>(g.choices));
  h.update_u64(data::fnv1a64(heldout_text));
  const fs::path dir = cache_dir / "tasks";
  const fs::path path = dir / (prefix + "-" + data::to_hex(h.digest()) + ".jsonl");
  if (created) *created = false;
  if (fs::exists(path)) return path;
  data::ensure_directory(dir);
  const std::string body = kind == TaskKind::last_word ? generate_last_word_jsonl(heldout_text, g)
                           : completion                ? generate_completion_jsonl(heldout_text, g)
                                                       : generate_cloze_jsonl(heldout_text, g);
  core::write_file_atomic(path, body);
  if (created) *created = true;
  return path;
}

}  // namespace nurture::eval
