// Per-channel sums over the rows of a [rows, channels] tensor (every leading axis of an NHWC activation is a
// row), in double, one band of rows per thread, added in thread order so that results do not depend on
// scheduling.
#pragma once

#include <vector>

#include "call.h"

namespace mtlzoo {

// Calls rowSums(begin, end, sums) on each thread's band of rows with `values` zeroed doubles per channel,
// then returns their per-thread totals added up: values × channels doubles.
template <typename RowSums>
std::vector<double> channelSums(int64_t rows, int64_t channels, int values, RowSums rowSums) {
  const int64_t maxThreads = omp_get_max_threads();
  const int64_t width = values * channels;
  std::vector<double> bands(maxThreads * width, 0.0);
  splitRange(rows, rows * channels, [&](int64_t begin, int64_t end) {
    rowSums(begin, end, bands.data() + omp_get_thread_num() * width);
  });
  std::vector<double> total(width, 0.0);
  for (int64_t t = 0; t < maxThreads; t++)
    for (int64_t i = 0; i < width; i++) total[i] += bands[t * width + i];
  return total;
}

}  // namespace mtlzoo
