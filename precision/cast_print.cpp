// Output of `nurture cast`: the aligned table, JSON, and the command itself.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "precision/cast.h"

namespace nurture::precision {
namespace {

constexpr Format kFormats[] = {Format::fp32, Format::bf16, Format::fp16};

struct Row {
  std::string input;
  double parsed;
  std::array<CastResult, 3> results;
};

using Table = std::vector<std::vector<std::string>>;

std::string to_text(double v, std::chars_format fmt, int precision) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v, fmt, precision).ptr);
}

// Errors: a NaN's sign means nothing here.
std::string sci(double v) {
  return std::isnan(v) ? "nan" : to_text(v, std::chars_format::scientific, 3);
}
std::string num(double v) { return to_text(v, std::chars_format::general, 9); }

void print_aligned(const Table& t, std::ostream& out) {
  std::vector<size_t> width;
  for (const auto& row : t) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : t) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

void print_casts_table(const std::vector<Row>& rows, bool exact, std::ostream& out) {
  Table t{{"input", "format", exact ? "value (exact)" : "value", "bits", "abs error", "rel error",
           "class"}};
  for (const Row& row : rows) {
    for (const CastResult& r : row.results) {
      t.push_back({r.format == Format::fp32 ? row.input : "", name(r.format),
                   exact ? exact_decimal(r.value) : short_decimal(r.value),
                   hex_bits(r.format, r.bits), sci(r.abs_error), sci(r.rel_error), name(r.cls)});
    }
  }
  print_aligned(t, out);
}

void print_formats_table(std::ostream& out) {
  Table t{{"format", "bits", "exponent", "mantissa", "max", "min normal", "min subnormal",
           "epsilon"}};
  for (Format f : kFormats) {
    const FormatInfo i = info(f);
    t.push_back({i.name, std::to_string(i.bits), std::to_string(i.exponent_bits),
                 std::to_string(i.mantissa_bits), num(i.max), num(i.min_normal),
                 num(i.min_subnormal), num(i.epsilon)});
  }
  print_aligned(t, out);
}

// NaN and inf have no JSON spelling; nlohmann writes them as null, which is what we want.
nlohmann::ordered_json casts_json(const std::vector<Row>& rows) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Row& row : rows) {
    for (const CastResult& r : row.results) {
      a.push_back({{"input", row.input},
                   {"parsed", row.parsed},
                   {"format", name(r.format)},
                   {"value", double(r.value)},
                   {"exact", exact_decimal(r.value)},
                   {"bits", hex_bits(r.format, r.bits)},
                   {"abs_error", r.abs_error},
                   {"rel_error", r.rel_error},
                   {"class", name(r.cls)}});
    }
  }
  return a;
}

nlohmann::ordered_json formats_json() {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Format f : kFormats) {
    const FormatInfo i = info(f);
    a.push_back({{"name", i.name}, {"bits", i.bits}, {"exponent_bits", i.exponent_bits},
                 {"mantissa_bits", i.mantissa_bits}, {"max", i.max}, {"min_normal", i.min_normal},
                 {"min_subnormal", i.min_subnormal}, {"epsilon", i.epsilon}});
  }
  return a;
}

std::vector<std::string> read_words(std::istream& in) {
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

int run_cast(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  std::vector<Row> rows;
  CastArgs a;
  try {
    a = parse_cast_args(args);
    if (a.help) {
      out << cast_usage();
      return 0;
    }
    if (a.values.empty() && !a.formats) a.values = read_words(in);
    if (a.values.empty() && !a.formats) {
      throw std::invalid_argument("no values (give them as arguments or on stdin)");
    }
    // Everything is parsed before anything is printed: a bad value gives no partial output.
    const RoundOptions opts{.flush_subnormals = a.ftz};
    for (const std::string& v : a.values) {
      const double x = parse_value(v);
      rows.push_back({v, x, cast_value(x, opts)});
    }
  } catch (const std::invalid_argument& e) {
    err << "nurture cast: " << e.what() << '\n';
    return 2;
  }

  if (a.json) {
    nlohmann::ordered_json doc;
    if (!a.formats) doc = casts_json(rows);
    else if (rows.empty()) doc = formats_json();
    else doc = {{"formats", formats_json()}, {"casts", casts_json(rows)}};
    out << doc.dump(2) << '\n';
    return 0;
  }
  if (a.formats) print_formats_table(out);
  if (a.formats && !rows.empty()) out << '\n';
  if (!rows.empty()) print_casts_table(rows, a.exact, out);
  return 0;
}

}  // namespace nurture::precision
