// The safetensors reader: values come back exactly, and every kind of damage is one line naming
// the file and the tensor.
#include "import/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "import/error.h"
#include "tests/import/hf_fixture.h"
#include "tests/support/support.h"

namespace nurture::import {
namespace {

using test::StEntry;

std::string u16_bytes(const std::vector<uint16_t>& v) {
  std::string s(v.size() * 2, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

std::string open_error(const test::TempDir& dir, const std::string& bytes) {
  test::write_text(dir / "m.safetensors", bytes);
  return test::error_of<ImportError>([&] { SafeTensors::open(dir / "m.safetensors"); });
}

TEST(SafeTensors, ReadsF32F16AndBf16Exactly) {
  test::TempDir dir("st");
  const std::vector<float> a{1.5f, -2.25f, 3e-8f, std::numeric_limits<float>::max(), -0.0f, 7.0f};
  // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 3·2^-24 (subnormal), -inf.
  const std::vector<uint16_t> h{0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0003, 0xFC00};
  const std::vector<uint16_t> b{0x3F80, 0xC0A0, 0x0001};  // 1, -5, the smallest bf16 subnormal
  test::write_text(dir / "m.safetensors",
                   test::safetensors_bytes({test::st_f32("a", {2, 3}, a), StEntry{"h", "F16", {6}, u16_bytes(h)},
                                            StEntry{"b", "BF16", {3, 1}, u16_bytes(b)}}));
  const SafeTensors st = SafeTensors::open(dir / "m.safetensors");
  ASSERT_EQ(st.tensors().size(), 3u);
  ASSERT_NE(st.find("a"), nullptr);
  EXPECT_EQ(st.find("zz"), nullptr);
  EXPECT_EQ(st.find("a")->shape, (std::vector<int64_t>{2, 3}));
  const std::vector<float> ra = st.read_f32(*st.find("a"));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(std::bit_cast<uint32_t>(ra[i]), std::bit_cast<uint32_t>(a[i]));
  const std::vector<float> rh = st.read_f32(*st.find("h"));
  EXPECT_EQ(rh[0], 1.0f);
  EXPECT_EQ(rh[1], -2.0f);
  EXPECT_EQ(rh[2], 65504.0f);
  EXPECT_EQ(rh[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(rh[4], 3 * std::ldexp(1.0f, -24));
  EXPECT_EQ(rh[5], -std::numeric_limits<float>::infinity());
  const std::vector<float> rb = st.read_f32(*st.find("b"));
  EXPECT_EQ(rb[0], 1.0f);
  EXPECT_EQ(rb[1], -5.0f);
  EXPECT_EQ(rb[2], std::ldexp(1.0f, -133));
}

TEST(SafeTensors, EveryHalfConvertsLikeTheHardware) {
  // All 65536 half patterns against the exact value: (-1)^s · 2^(e-15) · (1 + m/1024), subnormals
  // m · 2^-24, infinities and NaNs.
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const int s = bits >> 15, e = (bits >> 10) & 31, m = bits & 1023;
    const float got = half_to_float(uint16_t(bits));
    if (e == 31) {
      EXPECT_TRUE(m ? std::isnan(got) : std::isinf(got)) << bits;
      continue;
    }
    const double mag = e ? std::ldexp(1.0 + m / 1024.0, e - 15) : std::ldexp(double(m), -24);
    const double want = s ? -mag : mag;
    ASSERT_EQ(double(got), want) << bits;
    ASSERT_EQ(std::signbit(got), bool(s)) << bits;
  }
}

TEST(SafeTensors, DamagedFilesAreOneLineErrorsNamingTheProblem) {
  test::TempDir dir("st-bad");
  const std::vector<StEntry> good{test::st_f32("w", {2, 2}, {1, 2, 3, 4}), test::st_f32("b", {2}, {5, 6})};
  const std::string header = test::safetensors_header(good);
  const std::string data = good[0].bytes + good[1].bytes;
  auto expect = [&](const std::string& bytes, const std::string& part) {
    const std::string err = open_error(dir, bytes);
    EXPECT_NE(err.find(part), std::string::npos) << err;
    EXPECT_NE(err.find("m.safetensors"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  };
  expect("abc", "not a safetensors file");
  std::string huge = test::with_header(header, data);
  huge[5] = 1;  // header length ~2^40
  expect(huge, "header length");
  expect(test::with_header("{\"w\": [", data), "not valid JSON");
  expect(test::with_header("[1, 2]", data), "not a JSON object");
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string h = header;
    const auto at = h.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    h.replace(at, from.size(), to);
    return test::with_header(h, data);
  };
  expect(edit("\"dtype\":\"F32\",\"shape\":[2,2]", "\"dtype\":\"I64\",\"shape\":[2,2]"),
         "tensor 'w': dtype I64 is not supported");
  expect(edit("\"shape\":[2,2]", "\"shape\":[2,3]"),
         "tensor 'w': data_offsets span 16 bytes, but F32 shape [2,3] needs 24");
  expect(edit("\"shape\":[2]", "\"shape\":[-2]"), "tensor 'b': shape has an entry that is not a size");
  expect(edit("\"data_offsets\":[16,24]", "\"data_offsets\":[8,16]"), "tensors 'w' and 'b' overlap");
  expect(edit("\"data_offsets\":[16,24]", "\"data_offsets\":[24,16]"), "tensor 'b': data_offsets [24, 16] end before");
  expect(edit("\"data_offsets\":[16,24]", "\"data_offsets\":[16]"), "tensor 'b': data_offsets must be [begin, end]");
  expect(edit("{\"dtype\":\"F32\",\"shape\":[2],", "{\"shape\":[2],"), "tensor 'b': header entry must be an object");
  // Truncated: the data section ends before the last tensor does.
  expect(test::with_header(header, data.substr(0, 20)),
         "tensor 'b': data_offsets end at byte 24 but the data section holds 20 bytes (truncated file?)");
  // Absent file.
  const std::string err = test::error_of<ImportError>([&] { SafeTensors::open(dir / "none.safetensors"); });
  EXPECT_NE(err.find("none.safetensors: no such file"), std::string::npos) << err;
}

TEST(SafeTensors, HeaderOrderDoesNotMatterAndEmptyTensorsAreFine) {
  test::TempDir dir("st-order");
  // Entries listed in reverse data order, plus a zero-size tensor.
  const std::string data = std::string(8, '\0') + std::string(4, '\0');
  const std::string h = R"({"second":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                        R"("empty":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},)"
                        R"("first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  test::write_text(dir / "m.safetensors", test::with_header(h, data));
  const SafeTensors st = SafeTensors::open(dir / "m.safetensors");
  ASSERT_EQ(st.tensors().size(), 3u);
  EXPECT_EQ(st.tensors().front().name, "first");
  EXPECT_EQ(st.find("empty")->numel(), 0);
}

}  // namespace
}  // namespace nurture::import
