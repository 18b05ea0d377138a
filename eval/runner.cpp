#include "eval/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "eval/error.h"
#include "eval/generate_tasks.h"
#include "eval/task_files.h"

namespace nurture::eval {

namespace {

constexpr size_t kMaxWarnings = 10;

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double utf8_chars(const std::string& s) {
  double n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void skip(PreparedTask& t, const std::string& why) {
  ++t.skipped;
  if (t.warnings.size() < kMaxWarnings) t.warnings.push_back(why);
}

// [offset, offset + limit) of n items.
std::pair<size_t, size_t> window_of(size_t n, const TaskSpec& spec, int64_t cli_limit) {
  const size_t b = std::min(n, static_cast<size_t>(spec.offset));
  int64_t limit = spec.limit;
  if (cli_limit > 0) limit = limit > 0 ? std::min(limit, cli_limit) : cli_limit;
  const size_t e = limit > 0 ? std::min(n, b + static_cast<size_t>(limit)) : n;
  return {b, e};
}

void prepare_likelihood(PreparedTask& t, const LoadedTask& loaded, const HeldOut* heldout, const data::Tokenizer& tok,
                        int seq_len, int64_t cli_limit) {
  std::vector<Request> windows;
  const int32_t prefix = prefix_token(tok);
  int64_t budget = t.spec.max_tokens > 0 ? t.spec.max_tokens : INT64_MAX;
  auto add_document = [&](std::vector<int32_t> toks) {
    if (budget <= 0) return;
    if (static_cast<int64_t>(toks.size()) > budget) toks.resize(static_cast<size_t>(budget));
    budget -= static_cast<int64_t>(toks.size());
    for (Request& r : rolling_windows(toks, prefix, seq_len)) windows.push_back(std::move(r));
  };
  if (t.spec.source == TaskSource::heldout) {
    add_document(heldout->tokens);
  } else {
    for (const TextDocument& d : loaded.documents) {
      if (d.text.find_first_not_of(" \t\r\n") == std::string::npos) {
        skip(t, d.where + ": empty document");
        continue;
      }
      add_document(tok.encode(d.text));
    }
  }
  const auto [b, e] = window_of(windows.size(), t.spec, cli_limit);
  for (size_t i = b; i < e; ++i) {
    PreparedItem it;
    it.target_bytes = tok.count_bytes(windows[i].continuation);
    it.requests.push_back(std::move(windows[i]));
    t.items.push_back(std::move(it));
  }
}

void prepare_items(PreparedTask& t, const LoadedTask& loaded, const data::Tokenizer& tok, int seq_len,
                   int64_t cli_limit) {
  const auto [b, e] = window_of(loaded.items.size(), t.spec, cli_limit);
  bool shared = t.spec.kind == TaskKind::multiple_choice;
  for (size_t i = b; i < e; ++i) {
    const TextItem& x = loaded.items[i];
    if (!x.skip.empty()) {
      skip(t, x.skip);
      continue;
    }
    PreparedItem it;
    it.label = x.label;
    std::string why;
    for (size_t k = 0; k < x.requests.size(); ++k) {
      Request r = encode_pair(tok, x.requests[k].first, x.requests[k].second);
      if (r.continuation.empty())
        why = x.where + ": choice " + std::to_string(k) + " encodes to no tokens";
      else if (static_cast<int64_t>(r.continuation.size()) > seq_len)
        why = x.where + ": continuation of " + std::to_string(r.continuation.size()) +
              " tokens is longer than the model's seq_len " + std::to_string(seq_len);
      if (!why.empty()) break;
      it.requests.push_back(std::move(r));
      if (t.spec.mutual_info) {
        it.unconditional.push_back(encode_pair(tok, "", x.choices[k]));
        if (static_cast<int64_t>(it.unconditional.back().continuation.size()) > seq_len) {
          why = x.where + ": choice " + std::to_string(k) + " is longer than the model's seq_len " +
                std::to_string(seq_len) + " on its own (mutual_info)";
          break;
        }
      }
    }
    if (!why.empty()) {
      skip(t, why);
      continue;
    }
    for (const std::string& c : x.choices) {
      it.chars.push_back(utf8_chars(c));
      it.bytes.push_back(static_cast<double>(c.size()));
    }
    for (const Request& r : it.requests) shared = shared && r.context == it.requests[0].context;
    t.items.push_back(std::move(it));
  }
  t.shared_context = shared;
}

Metric make(const std::string& name, double v, double se, const char* method, bool higher = true) {
  return Metric{name, v, se, method, higher};
}

}  // namespace

const Metric* TaskResult::metric(const std::string& n) const {
  for (const Metric& m : metrics)
    if (m.name == n) return &m;
  return nullptr;
}

const TaskResult* SuiteResult::task(const std::string& n) const {
  for (const TaskResult& t : tasks)
    if (t.name == n) return &t;
  return nullptr;
}

PreparedSuite prepare_suite(const Suite& suite, const data::Tokenizer& tok, int seq_len, const EvalOptions& opt) {
  PreparedSuite out;
  out.name = suite.name;
  out.path = suite.path.string();
  out.seq_len = seq_len;
  std::string heldout_text;  // decoded once, for the generators
  for (const TaskSpec& spec : suite.tasks) {
    PreparedTask t;
    t.spec = spec;
    LoadedTask loaded;
    if (spec.source != TaskSource::file && !opt.heldout)
      throw EvalError(spec.where + ": task '" + spec.name +
                      "' reads the checkpoint's held-out split, which was not loaded");
    try {
      if (spec.source == TaskSource::file) {
        t.source = spec.file.string();
        loaded = load_task_file(spec);
      } else if (spec.source == TaskSource::heldout) {
        t.source = opt.heldout->description;
      } else {
        if (heldout_text.empty()) heldout_text = tok.decode(opt.heldout->tokens);
        bool created = false;
        TaskSpec file_spec = spec;
        file_spec.file = generated_task_file(spec.kind, spec.generator, heldout_text, opt.heldout->cache_dir, &created);
        t.source = file_spec.file.string();
        if (opt.log) opt.log(std::string(created ? "generated " : "cached ") + spec.name + " task file " + t.source);
        loaded = load_task_file(file_spec);
      }
    } catch (const EvalError& e) {
      // File errors carry file:line already; say which task of which suite asked for the file.
      throw EvalError(std::string(e.what()) + " [task '" + spec.name + "', " + spec.where + "]");
    }
    if (spec.kind == TaskKind::likelihood)
      prepare_likelihood(t, loaded, opt.heldout, tok, seq_len, opt.limit);
    else
      prepare_items(t, loaded, tok, seq_len, opt.limit);
    if (t.items.empty() && t.skipped == 0 && opt.log) opt.log("warning: task '" + spec.name + "' has no items");
    out.tasks.push_back(std::move(t));
  }
  return out;
}

std::vector<Metric> likelihood_metrics(const std::vector<PreparedItem>& items, const std::vector<Score>& s) {
  const int64_t n = static_cast<int64_t>(s.size());
  // Corpus-level ratios (lm-eval weighted_mean): Σll / Σtokens and Σll / Σbytes.
  auto ratio = [&](bool per_byte, std::span<const uint32_t> w) {
    double a = 0, b = 0;
    for (size_t i = 0; i < s.size(); ++i)
      a += w[i] * s[i].logprob, b += w[i] * (per_byte ? double(items[i].target_bytes) : double(s[i].tokens));
    return b > 0 ? -a / b : NAN;
  };
  const std::vector<uint32_t> ones(s.size(), 1);
  const double loss = ratio(false, ones), bpb = ratio(true, ones) / std::log(2.0);
  const double se_loss = bootstrap_stderr(n, [&](std::span<const uint32_t> w) { return ratio(false, w); });
  const double se_ppl = bootstrap_stderr(n, [&](std::span<const uint32_t> w) { return std::exp(ratio(false, w)); });
  const double se_bpb =
      bootstrap_stderr(n, [&](std::span<const uint32_t> w) { return ratio(true, w) / std::log(2.0); });
  return {make("token_loss", loss, se_loss, "bootstrap", false),
          make("perplexity", std::exp(loss), se_ppl, "bootstrap", false),
          make("bits_per_byte", bpb, se_bpb, "bootstrap", false)};
}

std::vector<Metric> last_word_metrics(const std::vector<Score>& s) {
  const int64_t n = static_cast<int64_t>(s.size());
  double hits = 0;
  for (const Score& x : s) hits += x.greedy;
  const double acc = n ? hits / double(n) : NAN;
  auto ppl = [&](std::span<const uint32_t> w) {
    double a = 0, c = 0;
    for (size_t i = 0; i < s.size(); ++i) a += w[i] * s[i].logprob, c += w[i];
    return c > 0 ? std::exp(-a / c) : NAN;
  };
  const std::vector<uint32_t> ones(s.size(), 1);
  return {make("acc", acc, binomial_stderr(acc, n), "binomial"),
          make("perplexity", ppl(ones), bootstrap_stderr(n, ppl), "bootstrap", false)};
}

ChoiceOutcome choice_outcome(const PreparedItem& it, const std::vector<Score>& scores,
                             const std::vector<Score>* unconditional) {
  auto argmax = [](const std::vector<double>& v) {  // numpy: the first maximum wins
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
  };
  std::vector<double> ll, norm, by, mi;
  for (size_t k = 0; k < scores.size(); ++k) {
    ll.push_back(scores[k].logprob);
    norm.push_back(scores[k].logprob / it.chars[k]);
    by.push_back(scores[k].logprob / it.bytes[k]);
    if (unconditional) mi.push_back(scores[k].logprob - (*unconditional)[k].logprob);
  }
  ChoiceOutcome o;
  o.acc = argmax(ll) == it.label;
  o.acc_norm = argmax(norm) == it.label;
  o.acc_bytes = argmax(by) == it.label;
  o.acc_mutual_info = unconditional && argmax(mi) == it.label;
  return o;
}

std::vector<Metric> choice_metrics(const std::vector<PreparedItem>& items,
                                   const std::vector<std::vector<Score>>& scores, bool partial,
                                   std::vector<double>* correct, const std::vector<std::vector<Score>>* unconditional) {
  const int64_t n = static_cast<int64_t>(items.size());
  double acc = 0, acc_norm = 0, acc_bytes = 0, acc_mi = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const ChoiceOutcome o = choice_outcome(items[i], scores[i], unconditional ? &(*unconditional)[i] : nullptr);
    acc += o.acc;
    acc_norm += o.acc_norm;
    acc_bytes += o.acc_bytes;
    acc_mi += o.acc_mutual_info;
    if (correct) correct->push_back(o.acc);
  }
  const double d = n ? double(n) : NAN;
  acc /= d, acc_norm /= d, acc_bytes /= d, acc_mi /= d;
  std::vector<Metric> m{make("acc", acc, binomial_stderr(acc, n), "binomial")};
  if (!partial) {
    m.push_back(make("acc_norm", acc_norm, binomial_stderr(acc_norm, n), "binomial"));
    m.push_back(make("acc_bytes", acc_bytes, binomial_stderr(acc_bytes, n), "binomial"));
    if (unconditional) m.push_back(make("acc_mutual_info", acc_mi, binomial_stderr(acc_mi, n), "binomial"));
  }
  return m;
}

std::vector<double> item_outcomes(const PreparedTask& task, const TaskResult& r, const std::string& metric) {
  std::vector<double> out;
  const Metric* m = r.metric(metric);
  if (!m || m->stderr_method != "binomial") return out;
  for (size_t i = 0; i < r.item_scores.size(); ++i) {
    if (task.spec.kind == TaskKind::last_word) {
      out.push_back(r.item_scores[i][0].greedy);
      continue;
    }
    const ChoiceOutcome o =
        choice_outcome(task.items[i], r.item_scores[i], r.item_unconditional.empty() ? nullptr : &r.item_unconditional[i]);
    out.push_back(metric == "acc" ? o.acc
                  : metric == "acc_norm" ? o.acc_norm
                  : metric == "acc_bytes" ? o.acc_bytes
                                          : o.acc_mutual_info);
  }
  return out;
}

double weighted_metric(const PreparedTask& task, const TaskResult& r, const std::string& metric,
                       std::span<const uint32_t> w) {
  if (!r.metric(metric) || r.nonfinite > 0 || w.size() != r.item_scores.size()) return NAN;
  if (task.spec.kind == TaskKind::likelihood) {
    double ll = 0, tokens = 0, bytes = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      ll += w[i] * r.item_scores[i][0].logprob;
      tokens += w[i] * double(r.item_scores[i][0].tokens);
      bytes += w[i] * double(task.items[i].target_bytes);
    }
    if (metric == "token_loss") return tokens > 0 ? -ll / tokens : NAN;
    if (metric == "perplexity") return tokens > 0 ? std::exp(-ll / tokens) : NAN;
    return bytes > 0 ? -ll / bytes / std::log(2.0) : NAN;  // bits_per_byte
  }
  if (task.spec.kind == TaskKind::last_word && metric == "perplexity") {
    double ll = 0, c = 0;
    for (size_t i = 0; i < w.size(); ++i) ll += w[i] * r.item_scores[i][0].logprob, c += w[i];
    return c > 0 ? std::exp(-ll / c) : NAN;
  }
  const std::vector<double> v = item_outcomes(task, r, metric);
  double hits = 0, c = 0;
  for (size_t i = 0; i < v.size() && i < w.size(); ++i) hits += w[i] * v[i], c += w[i];
  return c > 0 ? hits / c : NAN;
}

