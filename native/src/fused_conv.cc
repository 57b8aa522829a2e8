// fusedConv(heap, srcOffset, weightsOffset, biasOffset, dstOffset, params: Int32Array(18), relu): inference's
// Conv2D with a per-channel bias added and ReLU applied (relu 1) in the same pass (oneDNN post-op), for a
// convolution with its batch normalisation folded in.
#include "convolution.h"
#include "entry_points.h"

namespace mtlzoo {

napi_value FusedConv(napi_env env, napi_callback_info info) {
  return entry(env, info, "fusedConv", 7, [](Call& call) {
    call.heap(0);
    const std::vector<int> p = convParams(call, 5);
    const ConvPass pass = call.op(6, 2) == 1 ? kForwardBiasRelu : kForwardBias;
    runConvolution(pass, p, convTensors(call, p, 1, 2, 4, 3));
  });
}

}  // namespace mtlzoo
