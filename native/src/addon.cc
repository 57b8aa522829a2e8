// mtlzoo native kernel pack: Conv2D, its two gradients and inference's Conv2D with bias and ReLU through
// oneDNN; MaxPool, MaxPoolGrad, Relu/Step/Square, element-wise binary ops, leading-axis Tile and sums, batch
// normalisation (training forward and backward, inference) and Adam's update as OpenMP loops (the OpenMP
// runtime oneDNN is built on). All read and write the tfjs wasm backend's heap in place (an ArrayBuffer plus
// byte offsets). Each entry point lives in the file of its name; call.h reads and checks their arguments.
#include <utility>

#include "entry_points.h"

namespace mtlzoo {
namespace {

napi_value Init(napi_env env, napi_value exports) {
  const std::pair<const char*, napi_callback> functions[] = {
      {"conv", Conv},     {"fusedConv", FusedConv},     {"maxPool", MaxPool}, {"maxPoolGrad", MaxPoolGrad}, {"unary", Unary},
      {"binary", Binary}, {"repeat", Repeat},   {"sumRows", SumRows},         {"batchNorm", BatchNorm},
      {"batchNormGrad", BatchNormGrad},         {"scaleShift", ScaleShift},
      {"adamUpdate", AdamUpdate}};
  for (const auto& [name, callback] : functions) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  return exports;
}

}  // namespace
}  // namespace mtlzoo

NAPI_MODULE(NODE_GYP_MODULE_NAME, mtlzoo::Init)
