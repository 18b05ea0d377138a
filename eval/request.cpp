#include "eval/request.h"

#include <algorithm>
#include <string>

namespace nurture::eval {

namespace {
// Python's str.isspace() for the ASCII whitespace lm-eval's rstrip() removes in practice.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

int32_t prefix_token(const data::Tokenizer& tok) { return tok.document_start_id(); }

Request encode_pair(const data::Tokenizer& tok, std::string_view context, std::string_view continuation) {
  size_t n = context.size();
  while (n > 0 && is_space(context[n - 1])) --n;
  std::string cont = std::string(context.substr(n)) + std::string(continuation);
  context = context.substr(0, n);
  Request r;
  if (context.empty()) {
    r.context = {prefix_token(tok)};
    r.continuation = tok.encode(cont);
    return r;
  }
  std::vector<int32_t> whole = tok.encode(std::string(context) + cont);
  r.context = tok.encode(context);
  const size_t k = std::min(r.context.size(), whole.size());
  r.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(k), whole.end());
  return r;
}

std::vector<Request> rolling_windows(const std::vector<int32_t>& tokens, int32_t prefix, int max_len) {
  std::vector<Request> out;
  const int64_t n = static_cast<int64_t>(tokens.size()), L = max_len;
  if (n == 0) return out;
  auto at = [&](int64_t a, int64_t b) { return std::vector<int32_t>(tokens.begin() + a, tokens.begin() + b); };
  const int64_t first = std::min(L, n);
  out.push_back({{prefix}, at(0, first)});
  int64_t predicted = first;
  while (predicted < n) {
    const int64_t len = std::min(n - predicted, L);
    const int64_t end = predicted + len;
    // input = tokens[end-L-1, end-1); disjoint: context = the part before the targets.
    out.push_back({at(std::max<int64_t>(0, end - L - 1), predicted), at(predicted, end)});
    predicted = end;
  }
  return out;
}

}  // namespace nurture::eval
