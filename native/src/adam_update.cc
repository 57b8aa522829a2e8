// adamUpdate(heap, value, gradient, m, v, correction, newValue, newM, newV, size, learningRate, beta1, beta2,
// epsilon): one Adam step of one variable in one pass, in tfjs's order of operations:
//   m' = m·β1 + g·(1−β1), v' = v·β2 + g²·(1−β2), w' = (m'/c1) / (√(v'/c2) + ε) · (−lr) + w
// with correction = [c1, c2] = [1 − β1^t, 1 − β2^t].
#include <cmath>

#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

struct Hyper {
  float lr, beta1, beta2, epsilon, c1, c2;
};

MTLZOO_CLONES void adamRange(const float* w, const float* g, const float* m, const float* v, float* w1, float* m1,
                             float* v1, int64_t begin, int64_t end, Hyper h) {
  const float keep1 = 1.0f - h.beta1, keep2 = 1.0f - h.beta2;
  for (int64_t i = begin; i < end; i++) {
    const float nm = m[i] * h.beta1 + g[i] * keep1;
    const float nv = v[i] * h.beta2 + g[i] * g[i] * keep2;
    m1[i] = nm;
    v1[i] = nv;
    w1[i] = (nm / h.c1) / (std::sqrt(nv / h.c2) + h.epsilon) * -h.lr + w[i];
  }
}

}  // namespace

napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  return entry(env, info, "adamUpdate", 14, [](Call& call) {
    call.heap(0);
    const int64_t size = call.size(9);
    const float* w = call.floats(1, size);
    const float* g = call.floats(2, size);
    const float* m = call.floats(3, size);
    const float* v = call.floats(4, size);
    const float* correction = call.floats(5, 2);
    float* w1 = call.floats(6, size);
    float* m1 = call.floats(7, size);
    float* v1 = call.floats(8, size);
    const Hyper h{static_cast<float>(call.number(10)), static_cast<float>(call.number(11)),
                  static_cast<float>(call.number(12)), static_cast<float>(call.number(13)), correction[0],
                  correction[1]};
    splitRange(size, size, [&](int64_t begin, int64_t end) { adamRange(w, g, m, v, w1, m1, v1, begin, end, h); });
  });
}

}  // namespace mtlzoo
