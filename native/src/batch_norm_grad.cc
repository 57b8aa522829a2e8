// batchNormGrad(heap, dy, x, gamma, mean, variance, y, dx, dgamma, dbeta, rows, channels, epsilon, relu): the
// gradient of batchNorm (training mode, through the batch statistics) with respect to x, gamma and beta.
// With g = dy (where y > 0 when relu is 1) and x̂ = (x − mean)/σ:
//   dbeta = Σ g, dgamma = Σ g·x̂, dx = gamma/σ · (g − dbeta/n − x̂·dgamma/n). Two passes over dy and x.
#include <cmath>

#include "call.h"
#include "channels.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

struct Inputs {
  const float *dy, *x, *y, *mean, *invStd;
  int64_t c;
  bool relu;
};

MTLZOO_CLONES void gradientSums(const Inputs& in, int64_t begin, int64_t end, double* sums) {
  const int64_t c = in.c;
  double* sg = sums;
  double* sgx = sums + c;
  for (int64_t r = begin; r < end; r++) {
    const float* dy = in.dy + r * c;
    const float* x = in.x + r * c;
    const float* y = in.y + r * c;
    for (int64_t d = 0; d < c; d++) {
      const float g = in.relu && !(y[d] > 0.0f) ? 0.0f : dy[d];
      sg[d] += g;
      sgx[d] += static_cast<double>(g) * ((x[d] - in.mean[d]) * in.invStd[d]);
    }
  }
}

MTLZOO_CLONES void inputGradient(const Inputs& in, float* dx, int64_t begin, int64_t end, const float* k1,
                                 const float* k2, const float* k3) {
  const int64_t c = in.c;
  for (int64_t r = begin; r < end; r++) {
    const float* dy = in.dy + r * c;
    const float* x = in.x + r * c;
    const float* y = in.y + r * c;
    float* out = dx + r * c;
    for (int64_t d = 0; d < c; d++) {
      const float g = in.relu && !(y[d] > 0.0f) ? 0.0f : dy[d];
      out[d] = k1[d] * (g - k2[d] - (x[d] - in.mean[d]) * k3[d]);
    }
  }
}

}  // namespace

napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  return entry(env, info, "batchNormGrad", 14, [](Call& call) {
    call.heap(0);
    const int64_t rows = call.size(10);
    const int64_t c = call.size(11, 1);
    const double epsilon = call.number(12);
    const bool relu = call.op(13, 2) == 1;
    const int64_t size = product(call, {rows, c});
    const float* dy = call.floats(1, size);
    const float* x = call.floats(2, size);
    const float* gamma = call.floats(3, c);
    const float* mean = call.floats(4, c);
    const float* variance = call.floats(5, c);
    const float* y = call.floats(6, size);
    float* dx = call.floats(7, size);
    float* dgamma = call.floats(8, c);
    float* dbeta = call.floats(9, c);
    std::vector<float> invStd(c), k1(c), k2(c), k3(c);
    for (int64_t d = 0; d < c; d++) invStd[d] = static_cast<float>(1.0 / std::sqrt(variance[d] + epsilon));
    const Inputs in{dy, x, y, mean, invStd.data(), c, relu};
    const std::vector<double> sums =
        channelSums(rows, c, 2, [&](int64_t begin, int64_t end, double* s) { gradientSums(in, begin, end, s); });
    const double n = rows > 0 ? static_cast<double>(rows) : 1.0;
    for (int64_t d = 0; d < c; d++) {
      dbeta[d] = static_cast<float>(sums[d]);
      dgamma[d] = static_cast<float>(sums[c + d]);
      k1[d] = gamma[d] * invStd[d];
      k2[d] = static_cast<float>(sums[d] / n);
      k3[d] = static_cast<float>(sums[c + d] / n * invStd[d]);
    }
    splitRange(rows, size, [&](int64_t begin, int64_t end) {
      inputGradient(in, dx, begin, end, k1.data(), k2.data(), k3.data());
    });
  });
}

}  // namespace mtlzoo
