// Reading the safetensors format (https://huggingface.co/docs/safetensors, the format Hugging
// Face ships weights in):
//
//   bytes 0..7     N, the header length, uint64 little-endian
//   bytes 8..8+N   a JSON object: {"<tensor name>": {"dtype": "F32", "shape": [768, 2304],
//                  "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}
//   the rest       the data section; a tensor's bytes are [begin, end) of it, C order,
//                  little-endian, end - begin = numel * sizeof(dtype), no two tensors overlap.
//
// open() checks all of that before any tensor data is read, so a damaged file is one error
// naming the file and the tensor. Tensor data is read on demand with pread, one tensor at a time:
// importing a 500 MB model holds one tensor's bytes, not the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nurture::import {

// The dtypes read_f32 converts exactly to fp32. Every other safetensors dtype (F64, I64, ...) is
// rejected by open().
enum class StDtype { F32, F16, BF16 };
const char* name(StDtype d);
int dtype_size(StDtype d);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
  int64_t numel() const;
};

class SafeTensors {
 public:
  // Reads and checks the header; throws ImportError ("<file>: <what>") on any inconsistency.
  static SafeTensors open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }  // in data-offset order
  const StTensor* find(std::string_view name) const;                 // null when absent

  // Converts the tensor's numel() values to fp32 into `out`; F16 and BF16 are exact in fp32.
  void read_f32(const StTensor& t, float* out) const;
  std::vector<float> read_f32(const StTensor& t) const;

 private:
  std::filesystem::path path_;
  std::vector<StTensor> tensors_;
  uint64_t data_start_ = 0;  // 8 + N
};

// IEEE half and bfloat16 bit patterns to fp32 (exact; subnormals, infinities and NaNs kept).
float half_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);

}  // namespace nurture::import
