// mtlzoo native exact search: k nearest gallery rows of each query by squared L2 distance, as blocked matrix
// products (oneDNN's sgemm) followed by a partial top-k per query (a bounded max-heap with a threshold test;
// nothing is sorted but the k kept). Its own addon (mtlzoo_search.node), independent of the kernel pack.
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

namespace {

// Query rows × gallery rows per matrix product: a 256 × 1024 float block of scores (1 MiB) stays in a core's
// L2 while its top-k pass reads it.
constexpr int64_t kQueryBlock = 256;
constexpr int64_t kGalleryBlock = 1024;

#if defined(__x86_64__)
#define MTLZOO_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define MTLZOO_CLONES
#endif

// The k best (distance, index) of one query as a max-heap on (distance, index): the root is the worst kept.
struct TopK {
  float* dist;
  int32_t* index;
  int64_t k;
  int64_t size = 0;

  bool worse(int64_t a, int64_t b) const {
    return dist[a] > dist[b] || (dist[a] == dist[b] && index[a] > index[b]);
  }
  void siftDown(int64_t i) {
    for (;;) {
      int64_t largest = i;
      const int64_t l = 2 * i + 1, r = l + 1;
      if (l < size && worse(l, largest)) largest = l;
      if (r < size && worse(r, largest)) largest = r;
      if (largest == i) return;
      std::swap(dist[i], dist[largest]);
      std::swap(index[i], index[largest]);
      i = largest;
    }
  }
  void siftUp(int64_t i) {
    while (i > 0) {
      const int64_t parent = (i - 1) / 2;
      if (!worse(i, parent)) return;
      std::swap(dist[i], dist[parent]);
      std::swap(index[i], index[parent]);
      i = parent;
    }
  }
  // Candidates arrive in increasing index order, so an equal distance never displaces a kept one.
  float threshold() const { return size < k ? std::numeric_limits<float>::infinity() : dist[0]; }
  void push(float d, int32_t i) {
    if (size < k) {
      dist[size] = d;
      index[size] = i;
      siftUp(size++);
    } else {
      dist[0] = d;
      index[0] = i;
      siftDown(0);
    }
  }
  // Ascending by (distance, index), in place.
  void sort() {
    std::vector<std::pair<float, int32_t>> pairs(size);
    for (int64_t i = 0; i < size; i++) pairs[i] = {dist[i], index[i]};
    std::sort(pairs.begin(), pairs.end());
    for (int64_t i = 0; i < size; i++) {
      dist[i] = pairs[i].first;
      index[i] = pairs[i].second;
    }
  }
};

// Offers one query's distances to gallery rows [first, first + n): ‖g‖² − 2·q·g (‖q‖² is added at the end).
MTLZOO_CLONES void offerRow(const float* scores, const float* norms, int64_t first, int64_t n, TopK& top) {
  float threshold = top.threshold();
  for (int64_t j = 0; j < n; j++) {
    const float d = norms[first + j] - 2.0f * scores[j];
    if (d < threshold) {
      top.push(d, static_cast<int32_t>(first + j));
      threshold = top.threshold();
    }
  }
}

// Kept distances ‖g‖² − 2·q·g become ‖q − g‖², sorted, with −1 / +∞ in the slots nothing filled.
void finish(const float* query, int64_t dim, TopK& top) {
  float qq = 0;
  for (int64_t j = 0; j < dim; j++) qq += query[j] * query[j];
  top.sort();
  for (int64_t j = 0; j < top.size; j++) top.dist[j] = std::max(0.0f, top.dist[j] + qq);
  for (int64_t j = top.size; j < top.k; j++) {
    top.dist[j] = std::numeric_limits<float>::infinity();
    top.index[j] = -1;
  }
}

// Queries [q0, q1) against the whole gallery on the calling thread.
void searchQueries(const float* gallery, const float* norms, int64_t n, const float* queries, int64_t dim, int64_t k,
                   int64_t q0, int64_t q1, float* outDist, int32_t* outIndex) {
  std::vector<float> scores(kQueryBlock * kGalleryBlock);
  for (int64_t qb = q0; qb < q1; qb += kQueryBlock) {
    const int64_t qn = std::min(kQueryBlock, q1 - qb);
    std::vector<TopK> tops;
    tops.reserve(qn);
    for (int64_t i = 0; i < qn; i++) tops.push_back(TopK{outDist + (qb + i) * k, outIndex + (qb + i) * k, k});
    for (int64_t gb = 0; gb < n; gb += kGalleryBlock) {
      const int64_t gn = std::min(kGalleryBlock, n - gb);
      // scores[qn × gn] = queries[qb..] · gallery[gb..]ᵀ, row-major.
      dnnl_sgemm('N', 'T', qn, gn, dim, 1.0f, queries + qb * dim, dim, gallery + gb * dim, dim, 0.0f, scores.data(),
                 gn);
      for (int64_t i = 0; i < qn; i++) offerRow(scores.data() + i * gn, norms, gb, gn, tops[i]);
    }
    for (int64_t i = 0; i < qn; i++) finish(queries + (qb + i) * dim, dim, tops[i]);
  }
}

// scores[qn × gn] = queries · gallery[first..first + gn)ᵀ by plain dot products: with a handful of queries
// the search is bound by reading the gallery, which this reads once, row by row.
MTLZOO_CLONES void scoreRows(const float* gallery, int64_t first, int64_t gn, const float* queries, int64_t qn,
                             int64_t dim, float* scores) {
  for (int64_t j = 0; j < gn; j++) {
    const float* row = gallery + (first + j) * dim;
    for (int64_t i = 0; i < qn; i++) {
      const float* q = queries + i * dim;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t d = 0; d < dim; d++) s += q[d] * row[d];
      scores[i * gn + j] = s;
    }
  }
}

