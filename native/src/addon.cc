// mtlzoo native kernel pack: Conv2D and its two gradients through oneDNN, and MaxPool, MaxPoolGrad,
// Relu/Step/Square, element-wise binary ops, leading-axis Tile and leading-axis sums as OpenMP loops (the
// OpenMP runtime oneDNN is built on), all on all cores, reading and writing the tfjs wasm backend's heap in
// place (an ArrayBuffer plus byte offsets).
// Layouts are tfjs's: activations NHWC, filters HWIO. oneDNN primitives are created once per shape and
// cached, since creating one JIT-compiles code.
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;

namespace {

engine& cpuEngine() {
  static engine eng(engine::kind::cpu, 0);
  return eng;
}

stream& cpuStream() {
  static stream s(cpuEngine());
  return s;
}

// n, h, w, cin, ho, wo, cout, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight,
// threads (0: all)
constexpr int kParams = 18;
using Key = std::tuple<int, std::vector<int>>;

struct Shapes {
  memory::desc src, weights, dst, userWeights;
  memory::dims strides, dilations, padL, padR;
};

Shapes shapesOf(const std::vector<int>& p) {
  const memory::dim n = p[0], h = p[1], w = p[2], cin = p[3], ho = p[4], wo = p[5], cout = p[6];
  const memory::dim kh = p[7], kw = p[8];
  Shapes s;
  s.src = memory::desc({n, cin, h, w}, memory::data_type::f32, memory::format_tag::nhwc);
  s.dst = memory::desc({n, cout, ho, wo}, memory::data_type::f32, memory::format_tag::nhwc);
  s.weights = memory::desc({cout, cin, kh, kw}, memory::data_type::f32, memory::format_tag::any);
  s.userWeights = memory::desc({cout, cin, kh, kw}, memory::data_type::f32, memory::format_tag::hwio);
  s.strides = {p[9], p[10]};
  // oneDNN counts dilation from 0 (no dilation), TensorFlow from 1.
  s.dilations = {p[11] - 1, p[12] - 1};
  s.padL = {p[13], p[14]};
  s.padR = {p[15], p[16]};
  return s;
}

convolution_forward::primitive_desc forwardDesc(const Shapes& s) {
  convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, s.src, s.weights,
                              s.dst, s.strides, s.dilations, s.padL, s.padR);
  return convolution_forward::primitive_desc(d, cpuEngine());
}

// One cached primitive with the weight reorder it needs between tfjs's HWIO and oneDNN's preferred layout.
struct Entry {
  primitive conv;
  memory::desc weights;  // oneDNN's layout
  memory::desc userWeights;
  std::unique_ptr<reorder> weightsReorder;  // HWIO → oneDNN (forward, backward data) or back (weights)
  memory::desc src, dst;
};

std::map<Key, Entry>& cache() {
  static std::map<Key, Entry> c;
  return c;
}

