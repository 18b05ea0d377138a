// The GELU variants core::gelu computes. A header of its own so that config/ can name the enum
// without the tensor and graph headers of core/ops.h.
#pragma once

namespace nurture::core {

enum class GeluKind { Tanh, Erf };

}  // namespace nurture::core
