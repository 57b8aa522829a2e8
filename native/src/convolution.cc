#include "convolution.h"

#include <map>
#include <memory>
#include <tuple>

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

struct Shapes {
  memory::desc src, weights, dst, userWeights, bias;
  memory::dims strides, dilations, padL, padR;
};

Shapes shapesOf(const std::vector<int>& p) {
  const memory::dim n = p[kN], h = p[kH], w = p[kW], cin = p[kCin], ho = p[kHo], wo = p[kWo], cout = p[kCout];
  Shapes s;
  s.src = memory::desc({n, cin, h, w}, memory::data_type::f32, memory::format_tag::nhwc);
  s.dst = memory::desc({n, cout, ho, wo}, memory::data_type::f32, memory::format_tag::nhwc);
  s.weights = memory::desc({cout, cin, p[kKh], p[kKw]}, memory::data_type::f32, memory::format_tag::any);
  s.userWeights = memory::desc({cout, cin, p[kKh], p[kKw]}, memory::data_type::f32, memory::format_tag::hwio);
  s.bias = memory::desc({cout}, memory::data_type::f32, memory::format_tag::x);
  s.strides = {p[kSh], p[kSw]};
  // oneDNN counts dilation from 0 (no dilation), TensorFlow from 1.
  s.dilations = {p[kDh] - 1, p[kDw] - 1};
  s.padL = {p[kTop], p[kLeft]};
  s.padR = {p[kBottom], p[kRight]};
  return s;
}

convolution_forward::primitive_desc forwardDesc(const Shapes& s, ConvPass pass) {
  if (pass == kForwardBias || pass == kForwardBiasRelu) {
    convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, s.src, s.weights,
                                s.bias, s.dst, s.strides, s.dilations, s.padL, s.padR);
    primitive_attr attr;
    if (pass == kForwardBiasRelu) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    return convolution_forward::primitive_desc(d, attr, cpuEngine());
  }
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
  memory::desc src, dst, bias;
};

Entry& entryFor(ConvPass pass, const std::vector<int>& p) {
  static std::map<std::tuple<int, std::vector<int>>, Entry> cache;
  const auto key = std::make_tuple(static_cast<int>(pass), p);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  Shapes s = shapesOf(p);
  auto fwd = forwardDesc(s, pass == kBackwardData || pass == kBackwardWeights ? kForward : pass);
  Entry e;
  e.src = s.src;
  e.dst = s.dst;
  e.bias = s.bias;
  e.userWeights = s.userWeights;
  if (pass == kBackwardData) {
    convolution_backward_data::desc d(algorithm::convolution_direct, s.src, s.weights, s.dst, s.strides,
                                      s.dilations, s.padL, s.padR);
    convolution_backward_data::primitive_desc pd(d, cpuEngine(), fwd);
    e.conv = convolution_backward_data(pd);
    e.weights = pd.weights_desc();
  } else if (pass == kBackwardWeights) {
    convolution_backward_weights::desc d(algorithm::convolution_direct, s.src, s.weights, s.dst, s.strides,
                                         s.dilations, s.padL, s.padR);
    convolution_backward_weights::primitive_desc pd(d, cpuEngine(), fwd);
    e.conv = convolution_backward_weights(pd);
    e.weights = pd.diff_weights_desc();
  } else {
    e.conv = convolution_forward(fwd);
    e.weights = fwd.weights_desc();
  }
  if (e.weights != e.userWeights) {
    auto from = pass == kBackwardWeights ? e.weights : e.userWeights;
    auto to = pass == kBackwardWeights ? e.userWeights : e.weights;
    e.weightsReorder = std::make_unique<reorder>(reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to));
  }
  return cache.emplace(key, std::move(e)).first->second;
}

}  // namespace

std::vector<int> convParams(const Call& call, size_t i) {
  const int32_t* raw = call.int32s(i, kConvParams);
  std::vector<int> p(raw, raw + kConvParams);
  for (int j = kN; j <= kDw; j++)
    if (p[j] < 1) call.fail("params[" + std::to_string(j) + "] must be at least 1, got " + std::to_string(p[j]));
  for (int j = kTop; j <= kThreads; j++)
    if (p[j] < 0) call.fail("params[" + std::to_string(j) + "] must be at least 0, got " + std::to_string(p[j]));
  const auto out = [](int64_t in, int64_t padA, int64_t padB, int64_t k, int64_t d, int64_t s) {
    return (in + padA + padB - ((k - 1) * d + 1)) / s + 1;
  };
  if (out(p[kH], p[kTop], p[kBottom], p[kKh], p[kDh], p[kSh]) != p[kHo] ||
      out(p[kW], p[kLeft], p[kRight], p[kKw], p[kDw], p[kSw]) != p[kWo])
    call.fail("the output size does not follow from the input size, filter, strides, dilations and pads");
  return p;
}

ConvTensors convTensors(const Call& call, const std::vector<int>& p, size_t src, size_t weights, size_t dst,
                        int bias) {
  ConvTensors t{};
  t.src = call.floats(src, product(call, {p[kN], p[kH], p[kW], p[kCin]}));
  t.weights = call.floats(weights, product(call, {p[kKh], p[kKw], p[kCin], p[kCout]}));
  t.dst = call.floats(dst, product(call, {p[kN], p[kHo], p[kWo], p[kCout]}));
  if (bias >= 0) t.bias = call.floats(bias, p[kCout]);
  return t;
}

void runConvolution(ConvPass pass, const std::vector<int>& p, const ConvTensors& t) {
  // Small convolutions run on the calling thread: waking another costs more than it saves. oneDNN sizes its
  // work for the thread count at creation, so the limit covers creation and execution, and is in the key.
  const int allThreads = omp_get_max_threads();
  if (p[kThreads] > 0) omp_set_num_threads(p[kThreads]);
  struct RestoreThreads {
    int threads;
    ~RestoreThreads() { omp_set_num_threads(threads); }
  } restore{allThreads};
  Entry& e = entryFor(pass, p);
  memory src(e.src, cpuEngine(), t.src);
  memory userWeights(e.userWeights, cpuEngine(), t.weights);
  memory dst(e.dst, cpuEngine(), t.dst);
  memory weights = e.weightsReorder ? memory(e.weights, cpuEngine()) : userWeights;
  stream& s = cpuStream();
  if (pass == kBackwardWeights) {
    e.conv.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dst}});
    if (e.weightsReorder) e.weightsReorder->execute(s, weights, userWeights);
  } else {
    if (e.weightsReorder) e.weightsReorder->execute(s, userWeights, weights);
    if (pass == kBackwardData) {
      e.conv.execute(s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, dst}});
    } else if (pass == kForward) {
      e.conv.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    } else {
      memory bias(e.bias, cpuEngine(), t.bias);
      e.conv.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    }
  }
  s.wait();
}

}  // namespace mtlzoo
