// scaleShift(heap, x, scale, shift, y, rows, channels, relu): y = x·scale + shift per channel of x seen as
// [rows, channels], and max(y, 0) when relu is 1: batch normalisation in inference mode, one pass.
#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

MTLZOO_CLONES void scaleShiftRows(const float* x, float* y, int64_t begin, int64_t end, int64_t c,
                                  const float* scale, const float* shift, bool relu) {
  for (int64_t r = begin; r < end; r++) {
    const float* in = x + r * c;
    float* out = y + r * c;
    for (int64_t d = 0; d < c; d++) {
      const float v = in[d] * scale[d] + shift[d];
      out[d] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

}  // namespace

napi_value ScaleShift(napi_env env, napi_callback_info info) {
  return entry(env, info, "scaleShift", 8, [](Call& call) {
    call.heap(0);
    const int64_t rows = call.size(5);
    const int64_t c = call.size(6, 1);
    const bool relu = call.op(7, 2) == 1;
    const int64_t size = product(call, {rows, c});
    const float* x = call.floats(1, size);
    const float* scale = call.floats(2, c);
    const float* shift = call.floats(3, c);
    float* y = call.floats(4, size);
    splitRange(rows, size, [&](int64_t begin, int64_t end) { scaleShiftRows(x, y, begin, end, c, scale, shift, relu); });
  });
}

}  // namespace mtlzoo
