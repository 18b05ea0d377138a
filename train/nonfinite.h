// Diagnosis for fp32 divergence: when the loss or the gradient norm stops being finite, say
// which value went first, so a user can tell an exploding embedding from a bad learning rate.
//
// "First" is in the model's parameter order (train/train_step.cpp checks the loss and the gradient
// norm every step, so everything non-finite at that point appeared in the same update or the
// same backward pass; the order within it is the parameter order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "model/gpt.h"
#include "model/params.h"

namespace nurture::train {

struct NonFiniteValue {
  std::string name;            // parameter name, e.g. "h.0.attn.c_attn.weight"
  std::vector<int64_t> index;  // element index within that parameter, one entry per dimension
  float value = 0;             // inf, -inf or nan
  int64_t count = 0;           // non-finite elements in the whole buffer
};

// The first non-finite element of `buffer` (laid out like P's flat buffers), if any.
std::optional<NonFiniteValue> first_nonfinite(const model::ParamStore& P, const float* buffer);

// One clause for an error message: "first non-finite parameter: wte[3, 17] = inf (12 of 105472
// values)", the same for gradients when the parameters are finite, or, when both are finite,
// where the largest parameter sits (the forward pass overflowed or the norm did).
std::string describe_nonfinite(const model::ParamStore& P);

// When the parameters are finite but the loss is not, an activation overflowed: re-runs the
// forward pass (no tape, same inputs and dropout key) and names the first activation holding an
// inf or nan, in the order the forward computes them: "first non-finite activation: the input
// of h.1.mlp.c_proj". Empty when every observed activation is finite.
std::string first_nonfinite_activation(model::GPT& gpt, core::Ctx& ctx, const int32_t* ids, int64_t B, int64_t T,
                                       uint64_t dropout_key);

// "wte[3, 17] = inf"
std::string to_string(const NonFiniteValue& v);

}  // namespace nurture::train
