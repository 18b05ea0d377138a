#include "core/tensor.h"

#include <cassert>
#include <stdexcept>

namespace nurture::core {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > kMaxRank) throw std::invalid_argument("Shape: rank > 4");
  rank_ = static_cast<int>(dims.size());
  for (int i = 0; i < rank_; ++i) dims_[i] = dims[i];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

Tensor Tensor::reshape(Shape s) const {
  assert(s.numel() == numel());
  Tensor t = *this;
  t.shape = s;
  return t;
}

Buffer::Buffer(Shape s, bool with_grad) : data_(s.numel(), 0.0f) {
  t_.shape = s;
  t_.data = data_.data();
  if (with_grad) {
    grad_.assign(s.numel(), 0.0f);
    t_.grad = grad_.data();
  }
}

}  // namespace nurture::core
