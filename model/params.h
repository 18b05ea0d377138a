// The flat parameter store (layout and parameter order: docs/ARCHITECTURE.md, "The flat
// parameter store").
//
// Every parameter is a view into one contiguous fp32 master buffer; gradients live in a second
// buffer with the identical layout (and AdamW keeps its moments in two more). Optimizer step,
// clipping, all-reduce, checkpointing and statistics are single loops over flat memory.
// Under a half-precision policy the forward/backward read a separate working copy holding the
// master weights rounded to the half format, refreshed after every optimizer step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nurture::model {

struct ParamInfo {
  std::string name;  // GPT-2/nanoGPT name, e.g. "h.0.attn.c_attn.weight"
  core::Shape shape;
  int64_t offset = 0;      // into the flat buffers, in floats
  bool decay = false;      // AdamW weight decay applies
  bool quantizable = false;  // a block linear weight that PTQ recipes quantize
  int64_t numel() const { return shape.numel(); }
};

class ParamStore {
 public:
  // Registration happens before finalize(); offsets are 16-float aligned for SIMD loops.
  // gradients = false: no gradient buffer (inference); tensor(i).grad is then null.
  int add(const std::string& name, core::Shape shape, bool decay, bool quantizable = false);
  void finalize(bool gradients = true);

  int64_t numel() const { return total_; }
  const std::vector<ParamInfo>& infos() const { return infos_; }
  const ParamInfo& info(int i) const { return infos_[i]; }
  int find(const std::string& name) const;  // -1 when absent

  float* master() { return master_.data(); }
  const float* master() const { return master_.data(); }
  float* grad() { return grad_.data(); }
  const float* grad() const { return grad_.data(); }
  // What forward/backward read: the master buffer, or the half-rounded copy when enabled.
  float* working() { return working_.empty() ? master_.data() : working_.data(); }
  bool has_working_copy() const { return !working_.empty(); }
  void enable_working_copy(bool on);

  // A parameter as an op input: data = working copy, grad = flat gradient buffer.
  core::Tensor tensor(int i);
  core::Tensor tensor(const std::string& name);
  float* master(int i) { return master_.data() + infos_[i].offset; }
  const float* master(int i) const { return master_.data() + infos_[i].offset; }

  void zero_grad();

 private:
  std::vector<ParamInfo> infos_;
  std::vector<float> master_, grad_, working_;
  int64_t total_ = 0;
  bool finalized_ = false;
};

}  // namespace nurture::model
