// What every entry point of the pack shares: reading its arguments from JavaScript, each one checked (op
// codes in range, sizes whole and non-negative, every tensor inside the heap it is said to be in), and
// splitting a loop over the OpenMP threads. A bad argument throws a JavaScript error naming the entry point
// and the argument; nothing is read or written before every check has passed.
#pragma once

#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mtlzoo {

// A bad argument from JavaScript; becomes a JavaScript Error.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Call {
 public:
  // Reads exactly `count` arguments of the call to the entry point `name`.
  Call(napi_env env, napi_callback_info info, const char* name, size_t count);

  // Argument i as an operation code in [0, codes).
  int32_t op(size_t i, int32_t codes) const;
  // Argument i as a whole number in [min, 2^40].
  int64_t size(size_t i, int64_t min = 0) const;
  // Argument i as any number.
  double number(size_t i) const;
  // Argument i as an Int32Array of exactly `length` elements.
  const int32_t* int32s(size_t i, size_t length) const;
  // Argument i as the wasm heap: an ArrayBuffer. Must come before any tensor argument.
  void heap(size_t i);
  // Argument i as the byte offset of `count` float32 values inside the heap: 4-byte aligned, within bounds.
  float* floats(size_t i, int64_t count) const;

  // Raises an ArgumentError naming this entry point.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  napi_env env_;
  const char* name_;
  napi_value argv_[20];
  uint8_t* heap_ = nullptr;
  size_t heapBytes_ = 0;
};

// The product of whole numbers, or an ArgumentError when it exceeds 2^40 (no heap is that large).
int64_t product(const Call& call, std::initializer_list<int64_t> factors);

// Runs `body(call)` for the entry point `name`, turning every exception into a JavaScript Error.
template <typename Body>
napi_value entry(napi_env env, napi_callback_info info, const char* name, size_t count, Body body) {
  try {
    Call call(env, info, name, count);
    body(call);
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, (std::string("mtlzoo native ") + name + ": " + error.what()).c_str());
  }
  return nullptr;
}

// Below this many elements one core finishes in about 0.1 ms, less than waking a second thread can cost
// (measured up to 7 ms when the other core is busy), so loops run on the calling thread.
constexpr int64_t kParallelMin = 1 << 18;

// Calls body(begin, end) for one share of [0, count) on each thread, on all threads when `work` (elements
// touched) is at least kParallelMin, else once on the calling thread.
template <typename Body>
void splitRange(int64_t count, int64_t work, Body body) {
#pragma omp parallel if (work >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    body(count * t / threads, count * (t + 1) / threads);
  }
}

}  // namespace mtlzoo

// The hot loops are compiled for AVX-512 and AVX2 too and picked at load time: the build must not assume
// the machine it runs on.
#if defined(__x86_64__)
#define MTLZOO_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define MTLZOO_CLONES
#endif
