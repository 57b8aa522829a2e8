// The convolution primitives both convolution entry points (conv.cc, fused_conv.cc) run: their parameters,
// checked, and oneDNN primitives created once per shape, pass and thread count, and cached (creating one
// JIT-compiles code). Layouts are tfjs's: activations NHWC, filters HWIO.
#pragma once

#include <vector>

#include "call.h"

namespace mtlzoo {

// n, h, w, cin, ho, wo, cout, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom,
// padRight, threads (0: all)
constexpr int kConvParams = 18;
enum ConvParam { kN, kH, kW, kCin, kHo, kWo, kCout, kKh, kKw, kSh, kSw, kDh, kDw, kTop, kLeft, kBottom, kRight, kThreads };

// Forward; backward data; backward weights; forward adding a bias; the same, then ReLU.
enum ConvPass { kForward, kBackwardData, kBackwardWeights, kForwardBias, kForwardBiasRelu };

// The parameters in argument i, checked: dimensions and strides ≥ 1, pads and threads ≥ 0, and an output
// size that follows from the rest, so that oneDNN reads and writes exactly the tensors' extents.
std::vector<int> convParams(const Call& call, size_t i);

// The tensors of one pass: src [n,h,w,cin], weights [kh,kw,cin,cout], dst [n,ho,wo,cout], bias [cout].
struct ConvTensors {
  float* src;
  float* weights;
  float* dst;
  float* bias;
};

// Reads the tensors' offsets from arguments src, weights, dst (and bias when given) and checks them.
ConvTensors convTensors(const Call& call, const std::vector<int>& p, size_t src, size_t weights, size_t dst,
                        int bias = -1);

// Runs one pass with p[kThreads] threads (0: all).
void runConvolution(ConvPass pass, const std::vector<int>& p, const ConvTensors& t);

}  // namespace mtlzoo
