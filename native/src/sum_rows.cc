// sumRows(heap, xOffset, outOffset, rows, cols, divisor): out[c] = Σ_r x[r, c] / divisor over a [rows, cols]
// view of x (the batch statistics' reduction over leading axes). Summed in double, so that a sum of whole
// numbers is exact wherever float32 can hold the result.
#include <vector>

#include "call.h"
#include "entry_points.h"

namespace mtlzoo {
namespace {

// Adds rows [begin, end) of a [rows, cols] matrix into `total`.
MTLZOO_CLONES void sumBand(const float* x, int64_t begin, int64_t end, int64_t cols, double* total) {
  for (int64_t r = begin; r < end; r++) {
    const float* row = x + r * cols;
    for (int64_t col = 0; col < cols; col++) total[col] += row[col];
  }
}

}  // namespace

napi_value SumRows(napi_env env, napi_callback_info info) {
  return entry(env, info, "sumRows", 6, [](Call& call) {
    call.heap(0);
    const int64_t rows = call.size(3);
    const int64_t cols = call.size(4);
    const double divisor = call.number(5);
    const float* x = call.floats(1, product(call, {rows, cols}));
    float* out = call.floats(2, cols);
    // One band per thread, added in thread order afterwards so that results do not depend on scheduling.
    const int64_t maxThreads = omp_get_max_threads();
    std::vector<double> bands(maxThreads * cols, 0.0);
    splitRange(rows, rows * cols, [&](int64_t begin, int64_t end) {
      sumBand(x, begin, end, cols, bands.data() + omp_get_thread_num() * cols);
    });
    for (int64_t col = 0; col < cols; col++) {
      double total = 0.0;
      for (int64_t t = 0; t < maxThreads; t++) total += bands[t * cols + col];
      out[col] = static_cast<float>(total / divisor);
    }
  });
}

}  // namespace mtlzoo
