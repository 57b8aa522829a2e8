// maxPoolGrad(heap, xOffset, dyOffset, dxOffset, n, h, w, c, ho, wo, kh, kw, strideH, strideW, padTop, padLeft):
// dy of each window goes to the window's first maximum (row-major, strict >, padding never a candidate),
// as on the cpu backend, added in window order. Windows overlap, so threads split the batch, not the windows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "call.h"
#include "entry_points.h"
#include "pooling.h"

namespace mtlzoo {
namespace {

// dx of one image; `best` and `at` hold c floats and c indices.
MTLZOO_CLONES void maxPoolGradImage(const float* x, const float* dy, float* dx, const PoolSizes& p, float* best,
                                    int32_t* at) {
  std::fill(dx, dx + p.image(), 0.0f);
  for (int64_t i = 0; i < p.ho; i++) {
    const int64_t r0 = i * p.sh - p.top;
    for (int64_t j = 0; j < p.wo; j++) {
      const int64_t c0 = j * p.sw - p.left;
      std::fill(best, best + p.c, -INFINITY);
      std::fill(at, at + p.c, -1);
      for (int64_t r = std::max<int64_t>(r0, 0); r < std::min(r0 + p.kh, p.h); r++) {
        for (int64_t col = std::max<int64_t>(c0, 0); col < std::min(c0 + p.kw, p.w); col++) {
          const int32_t base = static_cast<int32_t>((r * p.w + col) * p.c);
          const float* xs = x + base;
          // Branch-free so that it vectorises.
          for (int64_t d = 0; d < p.c; d++) {
            const bool greater = xs[d] > best[d];
            best[d] = greater ? xs[d] : best[d];
            at[d] = greater ? base + static_cast<int32_t>(d) : at[d];
          }
        }
      }
      const float* g = dy + (i * p.wo + j) * p.c;
      for (int64_t d = 0; d < p.c; d++)
        if (at[d] >= 0) dx[at[d]] += g[d];
    }
  }
}

}  // namespace

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return entry(env, info, "maxPoolGrad", 16, [](Call& call) {
    call.heap(0);
    const PoolSizes p = poolSizes(call, 4);
    const float* x = call.floats(1, p.n * p.image());
    const float* dy = call.floats(2, p.n * p.outImage());
    float* dx = call.floats(3, p.n * p.image());
    splitRange(p.n, p.n * p.image(), [&](int64_t begin, int64_t end) {
      std::vector<float> best(p.c);
      std::vector<int32_t> at(p.c);
      for (int64_t b = begin; b < end; b++)
        maxPoolGradImage(x + b * p.image(), dy + b * p.outImage(), dx + b * p.image(), p, best.data(), at.data());
    });
  });
}

}  // namespace mtlzoo