enum Op { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

Entry& entryFor(Op op, const std::vector<int>& p) {
  Key key{op, p};
  auto found = cache().find(key);
  if (found != cache().end()) return found->second;
  Shapes s = shapesOf(p);
  auto fwd = forwardDesc(s);
  Entry e;
  e.src = s.src;
  e.dst = s.dst;
  e.userWeights = s.userWeights;
  if (op == kForward) {
    e.conv = convolution_forward(fwd);
    e.weights = fwd.weights_desc();
  } else if (op == kBackwardData) {
    convolution_backward_data::desc d(algorithm::convolution_direct, s.src, s.weights, s.dst, s.strides,
                                      s.dilations, s.padL, s.padR);
    convolution_backward_data::primitive_desc pd(d, cpuEngine(), fwd);
    e.conv = convolution_backward_data(pd);
    e.weights = pd.weights_desc();
  } else {
    convolution_backward_weights::desc d(algorithm::convolution_direct, s.src, s.weights, s.dst, s.strides,
                                         s.dilations, s.padL, s.padR);
    convolution_backward_weights::primitive_desc pd(d, cpuEngine(), fwd);
    e.conv = convolution_backward_weights(pd);
    e.weights = pd.diff_weights_desc();
  }
  if (e.weights != e.userWeights) {
    e.weightsReorder = op == kBackwardWeights
                           ? std::make_unique<reorder>(reorder::primitive_desc(cpuEngine(), e.weights, cpuEngine(), e.userWeights))
                           : std::make_unique<reorder>(reorder::primitive_desc(cpuEngine(), e.userWeights, cpuEngine(), e.weights));
  }
  return cache().emplace(key, std::move(e)).first->second;
}

napi_value fail(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

// conv(op, heap: ArrayBuffer, srcOffset, weightsOffset, dstOffset, params: Int32Array(17))
// Forward reads src and weights, writes dst; backward data reads dst (dy) and weights, writes src (dx);
// backward weights reads src (x) and dst (dy), writes weights (dW).
napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 6) return fail(env, "conv: expected 6 arguments");
  int32_t op;
  napi_get_value_int32(env, argv[0], &op);
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[1], &heap, &heapBytes) != napi_ok) return fail(env, "conv: heap");
  int64_t offsets[3];
  for (int i = 0; i < 3; i++) napi_get_value_int64(env, argv[2 + i], &offsets[i]);
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, argv[5], &type, &length, &data, &buffer, &byteOffset) != napi_ok ||
      type != napi_int32_array || length != kParams)
    return fail(env, "conv: params must be an Int32Array of 18");
  const int32_t* raw = static_cast<const int32_t*>(data);
  std::vector<int> p(raw, raw + kParams);
  auto base = static_cast<uint8_t*>(heap);
  // Small convolutions run on the calling thread: waking another costs more than it saves. oneDNN sizes its
  // work for the thread count at creation, so the limit covers creation and execution, and is in the key.
  const int allThreads = omp_get_max_threads();
  if (p[17] > 0) omp_set_num_threads(p[17]);
  struct RestoreThreads {
    int threads;
    ~RestoreThreads() { omp_set_num_threads(threads); }
  } restore{allThreads};
  try {
    Entry& e = entryFor(static_cast<Op>(op), p);
    memory src(e.src, cpuEngine(), base + offsets[0]);
    memory userWeights(e.userWeights, cpuEngine(), base + offsets[1]);
    memory dst(e.dst, cpuEngine(), base + offsets[2]);
    memory weights = e.weightsReorder ? memory(e.weights, cpuEngine()) : userWeights;
    stream& s = cpuStream();
    if (op == kForward) {
      if (e.weightsReorder) e.weightsReorder->execute(s, userWeights, weights);
      e.conv.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    } else if (op == kBackwardData) {
      if (e.weightsReorder) e.weightsReorder->execute(s, userWeights, weights);
      e.conv.execute(s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dst}});
    } else {
      e.conv.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dst}});
      if (e.weightsReorder) e.weightsReorder->execute(s, weights, userWeights);
    }
    s.wait();
  } catch (const dnnl::error& err) {
    return fail(env, err.what());
  }
  return nullptr;
}

// Reads argv[first..first+count) as byte offsets into the heap in argv[heapArg]; false if any is not a number.
bool heapPointers(napi_env env, napi_value* argv, int heapArg, int first, int count, uint8_t** out) {
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[heapArg], &heap, &heapBytes) != napi_ok) return false;
  for (int i = 0; i < count; i++) {
    int64_t offset;
    if (napi_get_value_int64(env, argv[first + i], &offset) != napi_ok) return false;
    out[i] = static_cast<uint8_t*>(heap) + offset;
  }
  return true;
}

bool int64Args(napi_env env, napi_value* argv, int first, int count, int64_t* out) {
  for (int i = 0; i < count; i++)
    if (napi_get_value_int64(env, argv[first + i], &out[i]) != napi_ok) return false;
  return true;
}

// The hot loops are compiled for AVX-512 and AVX2 too and picked at load time: the build must not assume
// the machine it runs on. They take one thread's share; OpenMP regions around them split the work.
#if defined(__x86_64__)
#define MTLZOO_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define MTLZOO_CLONES
#endif

// Below this many elements one core finishes in about 0.1 ms, less than waking a second thread can cost
// (measured up to 7 ms when the other core is busy), so the loops run on the calling thread.
constexpr int64_t kParallelMin = 1 << 18;

