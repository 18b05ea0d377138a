#include "import/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "import/error.h"

namespace nurture::import {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so is this reader");

const char* name(StDtype d) {
  switch (d) {
    case StDtype::F32: return "F32";
    case StDtype::F16: return "F16";
    case StDtype::BF16: return "BF16";
  }
  return "?";
}

int dtype_size(StDtype d) { return d == StDtype::F32 ? 4 : 2; }

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: man · 2^-24, normal in fp32.
    int e = -1;
    uint32_t m = man;
    do {
      m <<= 1;
      ++e;
    } while ((m & 0x400u) == 0);
    bits = sign | uint32_t(112 - e) << 23 | ((m & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

namespace {

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& what) {
  throw ImportError(p.string() + ": " + what);
}

}  // namespace

SafeTensors SafeTensors::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(path, "no such file (a Hugging Face model directory holds model.safetensors)");
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot read its size: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  if (file_size < 8) fail(path, "only " + std::to_string(file_size) + " bytes; not a safetensors file (truncated?)");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  if (header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file's " + std::to_string(file_size) +
                   " bytes (truncated, or not a safetensors file)");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) fail(path, "cannot read the header");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::parse_error& e) {
    fail(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) fail(path, "header is not a JSON object");

  SafeTensors st;
  st.path_ = path;
  st.data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - st.data_start_;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;  // free-form strings (format, framework): unused
    const std::string where = "tensor '" + it.key() + "'";
    const nlohmann::json& e = it.value();
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail(path, where + ": header entry must be an object with dtype, shape and data_offsets");
    StTensor t;
    t.name = it.key();
    if (!e["dtype"].is_string()) fail(path, where + ": dtype is not a string");
    const std::string dt = e["dtype"].get<std::string>();
    if (dt == "F32")
      t.dtype = StDtype::F32;
    else if (dt == "F16")
      t.dtype = StDtype::F16;
    else if (dt == "BF16")
      t.dtype = StDtype::BF16;
    else
      fail(path, where + ": dtype " + dt + " is not supported (F32, F16 or BF16 weights only)");
    if (!e["shape"].is_array()) fail(path, where + ": shape is not an array");
    // Bytes computed in long double: a hostile shape must not overflow into a small, plausible size.
    long double bytes = dtype_size(t.dtype);
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) fail(path, where + ": shape has an entry that is not a size");
      t.shape.push_back(d.get<int64_t>());
      bytes *= static_cast<long double>(t.shape.back());
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(path, where + ": data_offsets must be [begin, end], two non-negative integers");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.begin > t.end)
      fail(path, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                     "] end before they begin");
    if (t.end > data_size)
      fail(path, where + ": data_offsets end at byte " + std::to_string(t.end) + " but the data section holds " +
                     std::to_string(data_size) + " bytes (truncated file?)");
    if (static_cast<long double>(t.end - t.begin) != bytes)
      fail(path, where + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes, but " + dt + " shape " +
                     e["shape"].dump() + " needs " + std::to_string(static_cast<uint64_t>(bytes)));
    st.tensors_.push_back(std::move(t));
  }
  std::sort(st.tensors_.begin(), st.tensors_.end(), [](const StTensor& a, const StTensor& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  const StTensor* reach = nullptr;  // the tensor ending furthest among those seen (sorted by begin)
  for (const StTensor& t : st.tensors_) {
    if (t.end == t.begin) continue;  // empty tensors occupy no bytes
    if (reach && t.begin < reach->end)
      fail(path, "tensors '" + reach->name + "' and '" + t.name + "' overlap in the data section");
    if (!reach || t.end > reach->end) reach = &t;
  }
  return st;
}

const StTensor* SafeTensors::find(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void SafeTensors::read_f32(const StTensor& t, float* out) const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) fail(path_, "cannot open for reading");
  in.seekg(static_cast<std::streamoff>(data_start_ + t.begin));
  const int64_t n = t.numel();
  if (t.dtype == StDtype::F32) {
    in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(t.end - t.begin));
  } else {
    std::vector<uint16_t> raw(static_cast<size_t>(n));
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(t.end - t.begin));
    for (int64_t i = 0; i < n; ++i)
      out[i] = t.dtype == StDtype::F16 ? half_to_float(raw[size_t(i)]) : bf16_to_float(raw[size_t(i)]);
  }
  if (!in)
    fail(path_, "tensor '" + t.name + "': cannot read its data (file changed or truncated since it was opened?)");
}

std::vector<float> SafeTensors::read_f32(const StTensor& t) const {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  read_f32(t, v.data());
  return v;
}

}  // namespace nurture::import
