#include "core/graph.h"

#include "core/gemm_bf16.h"

namespace nurture::core {

void Tape::record(const Tensor& out, const char* op, BackwardFn fn, bool rounds_own_grad) {
  nodes_.push_back(Node{out.grad, out.numel(), op, rounds_own_grad, std::move(fn)});
}

void Tape::backward(const OpPrecision& prec) {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    if (it->out_grad && !it->rounds_own_grad) prec.grad(it->out_grad, it->n);
    it->fn();
  }
}

Tensor Ctx::make(Shape s, bool tracked, bool one_reader) {
  Tensor t;
  t.shape = s;
  t.data = acts_.alloc(static_cast<size_t>(s.numel()));
  t.one_reader = one_reader;
  // An unzeroed gradient saves a memset, and its reader a read, of every such buffer every step.
  const size_t n = static_cast<size_t>(s.numel());
  if (tape_ && tracked) t.grad = one_reader ? grads_.alloc(n) : grads_.alloc_zero(n);
  return t;
}

Tensor Ctx::make_bf16(Shape s, bool tracked) {
  Tensor t;
  t.shape = s;
  // Two words per float slot of the arena (which keeps 64-byte alignment).
  t.words = reinterpret_cast<uint16_t*>(acts_.alloc(static_cast<size_t>(s.numel() + 1) / 2));
  t.one_reader = true;
  if (tape_ && tracked) t.grad = grads_.alloc(static_cast<size_t>(s.numel()));
  return t;
}

bool Ctx::bf16_words() const { return prec.gemm == gemm_bf16; }

}  // namespace nurture::core