// dx of one image: dy of each window goes to the window's first maximum (row-major, strict >, padding never a
// candidate), as on the cpu backend, added in window order. `best` and `at` hold c floats and c indices.
MTLZOO_CLONES void maxPoolGradImage(const float* x, const float* dy, float* dx, const int64_t* p, float* best,
                                    int32_t* at) {
  const int64_t h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5], kh = p[6], kw = p[7];
  const int64_t sh = p[8], sw = p[9], top = p[10], left = p[11];
  std::fill(dx, dx + h * w * c, 0.0f);
  for (int64_t i = 0; i < ho; i++) {
    const int64_t r0 = i * sh - top;
    for (int64_t j = 0; j < wo; j++) {
      const int64_t c0 = j * sw - left;
      std::fill(best, best + c, -INFINITY);
      std::fill(at, at + c, -1);
      for (int64_t r = std::max<int64_t>(r0, 0); r < std::min(r0 + kh, h); r++) {
        for (int64_t col = std::max<int64_t>(c0, 0); col < std::min(c0 + kw, w); col++) {
          const int32_t base = static_cast<int32_t>((r * w + col) * c);
          const float* xs = x + base;
          // Branch-free so that it vectorises.
          for (int64_t d = 0; d < c; d++) {
            const bool greater = xs[d] > best[d];
            best[d] = greater ? xs[d] : best[d];
            at[d] = greater ? base + static_cast<int32_t>(d) : at[d];
          }
        }
      }
      const float* g = dy + (i * wo + j) * c;
      for (int64_t d = 0; d < c; d++)
        if (at[d] >= 0) dx[at[d]] += g[d];
    }
  }
}

// maxPoolGrad(heap, xOffset, dyOffset, dxOffset, n, h, w, c, ho, wo, kh, kw, strideH, strideW, padTop, padLeft)
// Windows overlap, so threads split the batch, not the windows.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[3];
  int64_t p[12];
  if (argc != 16 || !heapPointers(env, argv, 0, 1, 3, ptr) || !int64Args(env, argv, 4, 12, p))
    return fail(env, "maxPoolGrad: expected heap, 3 offsets and 12 sizes");
  const float* x = reinterpret_cast<const float*>(ptr[0]);
  const float* dy = reinterpret_cast<const float*>(ptr[1]);
  float* dx = reinterpret_cast<float*>(ptr[2]);
  const int64_t n = p[0], image = p[1] * p[2] * p[3], dyImage = p[4] * p[5] * p[3];
#pragma omp parallel if (n * image >= kParallelMin)
  {
    std::vector<float> best(p[3]);
    std::vector<int32_t> at(p[3]);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < n; b++)
      maxPoolGradImage(x + b * image, dy + b * dyImage, dx + b * image, p, best.data(), at.data());
  }
  return nullptr;
}

// Max of each window (strict >, padding never a candidate), as on the cpu backend, for one image.
MTLZOO_CLONES void maxPoolImage(const float* x, float* y, const int64_t* p) {
  const int64_t h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5], kh = p[6], kw = p[7];
  const int64_t sh = p[8], sw = p[9], top = p[10], left = p[11];
  for (int64_t i = 0; i < ho; i++) {
    const int64_t r0 = i * sh - top;
    for (int64_t j = 0; j < wo; j++) {
      const int64_t c0 = j * sw - left;
      float* best = y + (i * wo + j) * c;
      std::fill(best, best + c, -INFINITY);
      for (int64_t r = std::max<int64_t>(r0, 0); r < std::min(r0 + kh, h); r++) {
        for (int64_t col = std::max<int64_t>(c0, 0); col < std::min(c0 + kw, w); col++) {
          const float* xs = x + (r * w + col) * c;
          for (int64_t d = 0; d < c; d++) best[d] = xs[d] > best[d] ? xs[d] : best[d];
        }
      }
    }
  }
}

