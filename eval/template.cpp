#include "eval/template.h"

#include <cctype>
#include <vector>

#include "eval/error.h"

namespace nurture::eval {

namespace {

const std::vector<std::string> kFilters = {"capitalize", "lower", "upper", "strip", "lcfirst", "ucfirst"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string apply_filter(const std::string& f, std::string v) {
  if (f == "capitalize") return py_capitalize(v);
  if (f == "lower") {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else if (f == "upper") {
    for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else if (f == "strip") {
    v = strip(v);
  } else if (f == "lcfirst") {
    if (!v.empty()) v[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(v[0])));
  } else if (f == "ucfirst") {
    if (!v.empty()) v[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  }
  return v;
}

// Splits "name|f1|f2" into parts.
std::vector<std::string> split_bar(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '|')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// Walks the template; calls lit(text) for literal runs and ph(parts) for placeholders.
// Returns an error message, or "" if the template is well formed.
template <class Lit, class Ph>
std::string walk(const std::string& t, Lit lit, Ph ph) {
  size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '{' && i + 1 < t.size() && t[i + 1] == '{') {
      lit("{");
      i += 2;
    } else if (c == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      lit("}");
      i += 2;
    } else if (c == '{') {
      const size_t close = t.find('}', i + 1);
      if (close == std::string::npos) return "unclosed '{' at offset " + std::to_string(i);
      const std::vector<std::string> parts = split_bar(t.substr(i + 1, close - i - 1));
      if (parts[0].empty()) return "empty field name at offset " + std::to_string(i);
      for (size_t k = 1; k < parts.size(); ++k) {
        bool known = false;
        for (const auto& f : kFilters) known = known || f == parts[k];
        if (!known) return "unknown filter '" + parts[k] + "' (capitalize, lower, upper, strip, lcfirst, ucfirst)";
      }
      ph(parts);
      i = close + 1;
    } else if (c == '}') {
      return "unmatched '}' at offset " + std::to_string(i) + " (write '}}' for a literal brace)";
    } else {
      lit(std::string(1, c));
      ++i;
    }
  }
  return "";
}

}  // namespace

std::string py_capitalize(const std::string& s) {
  std::string v = s;
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    v[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return v;
}

std::string check_template(const std::string& tmpl) {
  return walk(
      tmpl, [](const std::string&) {}, [](const std::vector<std::string>&) {});
}

std::string render_template(const std::string& tmpl, const nlohmann::json& obj, const std::string& where) {
  std::string out;
  const std::string err = walk(
      tmpl, [&](const std::string& s) { out += s; },
      [&](const std::vector<std::string>& parts) {
        const std::string& f = parts[0];
        auto it = obj.find(f);
        if (it == obj.end()) throw EvalError(where + ": field '" + f + "': missing");
        std::string v;
        if (it->is_string())
          v = it->get<std::string>();
        else if (it->is_number())
          v = it->dump();
        else
          throw EvalError(where + ": field '" + f + "': expected a string, got " + std::string(it->type_name()));
        for (size_t k = 1; k < parts.size(); ++k) v = apply_filter(parts[k], v);
        out += v;
      });
  if (!err.empty()) throw EvalError(where + ": template: " + err);
  return out;
}

std::string hellaswag_preprocess(const std::string& text) {
  std::string s = strip(text);
  // text.replace(" [title]", ". ")
  std::string r;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 8, " [title]") == 0) {
      r += ". ";
      i += 8;
    } else {
      r += s[i++];
    }
  }
  // re.sub("\\[.*?\\]", "", text): shortest bracketed spans ('.' does not match a newline).
  std::string t;
  for (size_t i = 0; i < r.size();) {
    if (r[i] == '[') {
      size_t j = i + 1;
      while (j < r.size() && r[j] != ']' && r[j] != '\n') ++j;
      if (j < r.size() && r[j] == ']') {
        i = j + 1;
        continue;
      }
    }
    t += r[i++];
  }
  // text.replace("  ", " "): one left-to-right pass over non-overlapping pairs.
  std::string u;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == ' ' && i + 1 < t.size() && t[i + 1] == ' ') {
      u += ' ';
      i += 2;
    } else {
      u += t[i++];
    }
  }
  return u;
}

}  // namespace nurture::eval
