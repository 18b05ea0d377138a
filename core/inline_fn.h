// A move-only `void()` callable stored inline (no heap), for backward closures on the tape.
// std::function would allocate for any capture larger than two pointers, i.e. once per op per step.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace nurture::core {

template <size_t Capacity>
class InlineFn {
 public:
  InlineFn() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InlineFn>>>
  InlineFn(F&& f) {  // NOLINT: implicit by design, like std::function
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= Capacity, "backward closure too large: capture less or raise Capacity");
    static_assert(alignof(Fn) <= alignof(std::max_align_t));
    new (buf_) Fn(std::forward<F>(f));
    call_ = [](void* p) { (*static_cast<Fn*>(p))(); };
    ops_ = [](void* dst, void* src) {
      if (dst) new (dst) Fn(std::move(*static_cast<Fn*>(src)));
      static_cast<Fn*>(src)->~Fn();
    };
  }
  InlineFn(InlineFn&& o) noexcept { take(o); }
  InlineFn& operator=(InlineFn&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  InlineFn(const InlineFn&) = delete;
  InlineFn& operator=(const InlineFn&) = delete;
  ~InlineFn() { reset(); }

  void operator()() { call_(buf_); }
  explicit operator bool() const { return call_ != nullptr; }

 private:
  void take(InlineFn& o) {
    if (!o.call_) return;
    o.ops_(buf_, o.buf_);
    call_ = o.call_;
    ops_ = o.ops_;
    o.call_ = nullptr;
    o.ops_ = nullptr;
  }
  void reset() {
    if (ops_) ops_(nullptr, buf_);
    call_ = nullptr;
    ops_ = nullptr;
  }
  alignas(std::max_align_t) unsigned char buf_[Capacity];
  void (*call_)(void*) = nullptr;
  void (*ops_)(void*, void*) = nullptr;  // move-construct into dst (if non-null), then destroy src
};

}  // namespace nurture::core
