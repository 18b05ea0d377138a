// Autograd tape and the per-forward context every op receives.
//
// Ops run eagerly. When gradients are on, each op allocates its output's gradient buffer
// (zeroed) and records one backward closure, under the op's name, on the tape; Tape::backward()
// replays them in reverse. Parameter gradients accumulate with +=, so micro-batches can be summed
// before a step. With gradients off (evaluation) no closure and no gradient buffer exists.
#pragma once

#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "core/inline_fn.h"
#include "core/tensor.h"

namespace nurture::core {

// Rounds a buffer in place to the storage format of the active precision policy. Core has no
// idea what the format is: precision/ installs the function (dependencies point downwards).
struct RoundFn {
  void (*fn)(float* p, int64_t n, void* user) = nullptr;
  void* user = nullptr;
  void operator()(float* p, int64_t n) const {
    if (fn) fn(p, n, user);
  }
  explicit operator bool() const { return fn != nullptr; }
};

// A row-major GEMM with core::sgemm's contract (see core/gemm.h).
using GemmFn = void (*)(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// What the active precision policy asks of the ops. All-default is plain fp32.
struct OpPrecision {
  // The linear layers' GEMM; null means core::sgemm. The bf16 policy installs the native bf16
  // GEMM (same exact products, fp32 accumulation, another summation order).
  GemmFn gemm = nullptr;
  RoundFn act;             // activations as stored between ops
  RoundFn grad;            // activation gradients as stored between ops
  RoundFn gemm_operand;    // GEMM inputs that are not already stored rounded (e.g. attention probs)
  bool layernorm_fp32 = true;  // false: LayerNorm output also rounded inside (statistics in half)
  bool softmax_fp32 = true;
  bool loss_fp32 = true;
};

using BackwardFn = InlineFn<384>;  // room for four Tensors (72 bytes each) and a few scalars

class Tape {
 public:
  // `out` is the tensor the closure reads the gradient of: its grad is rounded to the storage
  // format right before the closure runs, once all consumers have accumulated into it. `op` names
  // the recording op so that backward time can be attributed to ops (the closures themselves are
  // anonymous); it must outlive the tape, which a string literal does, and is never copied, so
  // naming costs a pointer per entry and no allocation.
  // rounds_own_grad: the closure rounds out's grad itself (with OpPrecision::grad, before it
  // reads it), fused into its own first pass over the buffer; backward() then leaves it alone.
  void record(const Tensor& out, const char* op, BackwardFn fn, bool rounds_own_grad = false);
  // Runs the recorded closures in reverse. The caller seeds the loss gradient first.
  void backward(const OpPrecision& prec);
  void clear() { nodes_.clear(); }
  size_t size() const { return nodes_.size(); }
  // The name entry i (in recording order) was recorded under.
  const char* op_name(size_t i) const { return nodes_[i].op; }

 private:
  struct Node {
    float* out_grad;
    int64_t n;
    const char* op;
    bool rounds_own_grad;
    BackwardFn fn;
  };
  std::vector<Node> nodes_;
};

class Ctx {
 public:
  // tape == nullptr: evaluation, no graph kept.
  Ctx(Arena& acts, Arena& grads, Tape* tape) : acts_(acts), grads_(grads), tape_(tape) {}

  bool grad_enabled() const { return tape_ != nullptr; }
  Tape* tape() { return tape_; }
  // A new activation; it gets a zeroed gradient buffer when gradients are on and `tracked`, or
  // with one_reader (Tensor::one_reader) an unzeroed one that its reader's backward overwrites.
  Tensor make(Shape s, bool tracked = true, bool one_reader = false);
  // The same, with the values stored only as bf16 words (Tensor::words, data null): half the
  // memory and traffic of an fp32 slot holding a bf16 value, and no conversion before the native
  // bf16 GEMM reads it. For ops whose output feeds exactly one linear layer and nothing else, when
  // bf16_words() allows; such a tensor is always one_reader.
  Tensor make_bf16(Shape s, bool tracked = true);
  // True when the policy runs the linears on the native bf16 GEMM, which reads bf16 words directly.
  bool bf16_words() const;
  // Scratch memory that lives until the arena is reset (saved statistics, masks).
  float* scratch(int64_t n) { return acts_.alloc(static_cast<size_t>(n)); }
  // The activation arena, for code that frees what it allocated (Arena::mark / rewind).
  Arena& acts() { return acts_; }
  void record(const Tensor& out, const char* op, BackwardFn fn, bool rounds_own_grad = false) {
    if (tape_) tape_->record(out, op, std::move(fn), rounds_own_grad);
  }

  OpPrecision prec;
  bool training = false;  // dropout active
  int threads = 0;        // 0 = OpenMP default

 private:
  Arena& acts_;
  Arena& grads_;
  Tape* tape_;
};

}  // namespace nurture::core
