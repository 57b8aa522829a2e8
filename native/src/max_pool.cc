// maxPool(heap, xOffset, yOffset, n, h, w, c, ho, wo, kh, kw, strideH, strideW, padTop, padLeft): the max of
// each window (strict >, padding never a candidate; −∞ for a window wholly in the padding), as on the cpu
// backend. Threads split the batch.
#include <algorithm>
#include <cmath>

#include "call.h"
#include "entry_points.h"
#include "pooling.h"

namespace mtlzoo {
namespace {

MTLZOO_CLONES void maxPoolImage(const float* x, float* y, const PoolSizes& p) {
  for (int64_t i = 0; i < p.ho; i++) {
    const int64_t r0 = i * p.sh - p.top;
    for (int64_t j = 0; j < p.wo; j++) {
      const int64_t c0 = j * p.sw - p.left;
      float* best = y + (i * p.wo + j) * p.c;
      std::fill(best, best + p.c, -INFINITY);
      for (int64_t r = std::max<int64_t>(r0, 0); r < std::min(r0 + p.kh, p.h); r++) {
        for (int64_t col = std::max<int64_t>(c0, 0); col < std::min(c0 + p.kw, p.w); col++) {
          const float* xs = x + (r * p.w + col) * p.c;
          for (int64_t d = 0; d < p.c; d++) best[d] = xs[d] > best[d] ? xs[d] : best[d];
        }
      }
    }
  }
}

}  // namespace

napi_value MaxPool(napi_env env, napi_callback_info info) {
  return entry(env, info, "maxPool", 15, [](Call& call) {
    call.heap(0);
    const PoolSizes p = poolSizes(call, 3);
    const float* x = call.floats(1, p.n * p.image());
    float* y = call.floats(2, p.n * p.outImage());
    splitRange(p.n, p.n * p.image(), [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; b++) maxPoolImage(x + b * p.image(), y + b * p.outImage(), p);
    });
  });
}

}  // namespace mtlzoo
