// The pack's entry points, one file each (native/src/<name>.cc), registered by name in addon.cc.
#pragma once

#include <node_api.h>

namespace mtlzoo {

napi_value Conv(napi_env env, napi_callback_info info);
napi_value FusedConv(napi_env env, napi_callback_info info);
napi_value MaxPool(napi_env env, napi_callback_info info);
napi_value MaxPoolGrad(napi_env env, napi_callback_info info);
napi_value Unary(napi_env env, napi_callback_info info);
napi_value Binary(napi_env env, napi_callback_info info);
napi_value Repeat(napi_env env, napi_callback_info info);
napi_value SumRows(napi_env env, napi_callback_info info);
napi_value BatchNorm(napi_env env, napi_callback_info info);
napi_value BatchNormGrad(napi_env env, napi_callback_info info);
napi_value ScaleShift(napi_env env, napi_callback_info info);
napi_value AdamUpdate(napi_env env, napi_callback_info info);

}  // namespace mtlzoo
