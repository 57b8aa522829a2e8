#include "call.h"

#include <cmath>

namespace mtlzoo {

namespace {
constexpr int64_t kMaxSize = int64_t{1} << 40;
}

Call::Call(napi_env env, napi_callback_info info, const char* name, size_t count) : env_(env), name_(name) {
  if (count > sizeof(argv_) / sizeof(argv_[0])) fail("too many arguments declared");
  size_t argc = sizeof(argv_) / sizeof(argv_[0]);
  if (napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr) != napi_ok) fail("cannot read the arguments");
  if (argc != count) fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(argc));
}

void Call::fail(const std::string& what) const { throw ArgumentError(what); }

double Call::number(size_t i) const {
  double value;
  if (napi_get_value_double(env_, argv_[i], &value) != napi_ok)
    fail("argument " + std::to_string(i) + " must be a number");
  return value;
}

int64_t Call::size(size_t i, int64_t min) const {
  const double value = number(i);
  if (!(value >= static_cast<double>(min) && value <= static_cast<double>(kMaxSize)) || std::floor(value) != value)
    fail("argument " + std::to_string(i) + " must be a whole number in [" + std::to_string(min) + ", 2^40], got " +
         std::to_string(value));
  return static_cast<int64_t>(value);
}

int32_t Call::op(size_t i, int32_t codes) const {
  const int64_t code = size(i);
  if (code >= codes) fail("operation code " + std::to_string(code) + " is not in [0, " + std::to_string(codes) + ")");
  return static_cast<int32_t>(code);
}

const int32_t* Call::int32s(size_t i, size_t length) const {
  napi_typedarray_type type;
  size_t actual;
  void* data;
  napi_value buffer;
  size_t byteOffset;
  if (napi_get_typedarray_info(env_, argv_[i], &type, &actual, &data, &buffer, &byteOffset) != napi_ok ||
      type != napi_int32_array || actual != length)
    fail("argument " + std::to_string(i) + " must be an Int32Array of " + std::to_string(length));
  return static_cast<const int32_t*>(data);
}

void Call::heap(size_t i) {
  void* data = nullptr;
  if (napi_get_arraybuffer_info(env_, argv_[i], &data, &heapBytes_) != napi_ok)
    fail("argument " + std::to_string(i) + " must be the wasm heap (an ArrayBuffer)");
  heap_ = static_cast<uint8_t*>(data);
}

float* Call::floats(size_t i, int64_t count) const {
  if (heap_ == nullptr) fail("no heap before argument " + std::to_string(i));
  const int64_t offset = size(i);
  const int64_t bytes = count * static_cast<int64_t>(sizeof(float));
  if (offset % alignof(float) != 0 || offset + bytes > static_cast<int64_t>(heapBytes_))
    fail("argument " + std::to_string(i) + ": " + std::to_string(count) + " floats at byte offset " +
         std::to_string(offset) + " do not lie inside the heap of " + std::to_string(heapBytes_) + " bytes");
  return reinterpret_cast<float*>(heap_ + offset);
}

int64_t product(const Call& call, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (const int64_t f : factors) {
    if (f != 0 && p > kMaxSize / f) call.fail("a tensor size exceeds 2^40 elements");
    p *= f;
  }
  return p;
}

}  // namespace mtlzoo