// A few queries (what a server asks, one request at a time): threads split the gallery instead of the
// queries, each keeps its own k best per query, and the shares are merged on the calling thread.
void searchFewQueries(const float* gallery, const float* norms, int64_t n, const float* queries, int64_t dim,
                      int64_t k, int64_t q, int64_t team, float* outDist, int32_t* outIndex) {
  // Each thread's candidates: [thread][query][k].
  std::vector<float> dist(team * q * k);
  std::vector<int32_t> index(team * q * k);
  std::vector<int64_t> kept(team * q);
#pragma omp parallel num_threads(team)
  {
    const int64_t t = omp_get_thread_num(), size = omp_get_num_threads();
    // Shares start on block boundaries, so every thread's blocks are whole but the gallery's last.
    const int64_t blocks = (n + kGalleryBlock - 1) / kGalleryBlock;
    const int64_t g0 = std::min(n, blocks * t / size * kGalleryBlock);
    const int64_t g1 = std::min(n, blocks * (t + 1) / size * kGalleryBlock);
    std::vector<float> scores(q * kGalleryBlock);
    std::vector<TopK> tops;
    tops.reserve(q);
    for (int64_t i = 0; i < q; i++) tops.push_back(TopK{&dist[(t * q + i) * k], &index[(t * q + i) * k], k});
    for (int64_t gb = g0; gb < g1; gb += kGalleryBlock) {
      const int64_t gn = std::min(kGalleryBlock, g1 - gb);
      scoreRows(gallery, gb, gn, queries, q, dim, scores.data());
      for (int64_t i = 0; i < q; i++) offerRow(scores.data() + i * gn, norms, gb, gn, tops[i]);
    }
    for (int64_t i = 0; i < q; i++) kept[t * q + i] = tops[i].size;
  }
  for (int64_t i = 0; i < q; i++) {
    TopK top{outDist + i * k, outIndex + i * k, k};
    // Shares cover increasing index ranges, but a heap holds its share in no order: a candidate tying the
    // worst kept one displaces it when its index is smaller, as in a single pass.
    for (int64_t t = 0; t < team; t++) {
      for (int64_t c = 0; c < kept[t * q + i]; c++) {
        const float d = dist[(t * q + i) * k + c];
        const int32_t at = index[(t * q + i) * k + c];
        if (top.size < k || d < top.dist[0] || (d == top.dist[0] && at < top.index[0])) top.push(d, at);
      }
    }
    finish(queries + i * dim, dim, top);
  }
}

napi_value fail(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

template <typename T>
bool typedArray(napi_env env, napi_value value, napi_typedarray_type expected, T** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t byteOffset;
  void* raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &byteOffset) != napi_ok ||
      type != expected)
    return false;
  *data = static_cast<T*>(raw);
  return true;
}

// exactSearch(gallery: Float32Array [n·dim], norms: Float32Array [n], queries: Float32Array [q·dim], dim, k,
//             outDist: Float32Array [q·k], outIndex: Int32Array [q·k], threads)
// Rows past the gallery's end are reported as index −1 at distance +∞. threads 0: all.
napi_value ExactSearch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const char* usage =
      "exactSearch: expected gallery, norms, queries (Float32Array), dim, k, outDist (Float32Array), outIndex "
      "(Int32Array), threads with consistent sizes";
  if (argc != 8) return fail(env, usage);
  float *gallery, *norms, *queries, *outDist;
  int32_t* outIndex;
  size_t galleryLength, normsLength, queriesLength, distLength, indexLength;
  int64_t dim, k, threads;
  if (!typedArray(env, argv[0], napi_float32_array, &gallery, &galleryLength) ||
      !typedArray(env, argv[1], napi_float32_array, &norms, &normsLength) ||
      !typedArray(env, argv[2], napi_float32_array, &queries, &queriesLength) ||
      napi_get_value_int64(env, argv[3], &dim) != napi_ok || napi_get_value_int64(env, argv[4], &k) != napi_ok ||
      !typedArray(env, argv[5], napi_float32_array, &outDist, &distLength) ||
      !typedArray(env, argv[6], napi_int32_array, &outIndex, &indexLength) ||
      napi_get_value_int64(env, argv[7], &threads) != napi_ok || dim < 1 || k < 1)
    return fail(env, usage);
  const int64_t n = static_cast<int64_t>(normsLength), q = static_cast<int64_t>(queriesLength) / dim;
  if (static_cast<int64_t>(galleryLength) != n * dim || static_cast<int64_t>(queriesLength) != q * dim ||
      static_cast<int64_t>(distLength) != q * k || static_cast<int64_t>(indexLength) != q * k ||
      n > std::numeric_limits<int32_t>::max())
    return fail(env, usage);
  const int64_t want = threads > 0 ? threads : omp_get_max_threads();
  // Fewer queries than threads (or one query, which sends sgemm down a path a hundred times slower than two
  // rows): split the gallery instead.
  if (q < std::max<int64_t>(want, 2)) {
    searchFewQueries(gallery, norms, n, queries, dim, k, q, std::max<int64_t>(1, want), outDist, outIndex);
    return nullptr;
  }
  // Each thread takes a contiguous share of the queries; the sgemm inside runs on that thread alone.
  const int64_t team = std::max<int64_t>(1, std::min(want, q));
#pragma omp parallel num_threads(team)
  {
    const int64_t t = omp_get_thread_num(), size = omp_get_num_threads();
    searchQueries(gallery, norms, n, queries, dim, k, q * t / size, q * (t + 1) / size, outDist, outIndex);
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "exactSearch", NAPI_AUTO_LENGTH, ExactSearch, nullptr, &fn);
  napi_set_named_property(env, exports, "exactSearch", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
