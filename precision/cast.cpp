#include "precision/cast.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace nurture::precision {
namespace {

constexpr const char* kValueSyntax =
    "accepted: decimal like -1.5e-3, hex float like 0x1.8p-3, inf, -inf, nan";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != b[i]) return false;  // b is lower case letters
  }
  return true;
}

[[noreturn]] void bad_value(std::string_view text, const char* why) {
  throw std::invalid_argument("bad value '" + std::string(text) + "'" + why + " (" +
                              kValueSyntax + ")");
}

std::string chars(double v, std::chars_format fmt, int precision) {
  char buf[160];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, fmt, precision);
  return std::string(buf, res.ptr);
}

CastResult make_result(Format f, float v, double input) {
  CastResult r{f, v, 0, 0, 0, CastClass::normal};
  const uint32_t u = std::bit_cast<uint32_t>(v);
  r.bits = f == Format::fp32 ? u : f == Format::bf16 ? u >> 16 : fp32_to_fp16_bits(v);

  const double d = v;
  if (std::isnan(input) || std::isnan(d)) {
    r.abs_error = r.rel_error = NAN;
  } else if (d != input) {
    r.abs_error = std::fabs(d - input);
    r.rel_error = r.abs_error / std::fabs(input);
  }

  if (std::isnan(input)) r.cls = CastClass::nan;
  else if (std::isinf(input)) r.cls = CastClass::inf;
  else if (std::isinf(d)) r.cls = CastClass::overflow;
  else if (d == 0) r.cls = input == 0 ? CastClass::zero : CastClass::underflow;
  else if (std::fabs(d) < info(f).min_normal) r.cls = CastClass::subnormal;
  return r;
}

}  // namespace

const char* name(CastClass c) {
  switch (c) {
    case CastClass::zero: return "zero";
    case CastClass::normal: return "normal";
    case CastClass::subnormal: return "subnormal";
    case CastClass::inf: return "inf";
    case CastClass::nan: return "nan";
    case CastClass::overflow: return "overflow";
    case CastClass::underflow: return "underflow";
  }
  return "?";
}

double parse_value(std::string_view text) {
  std::string_view s = text;
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);

  double v = 0;
  if (iequals(s, "inf") || iequals(s, "infinity")) {
    v = INFINITY;
  } else if (iequals(s, "nan")) {
    v = NAN;
  } else {
    auto fmt = std::chars_format::general;
    if (s.size() > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
      s.remove_prefix(2);
      fmt = std::chars_format::hex;
    }
    // from_chars would accept a second sign and spelled-out specials here; reject them.
    const auto c = s.empty() ? 0 : static_cast<unsigned char>(s[0]);
    const bool digit = fmt == std::chars_format::hex ? std::isxdigit(c) : std::isdigit(c);
    if (!digit && c != '.') bad_value(text, "");
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v, fmt);
    if (res.ec == std::errc::result_out_of_range) bad_value(text, ": out of range for double");
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) bad_value(text, "");
  }
  return negative ? std::copysign(v, -1.0) : v;
}

std::array<CastResult, 3> cast_value(double input, const RoundOptions& opts) {
  // IEEE (Annex F) conversion: rounds to nearest even, out-of-range goes to ±inf.
  const float f32 = round_to(Format::fp32, static_cast<float>(input), opts);
  return {make_result(Format::fp32, f32, input),
          make_result(Format::bf16, round_to(Format::bf16, f32, opts), input),
          make_result(Format::fp16, round_to(Format::fp16, f32, opts), input)};
}

std::string exact_decimal(float v) {
  // %g semantics drop trailing zeros; 120 significant digits cover every float exactly.
  return chars(v, std::chars_format::general, 120);
}

std::string short_decimal(float v) { return chars(v, std::chars_format::general, 9); }

std::string hex_bits(Format f, uint32_t bits) {
  char buf[16];
  const int width = f == Format::fp32 ? 8 : 4;
  auto res = std::to_chars(buf, buf + sizeof buf, bits, 16);
  std::string digits(buf, res.ptr);
  for (char& c : digits) c = char(std::toupper(static_cast<unsigned char>(c)));
  return "0x" + std::string(size_t(std::max(0, width - int(digits.size()))), '0') + digits;
}

CastArgs parse_cast_args(const std::vector<std::string>& args) {
  CastArgs a;
  bool only_values = false;
  for (const std::string& arg : args) {
    if (only_values || arg.empty() || arg[0] != '-') {
      a.values.push_back(arg);
    } else if (arg == "--") {
      only_values = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--formats") {
      a.formats = true;
    } else if (arg == "--ftz") {
      a.ftz = true;
    } else if (arg == "--exact") {
      a.exact = true;
    } else if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else {
      try {
        parse_value(arg);
        a.values.push_back(arg);
      } catch (const std::invalid_argument&) {
        throw std::invalid_argument("unknown option '" + arg +
                                    "' (accepted: --json, --formats, --ftz, --exact, --help; "
                                    "values after -- are never options)");
      }
    }
  }
  return a;
}

const char* cast_usage() {
  return "usage: nurture cast [--json] [--formats] [--ftz] [--exact] [--] VALUE...\n"
         "  Shows each VALUE (or whitespace-separated values from stdin) rounded to fp32, bf16\n"
         "  and fp16: the value, its bits, the error against the input, and its class.\n"
         "  VALUE: decimal (-1.5e-3), hex float (0x1.8p-3), inf, -inf, nan.\n"
         "  --json     JSON instead of a table\n"
         "  --formats  print each format's max, min normal, min subnormal and epsilon\n"
         "  --ftz      flush results that would be subnormal to zero\n"
         "  --exact    print values as their exact decimal expansion\n";
}

}  // namespace nurture::precision
