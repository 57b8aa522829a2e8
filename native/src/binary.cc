// binary(op, heap, fullOffset, smallOffset, outOffset, size, period, smallFirst): float32 Add (op 0), Sub
// (1), Mul (2) or Div (3) of a full-shape operand with one that repeats every `period` elements (a
// trailing-shape broadcast: per-channel, scalar, or equal shapes with period = size); the operands swap
// places when smallFirst is 1.
#include <algorithm>

#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

enum BinaryOp { kAdd, kSub, kMul, kDiv, kBinaryOps };

template <typename F>
inline void binarySegments(const float* full, const float* small, float* out, int64_t begin, int64_t end,
                           int64_t period, F f) {
  if (period == 1) {
    const float s = small[0];
    for (int64_t i = begin; i < end; i++) out[i] = f(full[i], s);
    return;
  }
  // A period segment at a time so that the inner loop vectorises.
  for (int64_t i = begin; i < end;) {
    const int64_t j = i % period, len = std::min(period - j, end - i);
    for (int64_t k = 0; k < len; k++) out[i + k] = f(full[i + k], small[j + k]);
    i += len;
  }
}

MTLZOO_CLONES void binaryRange(int op, bool smallFirst, const float* full, const float* small, float* out,
                               int64_t begin, int64_t end, int64_t period) {
  const auto run = [&](auto f) {
    if (smallFirst)
      binarySegments(full, small, out, begin, end, period, [f](float a, float b) { return f(b, a); });
    else
      binarySegments(full, small, out, begin, end, period, f);
  };
  switch (op) {
    case kAdd:
      return run([](float a, float b) { return a + b; });
    case kSub:
      return run([](float a, float b) { return a - b; });
    case kMul:
      return run([](float a, float b) { return a * b; });
    default:
      return run([](float a, float b) { return a / b; });
  }
}

}  // namespace

napi_value Binary(napi_env env, napi_callback_info info) {
  return entry(env, info, "binary", 8, [](Call& call) {
    const int op = call.op(0, kBinaryOps);
    call.heap(1);
    const int64_t size = call.size(5);
    const int64_t period = call.size(6, 1);
    const bool smallFirst = call.op(7, 2) == 1;
    const float* full = call.floats(2, size);
    const float* small = call.floats(3, period);
    float* out = call.floats(4, size);
    splitRange(size, size, [&](int64_t begin, int64_t end) {
      binaryRange(op, smallFirst, full, small, out, begin, end, period);
    });
  });
}

}  // namespace mtlzoo
