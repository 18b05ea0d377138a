// Hand-written vectors, format metadata, flush-to-zero edges.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "precision/format.h"

namespace nurture::precision {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }

struct Vec {
  float x;
  uint16_t want;
};

TEST(precision_format, bf16_reference_vectors) {
  const Vec vs[] = {
      {1.0f, 0x3F80},        {0.5f, 0x3F00},          {0.33333f, 0x3EAB},     {-0.0f, 0x8000},
      {3.38e38f, 0x7F7E},    {3.40e38f, 0x7F80},      {1.00390625f, 0x3F80},  {1.01171875f, 0x3F82},
      {65504.0f, 0x4780},    {1e-40f, 0x0001},        {kInf, 0x7F80},         {-kInf, 0xFF80},
      {kNan, 0x7FC0},        {-kNan, 0xFFC0},
  };
  for (const Vec& v : vs) {
    EXPECT_EQ(fp32_to_bf16_bits(v.x), v.want) << v.x;
    const float r = round_to(Format::bf16, v.x);
    EXPECT_EQ(bits(r), uint32_t(v.want) << 16) << v.x;
    EXPECT_EQ(bits(bf16_bits_to_fp32(v.want)), uint32_t(v.want) << 16);
  }
  EXPECT_EQ(bf16_bits_to_fp32(0x3EAB), 0.333984375f);
  EXPECT_EQ(bits(1e-40f), 0x000116C2u);  // the vector really is an fp32 subnormal
  // Any NaN, signalling or with a payload, becomes the canonical quiet NaN with its sign.
  EXPECT_EQ(fp32_to_bf16_bits(std::bit_cast<float>(0x7F800001u)), 0x7FC0);
  EXPECT_EQ(fp32_to_bf16_bits(std::bit_cast<float>(0xFFABCDEFu)), 0xFFC0);
  // The overflow edge is the halfway point 0x7F7F8000 above the largest finite bf16.
  EXPECT_EQ(fp32_to_bf16_bits(std::bit_cast<float>(0x7F7F7FFFu)), 0x7F7F);
  EXPECT_EQ(fp32_to_bf16_bits(std::bit_cast<float>(0x7F7F8000u)), 0x7F80);
}

