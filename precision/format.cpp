#include "precision/format.h"

#include <bit>
#include <stdexcept>
#include <string>

#include "precision/format_scalar.h"

namespace nurture::precision {

const char* name(Format f) {
  switch (f) {
    case Format::fp32: return "fp32";
    case Format::bf16: return "bf16";
    case Format::fp16: return "fp16";
  }
  return "?";
}

Format parse_format(std::string_view text) {
  if (text == "fp32" || text == "float32") return Format::fp32;
  if (text == "bf16" || text == "bfloat16") return Format::bf16;
  if (text == "fp16" || text == "float16" || text == "half") return Format::fp16;
  throw std::invalid_argument("unknown number format '" + std::string(text) +
                              "' (accepted: fp32, bf16, fp16)");
}

uint16_t fp32_to_bf16_bits(float x) { return scalar::bf16_from_bits(std::bit_cast<uint32_t>(x)); }
float bf16_bits_to_fp32(uint16_t bits) { return std::bit_cast<float>(uint32_t(bits) << 16); }
uint16_t fp32_to_fp16_bits(float x) { return scalar::fp16_from_float(x); }
float fp16_bits_to_fp32(uint16_t bits) { return scalar::fp16_to_float(bits); }

float round_to(Format f, float x, const RoundOptions& opts) {
  uint32_t r = scalar::round_bits(f, std::bit_cast<uint32_t>(x));
  if (opts.flush_subnormals) r = scalar::flush_if_subnormal(f, r);
  return std::bit_cast<float>(r);
}

RoundStats& RoundStats::operator+=(const RoundStats& o) {
  elements += o.elements;
  underflow += o.underflow;
  overflow += o.overflow;
  subnormal += o.subnormal;
  nan += o.nan;
  inf += o.inf;
  return *this;
}

FormatInfo info(Format f) {
  switch (f) {
    case Format::fp32:
      return {"fp32", 32, 8, 23, 0x1.fffffep+127, 0x1p-126, 0x1p-149, 0x1p-23};
    case Format::bf16:
      return {"bf16", 16, 8, 7, 0x1.fep+127, 0x1p-126, 0x1p-133, 0x1p-7};
    case Format::fp16:
      return {"fp16", 16, 5, 10, 65504.0, 0x1p-14, 0x1p-24, 0x1p-10};
  }
  return {"?", 0, 0, 0, 0, 0, 0, 0};
}

}  // namespace nurture::precision
