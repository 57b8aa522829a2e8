// mtlzoo native kernel pack: Conv2D and its two gradients through oneDNN, on all cores, reading and
// writing the tfjs wasm backend's heap in place (an ArrayBuffer plus byte offsets). Layouts are tfjs's:
// activations NHWC, filters HWIO. oneDNN primitives are created once per shape and cached, since creating
// one JIT-compiles code.
#include <node_api.h>

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

// n, h, w, cin, ho, wo, cout, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight
constexpr int kParams = 17;
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
    return fail(env, "conv: params must be an Int32Array of 17");
  const int32_t* raw = static_cast<const int32_t*>(data);
  std::vector<int> p(raw, raw + kParams);
  auto base = static_cast<uint8_t*>(heap);
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

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "conv", NAPI_AUTO_LENGTH, Conv, nullptr, &fn);
  napi_set_named_property(env, exports, "conv", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