TEST(precision_format, fp16_reference_vectors) {
  const Vec vs[] = {
      {65504.0f, 0x7BFF},          {65519.0f, 0x7BFF},          {65520.0f, 0x7C00},
      {0x1p-14f, 0x0400},          {0x1p-24f, 0x0001},          {0x1p-25f, 0x0000},
      {3e-8f, 0x0001},             {0x1.8p-24f, 0x0002},        {0x1.4p-23f, 0x0002},
      {2049.0f, 0x6800},           {2051.0f, 0x6802},           {kNan, 0x7E00},
      {-kNan, 0xFE00},             {kInf, 0x7C00},              {-kInf, 0xFC00},
      {-0.0f, 0x8000},             {1.0f, 0x3C00},              {-65520.0f, 0xFC00},
  };
  for (const Vec& v : vs) {
    EXPECT_EQ(fp32_to_fp16_bits(v.x), v.want) << v.x;
    EXPECT_EQ(bits(round_to(Format::fp16, v.x)), bits(fp16_bits_to_fp32(v.want))) << v.x;
  }
  EXPECT_EQ(fp16_bits_to_fp32(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_bits_to_fp32(0x7BFF), 65504.0f);
  EXPECT_EQ(bits(fp16_bits_to_fp32(0x7E00)), 0x7FC00000u);
  EXPECT_EQ(bits(fp16_bits_to_fp32(0xFE00)), 0xFFC00000u);
  EXPECT_EQ(fp32_to_fp16_bits(std::bit_cast<float>(0x7F800001u)), 0x7E00);  // signalling
  EXPECT_EQ(fp32_to_fp16_bits(std::bit_cast<float>(0x7FFFFFFFu)), 0x7E00);  // payload dropped
}

TEST(precision_format, epsilon_and_limits) {
  for (Format f : {Format::bf16, Format::fp16}) {
    const FormatInfo i = info(f);
    const float eps = float(i.epsilon);
    EXPECT_GT(round_to(f, 1.0f + eps), 1.0f) << i.name;
    EXPECT_EQ(round_to(f, 1.0f + eps / 2), 1.0f) << i.name;  // tie to even
    EXPECT_EQ(round_to(f, float(i.max)), float(i.max)) << i.name;
    EXPECT_EQ(round_to(f, float(i.min_normal)), float(i.min_normal)) << i.name;
    EXPECT_EQ(round_to(f, float(i.min_subnormal)), float(i.min_subnormal)) << i.name;
    EXPECT_EQ(round_to(f, float(i.min_subnormal) / 2), 0.0f) << i.name;  // tie to even (zero)
    EXPECT_EQ(i.bits, 1 + i.exponent_bits + i.mantissa_bits);
  }
  EXPECT_EQ(info(Format::bf16).epsilon, 0.0078125);
  EXPECT_NEAR(info(Format::bf16).max, 3.3895e38, 1e34);
  EXPECT_NEAR(info(Format::bf16).min_normal, 1.1755e-38, 1e-42);
  EXPECT_EQ(info(Format::fp16).max, 65504.0);
  EXPECT_EQ(info(Format::fp16).epsilon, 0x1p-10);
  EXPECT_EQ(info(Format::fp32).max, double(std::numeric_limits<float>::max()));
  EXPECT_EQ(info(Format::fp32).min_subnormal, double(std::numeric_limits<float>::denorm_min()));
}

TEST(precision_format, fp32_is_identity) {
  for (float x : {0.1f, -0.0f, 1e-40f, 3.4e38f, kInf}) {
    EXPECT_EQ(bits(round_to(Format::fp32, x)), bits(x));
  }
  EXPECT_EQ(bits(round_to(Format::fp32, std::bit_cast<float>(0x7FA00001u))), 0x7FA00001u);
  EXPECT_EQ(bits(round_to(Format::fp32, -1e-40f, {.flush_subnormals = true})), 0x80000000u);
}

TEST(precision_format, flush_to_zero_decides_after_rounding) {
  const RoundOptions ftz{.flush_subnormals = true};
  EXPECT_EQ(bits(round_to(Format::fp16, 0x1p-24f, ftz)), 0u);
  EXPECT_EQ(bits(round_to(Format::fp16, -0x1p-20f, ftz)), 0x80000000u);
  // 2^-14 - 2^-25 is a tie between the largest subnormal and the smallest normal; even wins.
  EXPECT_EQ(round_to(Format::fp16, 0x1p-14f - 0x1p-25f, ftz), 0x1p-14f);
  EXPECT_EQ(round_to(Format::fp16, 0x1p-14f, ftz), 0x1p-14f);
  EXPECT_EQ(bits(round_to(Format::bf16, 1e-40f, ftz)), 0u);
  // The largest fp32 subnormal rounds up to bf16's smallest normal and survives.
  EXPECT_EQ(bits(round_to(Format::bf16, std::bit_cast<float>(0x007FFFFFu), ftz)), 0x00800000u);
  EXPECT_EQ(round_to(Format::bf16, 1.0f, ftz), 1.0f);
  EXPECT_TRUE(std::isnan(round_to(Format::fp16, kNan, ftz)));
}

TEST(precision_format, names_round_trip) {
  for (Format f : {Format::fp32, Format::bf16, Format::fp16}) {
    EXPECT_EQ(parse_format(name(f)), f);
    EXPECT_STREQ(info(f).name, name(f));
  }
  EXPECT_EQ(parse_format("bfloat16"), Format::bf16);
  EXPECT_EQ(parse_format("half"), Format::fp16);
  try {
    parse_format("fp8");
    FAIL() << "fp8 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown number format 'fp8' (accepted: fp32, bf16, fp16)");
  }
}

}  // namespace
}  // namespace nurture::precision
