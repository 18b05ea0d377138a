#include "model/params.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nurture::model {

int ParamStore::add(const std::string& name, core::Shape shape, bool decay, bool quantizable) {
  if (finalized_) throw std::logic_error("ParamStore::add after finalize");
  ParamInfo p{name, shape, total_, decay, quantizable};
  total_ += (shape.numel() + 15) / 16 * 16;  // padding floats stay 0 in every buffer
  infos_.push_back(p);
  return static_cast<int>(infos_.size()) - 1;
}

void ParamStore::finalize(bool gradients) {
  master_.assign(static_cast<size_t>(total_), 0.0f);
  if (gradients) grad_.assign(static_cast<size_t>(total_), 0.0f);
  finalized_ = true;
}

int ParamStore::find(const std::string& name) const {
  for (size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].name == name) return static_cast<int>(i);
  return -1;
}

void ParamStore::enable_working_copy(bool on) {
  if (on)
    working_ = master_;
  else
    working_.clear();
}

core::Tensor ParamStore::tensor(int i) {
  core::Tensor t;
  t.shape = infos_[i].shape;
  t.data = working() + infos_[i].offset;
  t.grad = grad_.empty() ? nullptr : grad_.data() + infos_[i].offset;
  return t;
}

core::Tensor ParamStore::tensor(const std::string& name) {
  int i = find(name);
  if (i < 0) throw std::out_of_range("no parameter named '" + name + "'");
  return tensor(i);
}

void ParamStore::zero_grad() { std::memset(grad_.data(), 0, grad_.size() * sizeof(float)); }

}  // namespace nurture::model
