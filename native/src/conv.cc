// conv(pass, heap, srcOffset, weightsOffset, dstOffset, params: Int32Array(18)): Conv2D and its two
// gradients through oneDNN. Pass 0 (forward) reads src and weights, writes dst; 1 (backward data) reads dst
// (dy) and weights, writes src (dx); 2 (backward weights) reads src (x) and dst (dy), writes weights (dW).
#include "convolution.h"
#include "entry_points.h"

namespace mtlzoo {

napi_value Conv(napi_env env, napi_callback_info info) {
  return entry(env, info, "conv", 6, [](Call& call) {
    const ConvPass pass = static_cast<ConvPass>(call.op(0, kBackwardWeights + 1));
    call.heap(1);
    const std::vector<int> p = convParams(call, 5);
    runConvolution(pass, p, convTensors(call, p, 2, 3, 4));
  });
}

}  // namespace mtlzoo