// maxPool(heap, xOffset, yOffset, n, h, w, c, ho, wo, kh, kw, strideH, strideW, padTop, padLeft)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[2];
  int64_t p[12];
  if (argc != 15 || !heapPointers(env, argv, 0, 1, 2, ptr) || !int64Args(env, argv, 3, 12, p))
    return fail(env, "maxPool: expected heap, 2 offsets and 12 sizes");
  const float* x = reinterpret_cast<const float*>(ptr[0]);
  float* y = reinterpret_cast<float*>(ptr[1]);
  const int64_t n = p[0], image = p[1] * p[2] * p[3], yImage = p[4] * p[5] * p[3];
#pragma omp parallel for schedule(static) if (n * image >= kParallelMin)
  for (int64_t b = 0; b < n; b++) maxPoolImage(x + b * image, y + b * yImage, p);
  return nullptr;
}

enum UnaryOp { kRelu = 0, kStep = 1, kSquare = 2 };

// out[i] = op(x[i]) for i in [begin, end), with the cpu backend's NaN behaviour (NaN stays NaN).
MTLZOO_CLONES void unaryRange(int op, const float* x, float* out, int64_t begin, int64_t end, float alpha) {
  switch (op) {
    case kRelu:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] < 0.0f ? 0.0f : x[i];
      return;
    case kStep:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] > 0.0f ? 1.0f : (x[i] != x[i] ? x[i] : alpha);
      return;
    default:
      for (int64_t i = begin; i < end; i++) out[i] = x[i] * x[i];
  }
}

// unary(op, heap, xOffset, outOffset, size, alpha): float32 Relu, Step (alpha below 0) or Square.
napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[2];
  int64_t size;
  int32_t op;
  double alpha;
  if (argc != 6 || napi_get_value_int32(env, argv[0], &op) != napi_ok || op < kRelu || op > kSquare ||
      !heapPointers(env, argv, 1, 2, 2, ptr) || !int64Args(env, argv, 4, 1, &size) ||
      napi_get_value_double(env, argv[5], &alpha) != napi_ok)
    return fail(env, "unary: expected op 0-2, heap, 2 offsets, size, alpha");
  const float* x = reinterpret_cast<const float*>(ptr[0]);
  float* out = reinterpret_cast<float*>(ptr[1]);
#pragma omp parallel if (size >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    unaryRange(op, x, out, size * t / threads, size * (t + 1) / threads, static_cast<float>(alpha));
  }
  return nullptr;
}

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

template <typename F>
inline void binarySegments(const float* full, const float* small, float* out, int64_t begin, int64_t end,
                           int64_t period, F f) {
  if (period == 1) {
    const float s = small[0];
    for (int64_t i = begin; i < end; i++) out[i] = f(full[i], s);
    return;
  }
  // A period segment at a time so that the inner loop vectorises.
  for (int64_t i = begin; i < end;) {
    const int64_t j = i % period, len = std::min(period - j, end - i);
    for (int64_t k = 0; k < len; k++) out[i + k] = f(full[i + k], small[j + k]);
    i += len;
  }
}

// out[i] = op(full[i], small[i % period]) for i in [begin, end), operands swapped when smallFirst.
MTLZOO_CLONES void binaryRange(int op, bool smallFirst, const float* full, const float* small, float* out,
                               int64_t begin, int64_t end, int64_t period) {
  const auto run = [&](auto f) {
    if (smallFirst)
      binarySegments(full, small, out, begin, end, period, [f](float a, float b) { return f(b, a); });
    else
      binarySegments(full, small, out, begin, end, period, f);
  };
  switch (op) {
    case kAdd:
      return run([](float a, float b) { return a + b; });
    case kSub:
      return run([](float a, float b) { return a - b; });
    case kMul:
      return run([](float a, float b) { return a * b; });
    default:
      return run([](float a, float b) { return a / b; });
  }
}

