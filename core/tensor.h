// Tensor: a non-owning view of contiguous fp32 memory with an optional gradient buffer.
//
// Tensors never own memory: activations live in an Arena (reset every step), parameters in
// the flat ParamStore, test data in a Buffer. Keeping the view this small (a few pointers and
// a shape) lets backward closures capture tensors by value without touching the heap.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace nurture::core {

class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i < 0 ? i + rank_ : i]; }
  int64_t numel() const;
  // Product of all but the last dimension: the number of rows when viewed as a matrix.
  int64_t rows() const { return rank_ == 0 ? 1 : numel() / dims_[rank_ - 1]; }
  int64_t cols() const { return rank_ == 0 ? 1 : dims_[rank_ - 1]; }
  std::vector<int64_t> vec() const { return {dims_.begin(), dims_.begin() + rank_}; }
  std::string str() const;
  bool operator==(const Shape& o) const;

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

struct Tensor {
  float* data = nullptr;
  float* grad = nullptr;  // same shape as data; null when the tensor is not tracked by autograd
  Shape shape;
  // The values as bf16, row-major, when an op stored its output in bf16 only (data is then null):
  // under the native bf16 policy, an output whose one consumer is a linear layer (Ctx::make_bf16).
  uint16_t* words = nullptr;
  // Exactly one op reads this tensor, so that op's backward is the only writer of its gradient: it
  // writes it whole (=) and the buffer is never zeroed (Ctx::make with one_reader). The op that
  // makes the output decides, on its caller's word; ops that read it must honour it.
  bool one_reader = false;

  int64_t numel() const { return shape.numel(); }
  int64_t rows() const { return shape.rows(); }
  int64_t cols() const { return shape.cols(); }
  bool tracked() const { return grad != nullptr; }
  // Same memory, another shape with the same number of elements.
  Tensor reshape(Shape s) const;
};

// Owning storage for tests, tools and model-independent buffers.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(Shape s, bool with_grad = false);
  Tensor& t() { return t_; }
  const Tensor& t() const { return t_; }
  float* data() { return t_.data; }
  float* grad() { return t_.grad; }
  int64_t numel() const { return t_.numel(); }

 private:
  std::vector<float> data_, grad_;
  Tensor t_;
};

}  // namespace nurture::core
