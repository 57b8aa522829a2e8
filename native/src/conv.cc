// conv(op, heap, srcOffset, weightsOffset, dstOffset, params: Int32Array(18)): Conv2D and its two gradients
// through oneDNN. Forward reads src and weights, writes dst; backward data reads dst (dy) and weights,
// writes src (dx); backward weights reads src (x) and dst (dy), writes weights (dW). Layouts are tfjs's:
// activations NHWC, filters HWIO. Primitives are created once per shape and thread count and cached,
// since creating one JIT-compiles code.
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "call.h"
#include "entry_points.h"
#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;

namespace mtlzoo {
namespace {

engine& cpuEngine() {
  static engine eng(engine::kind::cpu, 0);
  return eng;
}

stream& cpuStream() {
  static stream s(cpuEngine());
  return s;
}

// n, h, w, cin, ho, wo, cout, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom,
// padRight, threads (0: all)
constexpr int kParams = 18;
enum Param { kN, kH, kW, kCin, kHo, kWo, kCout, kKh, kKw, kSh, kSw, kDh, kDw, kTop, kLeft, kBottom, kRight, kThreads };
using Key = std::tuple<int, std::vector<int>>;

// The parameters, checked: dimensions and strides ≥ 1, pads and threads ≥ 0, and an output size that
// follows from the rest, so that oneDNN reads and writes exactly the three tensors' extents.
std::vector<int> checkedParams(const Call& call, const int32_t* raw) {
  std::vector<int> p(raw, raw + kParams);
  for (int i = kN; i <= kDw; i++)
    if (p[i] < 1) call.fail("params[" + std::to_string(i) + "] must be at least 1, got " + std::to_string(p[i]));
  for (int i = kTop; i <= kThreads; i++)
    if (p[i] < 0) call.fail("params[" + std::to_string(i) + "] must be at least 0, got " + std::to_string(p[i]));
  const auto out = [](int64_t in, int64_t padA, int64_t padB, int64_t k, int64_t d, int64_t s) {
    return (in + padA + padB - ((k - 1) * d + 1)) / s + 1;
  };
  if (out(p[kH], p[kTop], p[kBottom], p[kKh], p[kDh], p[kSh]) != p[kHo] ||
      out(p[kW], p[kLeft], p[kRight], p[kKw], p[kDw], p[kSw]) != p[kWo])
    call.fail("the output size does not follow from the input size, filter, strides, dilations and pads");
  return p;
}

struct Shapes {
  memory::desc src, weights, dst, userWeights;
  memory::dims strides, dilations, padL, padR;
};

Shapes shapesOf(const std::vector<int>& p) {
  const memory::dim n = p[kN], h = p[kH], w = p[kW], cin = p[kCin], ho = p[kHo], wo = p[kWo], cout = p[kCout];
  Shapes s;
  s.src = memory::desc({n, cin, h, w}, memory::data_type::f32, memory::format_tag::nhwc);
  s.dst = memory::desc({n, cout, ho, wo}, memory::data_type::f32, memory::format_tag::nhwc);
  s.weights = memory::desc({cout, cin, p[kKh], p[kKw]}, memory::data_type::f32, memory::format_tag::any);
  s.userWeights = memory::desc({cout, cin, p[kKh], p[kKw]}, memory::data_type::f32, memory::format_tag::hwio);
  s.strides = {p[kSh], p[kSw]};
  // oneDNN counts dilation from 0 (no dilation), TensorFlow from 1.
  s.dilations = {p[kDh] - 1, p[kDw] - 1};
  s.padL = {p[kTop], p[kLeft]};
  s.padR = {p[kBottom], p[kRight]};
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

enum Op { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

Entry& entryFor(Op op, const std::vector<int>& p) {
  static std::map<Key, Entry> cache;
  Key key{op, p};
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
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
    auto from = op == kBackwardWeights ? e.weights : e.userWeights;
    auto to = op == kBackwardWeights ? e.userWeights : e.weights;
    e.weightsReorder = std::make_unique<reorder>(reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to));
  }
  return cache.emplace(key, std::move(e)).first->second;
}

}  // namespace

napi_value Conv(napi_env env, napi_callback_info info) {
  return entry(env, info, "conv", 6, [](Call& call) {
    const Op op = static_cast<Op>(call.op(0, 3));
    call.heap(1);
    const std::vector<int> p = checkedParams(call, call.int32s(5, kParams));
    float* src = call.floats(2, product(call, {p[kN], p[kH], p[kW], p[kCin]}));
    float* userWeightsData = call.floats(3, product(call, {p[kKh], p[kKw], p[kCin], p[kCout]}));
    float* dst = call.floats(4, product(call, {p[kN], p[kHo], p[kWo], p[kCout]}));
    // Small convolutions run on the calling thread: waking another costs more than it saves. oneDNN sizes its
    // work for the thread count at creation, so the limit covers creation and execution, and is in the key.
    const int allThreads = omp_get_max_threads();
    if (p[kThreads] > 0) omp_set_num_threads(p[kThreads]);
    struct RestoreThreads {
      int threads;
      ~RestoreThreads() { omp_set_num_threads(threads); }
    } restore{allThreads};
    Entry& e = entryFor(op, p);
    memory srcMemory(e.src, cpuEngine(), src);
    memory userWeights(e.userWeights, cpuEngine(), userWeightsData);
    memory dstMemory(e.dst, cpuEngine(), dst);
    memory weights = e.weightsReorder ? memory(e.weights, cpuEngine()) : userWeights;
    stream& s = cpuStream();
    if (op == kForward) {
      if (e.weightsReorder) e.weightsReorder->execute(s, userWeights, weights);
      e.conv.execute(s, {{DNNL_ARG_SRC, srcMemory}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dstMemory}});
    } else if (op == kBackwardData) {
      if (e.weightsReorder) e.weightsReorder->execute(s, userWeights, weights);
      e.conv.execute(s, {{DNNL_ARG_DIFF_SRC, srcMemory}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dstMemory}});
    } else {
      e.conv.execute(s, {{DNNL_ARG_SRC, srcMemory}, {DNNL_ARG_DIFF_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dstMemory}});
      if (e.weightsReorder) e.weightsReorder->execute(s, weights, userWeights);
    }
    s.wait();
  });
}

}  // namespace mtlzoo
