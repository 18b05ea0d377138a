#include "core/graph.h"

namespace nurture::core {

void Tape::record(const Tensor& out, const char* op, BackwardFn fn) {
  nodes_.push_back(Node{out.grad, out.numel(), op, std::move(fn)});
}

void Tape::backward(const OpPrecision& prec) {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    if (it->out_grad) prec.grad(it->out_grad, it->n);
    it->fn();
  }
}

Tensor Ctx::make(Shape s, bool tracked) {
  Tensor t;
  t.shape = s;
  t.data = acts_.alloc(static_cast<size_t>(s.numel()));
  if (tape_ && tracked) t.grad = grads_.alloc_zero(static_cast<size_t>(s.numel()));
  return t;
}

}  // namespace nurture::core
