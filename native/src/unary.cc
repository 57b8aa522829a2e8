// unary(op, heap, xOffset, outOffset, size, alpha): float32 Relu (op 0), Step (1: 1 above 0, alpha at or
// below) or Square (2), with the cpu backend's NaN behaviour (NaN stays NaN).
#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

enum UnaryOp { kRelu, kStep, kSquare, kUnaryOps };

MTLZOO_CLONES void unaryRange(int op, const float* x, float* out, int64_t begin, int64_t end, float alpha) {
  switch (op) {
    case kRelu:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] < 0.0f ? 0.0f : x[i];
      return;
    case kStep:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] > 0.0f ? 1.0f : (x[i] != x[i] ? x[i] : alpha);
      return;
    default:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] * x[i];
  }
}

}  // namespace

napi_value Unary(napi_env env, napi_callback_info info) {
  return entry(env, info, "unary", 6, [](Call& call) {
    const int op = call.op(0, kUnaryOps);
    call.heap(1);
    const int64_t size = call.size(4);
    const float alpha = static_cast<float>(call.number(5));
    const float* x = call.floats(2, size);
    float* out = call.floats(3, size);
    splitRange(size, size, [&](int64_t begin, int64_t end) { unaryRange(op, x, out, begin, end, alpha); });
  });
}

}  // namespace mtlzoo
