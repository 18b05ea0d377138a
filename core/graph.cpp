#include "core/graph.h"

#include "core/gemm_bf16.h"

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

Tensor Ctx::make_bf16(Shape s, bool tracked) {
  Tensor t;
  t.shape = s;
  // Two words per float slot of the arena (which keeps 64-byte alignment).
  t.words = reinterpret_cast<uint16_t*>(acts_.alloc(static_cast<size_t>(s.numel() + 1) / 2));
  // Not zeroed: the one linear that reads the tensor writes its gradient whole (ops_linear.cpp).
  if (tape_ && tracked) t.grad = grads_.alloc(static_cast<size_t>(s.numel()));
  return t;
}

bool Ctx::bf16_words() const { return prec.gemm == gemm_bf16; }

}  // namespace nurture::core
