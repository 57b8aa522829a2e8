// batchNorm(heap, x, gamma, beta, y, mean, variance, rows, channels, epsilon, relu): batch normalisation over
// the rows of x seen as [rows, channels], training mode: mean and (biased) variance of each channel, then
// y = (x − mean)·gamma/√(variance + epsilon) + beta, and max(y, 0) when relu is 1. Two passes over x.
#include <algorithm>
#include <cmath>

#include "call.h"
#include "channels.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

// Sums of x − shift and of its square per channel: shifting by one sample of each channel keeps the
// variance accurate when the mean is large against the spread.
MTLZOO_CLONES void shiftedSums(const float* x, const float* shift, int64_t begin, int64_t end, int64_t c,
                               double* sums) {
  double* s1 = sums;
  double* s2 = sums + c;
  for (int64_t r = begin; r < end; r++) {
    const float* row = x + r * c;
    for (int64_t d = 0; d < c; d++) {
      const double v = static_cast<double>(row[d]) - shift[d];
      s1[d] += v;
      s2[d] += v * v;
    }
  }
}

MTLZOO_CLONES void normalise(const float* x, float* y, int64_t begin, int64_t end, int64_t c, const float* mean,
                             const float* scale, const float* beta, bool relu) {
  for (int64_t r = begin; r < end; r++) {
    const float* in = x + r * c;
    float* out = y + r * c;
    for (int64_t d = 0; d < c; d++) {
      const float v = (in[d] - mean[d]) * scale[d] + beta[d];
      out[d] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

}  // namespace

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return entry(env, info, "batchNorm", 11, [](Call& call) {
    call.heap(0);
    const int64_t rows = call.size(7);
    const int64_t c = call.size(8, 1);
    const double epsilon = call.number(9);
    const bool relu = call.op(10, 2) == 1;
    const int64_t size = product(call, {rows, c});
    const float* x = call.floats(1, size);
    const float* gamma = call.floats(2, c);
    const float* beta = call.floats(3, c);
    float* y = call.floats(4, size);
    float* mean = call.floats(5, c);
    float* variance = call.floats(6, c);
    std::vector<float> shift(c, 0.0f), scale(c);
    if (rows > 0) std::copy(x, x + c, shift.begin());
    const std::vector<double> sums = channelSums(rows, c, 2, [&](int64_t begin, int64_t end, double* s) {
      shiftedSums(x, shift.data(), begin, end, c, s);
    });
    for (int64_t d = 0; d < c; d++) {
      // The mean of no rows is 0, as the cpu backend's.
      const double n = rows > 0 ? static_cast<double>(rows) : 1.0;
      const double m1 = sums[d] / n;
      const double var = std::max(sums[c + d] / n - m1 * m1, 0.0);
      mean[d] = static_cast<float>(shift[d] + m1);
      variance[d] = static_cast<float>(var);
      scale[d] = static_cast<float>(gamma[d] / std::sqrt(var + epsilon));
    }
    splitRange(rows, size, [&](int64_t begin, int64_t end) {
      normalise(x, y, begin, end, c, mean, scale.data(), beta, relu);
    });
  });
}

}  // namespace mtlzoo
