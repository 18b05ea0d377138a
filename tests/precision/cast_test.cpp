#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "precision/cast.h"

namespace nurture::precision {
namespace {

struct CastRun {
  int rc;
  std::string out, err;
};

CastRun run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  const int rc = run_cast(args, in, out, err);
  return {rc, out.str(), err.str()};
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(precision_cast, parses_decimal_hex_and_specials) {
  EXPECT_EQ(parse_value("0.1"), 0.1);
  EXPECT_EQ(parse_value("-3.5"), -3.5);
  EXPECT_EQ(parse_value("+1e-8"), 1e-8);
  EXPECT_EQ(parse_value(".5"), 0.5);
  EXPECT_EQ(parse_value("0x1.8p-3"), 0.1875);
  EXPECT_EQ(parse_value("-0X1P-24"), -0x1p-24);
  EXPECT_EQ(parse_value("0xff"), 255.0);
  EXPECT_EQ(parse_value("inf"), INFINITY);
  EXPECT_EQ(parse_value("-Infinity"), -INFINITY);
  EXPECT_TRUE(std::isnan(parse_value("NaN")));
  EXPECT_TRUE(std::signbit(parse_value("-nan")));
  EXPECT_TRUE(std::signbit(parse_value("-0")));
  for (const char* bad :
       {"", "-", "abc", "0.1x", "0x", "--1", "1e400", "0x1p", "1,5", "nan(1)", " 1"}) {
    EXPECT_THROW(parse_value(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(precision_cast, rows_for_reference_values) {
  auto r = cast_value(0.1);
  EXPECT_EQ(hex_bits(Format::fp32, r[0].bits), "0x3DCCCCCD");
  EXPECT_EQ(hex_bits(Format::bf16, r[1].bits), "0x3DCD");
  EXPECT_EQ(hex_bits(Format::fp16, r[2].bits), "0x2E66");
  EXPECT_EQ(r[0].cls, CastClass::normal);
  EXPECT_NEAR(r[0].abs_error, 1.490116e-9, 1e-15);  // vs 0.1 in double, not vs the fp32 value

  r = cast_value(70000);
  EXPECT_EQ(r[1].bits, 0x4789u);
  EXPECT_EQ(r[2].bits, 0x7C00u);
  EXPECT_EQ(r[2].cls, CastClass::overflow);
  EXPECT_TRUE(std::isinf(r[2].abs_error));

  r = cast_value(1e-8);
  EXPECT_EQ(r[2].bits, 0u);
  EXPECT_EQ(r[2].cls, CastClass::underflow);
  EXPECT_EQ(r[2].rel_error, 1.0);

  r = cast_value(3e-8);  // fp16's smallest subnormal
  EXPECT_EQ(r[2].bits, 0x0001u);
  EXPECT_EQ(r[2].cls, CastClass::subnormal);

  r = cast_value(1e-40);
  EXPECT_EQ(r[0].cls, CastClass::subnormal);
  EXPECT_EQ(r[1].bits, 0x0001u);
  r = cast_value(1e-40, {.flush_subnormals = true});
  EXPECT_EQ(r[0].cls, CastClass::underflow);
  EXPECT_EQ(r[1].bits, 0u);

  r = cast_value(-NAN);
  EXPECT_EQ(r[0].bits, 0xFFC00000u);
  EXPECT_EQ(r[1].bits, 0xFFC0u);
  EXPECT_EQ(r[2].bits, 0xFE00u);
  EXPECT_EQ(r[2].cls, CastClass::nan);
  r = cast_value(-INFINITY);
  EXPECT_EQ(r[2].bits, 0xFC00u);
  EXPECT_EQ(r[2].cls, CastClass::inf);
  EXPECT_EQ(r[2].abs_error, 0.0);
  r = cast_value(-0.0);
  EXPECT_EQ(r[2].bits, 0x8000u);
  EXPECT_EQ(r[2].cls, CastClass::zero);
}

TEST(precision_cast, decimal_strings) {
  EXPECT_EQ(exact_decimal(0.1f), "0.100000001490116119384765625");
  EXPECT_EQ(exact_decimal(0x1p-149f),
            "1.40129846432481707092372958328991613128026194187651577175706828388979108"
            "268586060148663818836212158203125e-45");
  EXPECT_EQ(exact_decimal(3.4028234663852886e38f), "340282346638528859811704183484516925440");
  EXPECT_EQ(short_decimal(0.1f), "0.100000001");
  EXPECT_EQ(short_decimal(-INFINITY), "-inf");
  EXPECT_EQ(hex_bits(Format::fp32, 0x3F800000), "0x3F800000");
  EXPECT_EQ(hex_bits(Format::fp16, 0x0001), "0x0001");
}

TEST(precision_cast, table_output) {
  const CastRun r = run({"0.1", "1e-8", "70000", "--", "-3.5"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 13u);
  EXPECT_EQ(ls[0], "input  format  value           bits        abs error  rel error  class");
  EXPECT_EQ(ls[1], "0.1    fp32    0.100000001     0x3DCCCCCD  1.490e-09  1.490e-08  normal");
  EXPECT_EQ(ls[2], "       bf16    0.100097656     0x3DCD      9.766e-05  9.766e-04  normal");
  EXPECT_EQ(ls[3], "       fp16    0.0999755859    0x2E66      2.441e-05  2.441e-04  normal");
  EXPECT_EQ(ls[6], "       fp16    0               0x0000      1.000e-08  1.000e+00  underflow");
  EXPECT_EQ(ls[9], "       fp16    inf             0x7C00      inf        inf        overflow");
  EXPECT_EQ(ls[12], "       fp16    -3.5            0xC300      0.000e+00  0.000e+00  normal");
}

TEST(precision_cast, negative_values_before_double_dash) {
  const CastRun r = run({"-3.5", "-inf"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("0xC0600000"), std::string::npos);
  EXPECT_NE(r.out.find("0xFC00"), std::string::npos);
}

TEST(precision_cast, reads_stdin_when_no_values) {
  const CastRun r = run({"--ftz"}, "0.5\n  2\t1e-40\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 10u);
  EXPECT_NE(r.out.find("0x3800"), std::string::npos);
  EXPECT_NE(r.out.find("underflow"), std::string::npos);  // 1e-40 flushed even in fp32
  EXPECT_EQ(r.out.find("subnormal"), std::string::npos);
}

TEST(precision_cast, json_output) {
  const CastRun r = run({"--json", "0.1", "nan", "65520"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 9u);
  EXPECT_EQ(j[0]["input"], "0.1");
  EXPECT_EQ(j[0]["format"], "fp32");
  EXPECT_EQ(j[0]["bits"], "0x3DCCCCCD");
  EXPECT_EQ(j[0]["exact"], "0.100000001490116119384765625");
  EXPECT_EQ(j[0]["value"].get<double>(), double(0.1f));
  EXPECT_EQ(j[2]["bits"], "0x2E66");
  EXPECT_EQ(j[4]["class"], "nan");
  EXPECT_TRUE(j[4]["value"].is_null());
  EXPECT_TRUE(j[4]["abs_error"].is_null());
  EXPECT_EQ(j[8]["class"], "overflow");
  EXPECT_EQ(j[8]["bits"], "0x7C00");
  EXPECT_EQ(j[7]["bits"], "0x4780");
}

TEST(precision_cast, formats) {
  CastRun r = run({"--formats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 4u);
  EXPECT_EQ(ls[3],
            "fp16    16    5         10        65504           6.10351562e-05  5.96046448e-08  "
            "0.0009765625");

  r = run({"--formats", "--json"});
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1]["name"], "bf16");
  EXPECT_EQ(j[1]["epsilon"], 0.0078125);
  EXPECT_EQ(j[2]["min_subnormal"], 0x1p-24);

  r = run({"--formats", "--json", "1"});
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["formats"].size(), 3u);
  EXPECT_EQ(j["casts"].size(), 3u);
}

TEST(precision_cast, bad_input_is_one_line_error) {
  for (const auto& args : {std::vector<std::string>{"0.1", "0.1x"}, {"--", "-abc"}}) {
    const CastRun r = run(args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(r.out, "");  // nothing printed for the good value either
    EXPECT_EQ(lines(r.err).size(), 1u);
    EXPECT_NE(r.err.find("'" + args.back() + "'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hex float like 0x1.8p-3"), std::string::npos) << r.err;
  }
  CastRun r = run({"--bogus"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
  r = run({}, "1 two 3");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("'two'"), std::string::npos) << r.err;
  r = run({}, "");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no values"), std::string::npos) << r.err;
}

TEST(precision_cast, help) {
  const CastRun r = run({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.rfind("usage: nurture cast", 0), 0u);
}

}  // namespace
}  // namespace nurture::precision
