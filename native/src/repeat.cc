// repeat(heap, xOffset, outOffset, size, period): out[i] = x[i % period], a Tile that repeats x along
// leading axes (broadcastTo).
#include <algorithm>

#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

MTLZOO_CLONES void repeatRange(const float* x, float* out, int64_t begin, int64_t end, int64_t period) {
  for (int64_t i = begin; i < end;) {
    const int64_t j = i % period, len = std::min(period - j, end - i);
    std::copy(x + j, x + j + len, out + i);
    i += len;
  }
}

}  // namespace

napi_value Repeat(napi_env env, napi_callback_info info) {
  return entry(env, info, "repeat", 5, [](Call& call) {
    call.heap(0);
    const int64_t size = call.size(3);
    const int64_t period = call.size(4, 1);
    const float* x = call.floats(1, period);
    float* out = call.floats(2, size);
    splitRange(size, size, [&](int64_t begin, int64_t end) { repeatRange(x, out, begin, end, period); });
  });
}

}  // namespace mtlzoo