// binary(op, heap, fullOffset, smallOffset, outOffset, size, period, smallFirst)
// Float32 Add/Sub/Mul/Div of a full-shape operand with one that repeats every `period` elements (a
// trailing-shape broadcast: per-channel, scalar, or equal shapes with period = size).
napi_value Binary(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[3];
  int64_t p[3];
  int32_t op;
  if (argc != 8 || napi_get_value_int32(env, argv[0], &op) != napi_ok || op < kAdd || op > kDiv ||
      !heapPointers(env, argv, 1, 2, 3, ptr) || !int64Args(env, argv, 5, 3, p) || p[1] < 1)
    return fail(env, "binary: expected op 0-3, heap, 3 offsets, size, period, smallFirst");
  const float* full = reinterpret_cast<const float*>(ptr[0]);
  const float* small = reinterpret_cast<const float*>(ptr[1]);
  float* out = reinterpret_cast<float*>(ptr[2]);
  const int64_t size = p[0];
#pragma omp parallel if (size >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    binaryRange(op, p[2] != 0, full, small, out, size * t / threads, size * (t + 1) / threads, p[1]);
  }
  return nullptr;
}

// out[i] = x[i % period] for i in [begin, end).
MTLZOO_CLONES void repeatRange(const float* x, float* out, int64_t begin, int64_t end, int64_t period) {
  for (int64_t i = begin; i < end;) {
    const int64_t j = i % period, len = std::min(period - j, end - i);
    std::copy(x + j, x + j + len, out + i);
    i += len;
  }
}

// repeat(heap, xOffset, outOffset, size, period): a Tile that repeats x along leading axes (broadcastTo).
napi_value Repeat(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[2];
  int64_t p[2];
  if (argc != 5 || !heapPointers(env, argv, 0, 1, 2, ptr) || !int64Args(env, argv, 3, 2, p) || p[1] < 1)
    return fail(env, "repeat: expected heap, 2 offsets, size, period");
  const float* x = reinterpret_cast<const float*>(ptr[0]);
  float* out = reinterpret_cast<float*>(ptr[1]);
  const int64_t size = p[0];
#pragma omp parallel if (size >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    repeatRange(x, out, size * t / threads, size * (t + 1) / threads, p[1]);
  }
  return nullptr;
}

// Adds rows [begin, end) of a [rows, cols] matrix into `total`. Float32 partial sums over short blocks of
// rows vectorise; adding each block into double keeps long columns accurate.
MTLZOO_CLONES void sumBand(const float* x, int64_t begin, int64_t end, int64_t cols, float* block, double* total) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = begin; r0 < end; r0 += kBlock) {
    std::fill(block, block + cols, 0.0f);
    for (int64_t r = r0; r < std::min(r0 + kBlock, end); r++) {
      const float* row = x + r * cols;
      for (int64_t col = 0; col < cols; col++) block[col] += row[col];
    }
    for (int64_t col = 0; col < cols; col++) total[col] += block[col];
  }
}

// sumRows(heap, xOffset, outOffset, rows, cols, divisor): out[c] = Σ_r x[r, c] / divisor, the batch
// statistics' reduction over leading axes.
napi_value SumRows(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint8_t* ptr[2];
  int64_t p[3];
  if (argc != 6 || !heapPointers(env, argv, 0, 1, 2, ptr) || !int64Args(env, argv, 3, 3, p))
    return fail(env, "sumRows: expected heap, 2 offsets, rows, cols, divisor");
  const float* x = reinterpret_cast<const float*>(ptr[0]);
  float* out = reinterpret_cast<float*>(ptr[1]);
  const int64_t rows = p[0], cols = p[1];
  // One band per thread, added in thread order afterwards so that results do not depend on scheduling.
  const int64_t maxThreads = omp_get_max_threads();
  std::vector<double> bands(maxThreads * cols, 0.0);
#pragma omp parallel if (rows * cols >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    std::vector<float> block(cols);
    sumBand(x, rows * t / threads, rows * (t + 1) / threads, cols, block.data(), bands.data() + t * cols);
  }
  std::vector<double> total(cols, 0.0);
  for (int64_t t = 0; t < maxThreads; t++)
    for (int64_t col = 0; col < cols; col++) total[col] += bands[t * cols + col];
  for (int64_t col = 0; col < cols; col++) out[col] = static_cast<float>(total[col] / static_cast<double>(p[2]));
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const std::pair<const char*, napi_callback> functions[] = {
      {"conv", Conv},     {"maxPool", MaxPool}, {"maxPoolGrad", MaxPoolGrad}, {"unary", Unary},
      {"binary", Binary}, {"repeat", Repeat},   {"sumRows", SumRows}};
  for (const auto& [name, callback] : functions) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
