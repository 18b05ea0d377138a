// The library half of `nurture cast`: what a value becomes in fp32, bf16 and fp16.
//
//   nurture cast [--json] [--formats] [--ftz] [--exact] [--] VALUE...
//
// Values come from the arguments or, when there are none, whitespace-separated from stdin.
// A value is parsed in double, then rounded to fp32 (what "0.1 in fp32" means); the bf16 and
// fp16 rows round that fp32 value, as a GPU cast from an fp32 tensor does. (Going through
// fp32 can, rarely, differ from rounding the decimal straight to 16 bits: double rounding.)
// Errors are against the double input, so the fp32 row shows the cost of storing it at all.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "precision/format.h"

namespace nurture::precision {

// What a cast did to a value; overflow/underflow mean a finite/non-zero input became inf/zero.
enum class CastClass { zero, normal, subnormal, inf, nan, overflow, underflow };
const char* name(CastClass c);

struct CastResult {
  Format format;
  float value;        // the rounded value
  uint32_t bits;      // its encoding in `format`: 32 bits for fp32, 16 for bf16 and fp16
  double abs_error;   // |value - input|; 0 when equal (also inf == inf); NaN for NaN
  double rel_error;   // abs_error / |input|
  CastClass cls;
};

// Decimal (-3.5, 1e-8), hex float (0x1.8p-3), inf/infinity/nan in any case, optional sign.
// Throws std::invalid_argument with a one-line message naming the text and the syntax.
double parse_value(std::string_view text);

// Rows in the order fp32, bf16, fp16; flushing applies to each row (fp32 flushes fp32
// subnormals).
std::array<CastResult, 3> cast_value(double input, const RoundOptions& opts = {});

// Every binary float has a finite decimal expansion; this is it, in full (up to 112 digits for
// fp32 subnormals). Non-finite values print as inf, -inf, nan, -nan.
std::string exact_decimal(float v);
// 9 significant digits: enough to tell any two floats apart, so also any bf16/fp16 values.
std::string short_decimal(float v);
std::string hex_bits(Format f, uint32_t bits);  // 0x3F800000, 0x3F80, 0x3C00

struct CastArgs {
  std::vector<std::string> values;  // as typed; validated by run_cast
  bool json = false, formats = false, ftz = false, exact = false, help = false;
};
// Options may appear anywhere before `--`; a negative number is taken as a value even before
// `--`. Throws std::invalid_argument on an unknown option.
CastArgs parse_cast_args(const std::vector<std::string>& args);
const char* cast_usage();

// args are the words after `cast`. Returns the exit code: 0, or 2 after a one-line error on err
// (nothing is printed on out then). Default output is an aligned table, values at 9 significant
// digits (or in full with --exact). --json prints an array of objects, one per (value, format):
// {input, parsed, format, value, exact, bits, abs_error, rel_error, class}, with null for NaN and
// infinite numbers; --formats alone gives an array of FormatInfo objects, and with values
// {"formats": [...], "casts": [...]}.
int run_cast(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);

}  // namespace nurture::precision