TaskResult run_task(model::GPT& gpt, const PreparedTask& task, const EvalOptions& opt) {
  Scorer scorer(gpt, opt.score);
  return run_task(scorer, task);
}

TaskResult run_task(Scorer& scorer, const PreparedTask& task) {
  const double t0 = now_s();
  const int64_t fed0 = scorer.tokens_fed();
  TaskResult r;
  r.name = task.spec.name;
  r.kind = task.spec.kind;
  r.source = task.source;
  r.skipped = task.skipped;
  r.warnings = task.warnings;
  r.items = static_cast<int64_t>(task.items.size());
  if (task.spec.kind != TaskKind::multiple_choice) {
    std::vector<Request> reqs;
    for (const PreparedItem& it : task.items) reqs.push_back(it.requests[0]);
    const std::vector<Score> s = scorer.score(reqs);
    for (const Score& x : s) {
      r.item_scores.push_back({x});
      r.truncated += x.truncated;
      r.per_item.push_back(task.spec.kind == TaskKind::likelihood ? x.logprob : double(x.greedy));
    }
    r.metrics = task.spec.kind == TaskKind::likelihood ? likelihood_metrics(task.items, s) : last_word_metrics(s);
  } else {
    std::vector<std::vector<Score>> scores;
    if (task.shared_context) {
      std::vector<SharedRequest> groups;
      for (const PreparedItem& it : task.items) {
        SharedRequest g{it.requests[0].context, {}};
        for (const Request& q : it.requests) g.continuations.push_back(q.continuation);
        groups.push_back(std::move(g));
      }
      scores = scorer.score_shared(groups);
    } else {
      std::vector<Request> flat;
      for (const PreparedItem& it : task.items) flat.insert(flat.end(), it.requests.begin(), it.requests.end());
      const std::vector<Score> s = scorer.score(flat);
      size_t k = 0;
      for (const PreparedItem& it : task.items) {
        scores.emplace_back(s.begin() + k, s.begin() + k + it.requests.size());
        k += it.requests.size();
      }
    }
    for (const auto& item : scores)
      r.truncated += std::any_of(item.begin(), item.end(), [](const Score& x) { return x.truncated; });
    std::vector<std::vector<Score>> uncond;
    if (task.spec.mutual_info) {
      // Every unconditional request of an item has the same one-token context: score it once.
      std::vector<SharedRequest> groups;
      for (const PreparedItem& it : task.items) {
        SharedRequest g{it.unconditional.at(0).context, {}};
        for (const Request& q : it.unconditional) g.continuations.push_back(q.continuation);
        groups.push_back(std::move(g));
      }
      uncond = scorer.score_shared(groups);
    }
    r.metrics = choice_metrics(task.items, scores, !task.spec.mc.blank.empty(), &r.per_item,
                               task.spec.mutual_info ? &uncond : nullptr);
    r.item_scores = std::move(scores);
    r.item_unconditional = std::move(uncond);
  }
  auto finite = [](const std::vector<Score>& v) {
    return std::all_of(v.begin(), v.end(), [](const Score& x) { return std::isfinite(x.logprob); });
  };
  for (size_t i = 0; i < r.item_scores.size(); ++i)
    r.nonfinite += !finite(r.item_scores[i]) || (i < r.item_unconditional.size() && !finite(r.item_unconditional[i]));
  if (r.nonfinite > 0)  // an overflowed forward: no metric of this task means anything
    for (Metric& m : r.metrics) m.value = m.stderr_ = NAN;
  r.tokens = scorer.tokens_fed() - fed0;
  r.seconds = now_s() - t0;
  return r;
}

SuiteResult run_suite(model::GPT& gpt, const PreparedSuite& suite, const EvalOptions& opt) {
  SuiteResult out;
  out.suite = suite.name;
  if (suite.seq_len != gpt.config().seq_len)
    throw std::invalid_argument("run_suite: the suite was prepared for seq_len " + std::to_string(suite.seq_len) +
                                ", the model has " + std::to_string(gpt.config().seq_len));
  Scorer scorer(gpt, opt.score);  // one arena for the whole suite
  for (const PreparedTask& t : suite.tasks) {
    if (opt.log) opt.log("evaluating " + t.spec.name + " (" + std::to_string(t.items.size()) + " items)");
    TaskResult r = run_task(scorer, t);
    out.tokens += r.tokens;
    out.seconds += r.seconds;
    out.tasks.push_back(std::move(r));
  }
  return out;
}

SuiteResult run_suite(model::GPT& gpt, const data::Tokenizer& tok, const Suite& suite, const EvalOptions& opt) {
  return run_suite(gpt, prepare_suite(suite, tok, gpt.config().seq_len, opt), opt);
}

}  // namespace nurture::eval
