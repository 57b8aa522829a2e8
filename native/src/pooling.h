// The sizes both max-pooling entry points take, read and checked once.
#pragma once

#include "call.h"

namespace mtlzoo {

struct PoolSizes {
  int64_t n, h, w, c, ho, wo, kh, kw, sh, sw, top, left;
  int64_t image() const { return h * w * c; }
  int64_t outImage() const { return ho * wo * c; }
};

// Arguments first..first+11: n, h, w, c, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft.
// Windows are clamped to the input, so any output size reads only inside x.
inline PoolSizes poolSizes(const Call& call, size_t first) {
  PoolSizes p{};
  int64_t* fields[] = {&p.n, &p.h, &p.w, &p.c, &p.ho, &p.wo, &p.kh, &p.kw, &p.sh, &p.sw, &p.top, &p.left};
  for (size_t i = 0; i < 12; i++) *fields[i] = call.size(first + i, i < 10 ? 1 : 0);
  // One image's offsets are int32 in the gradient's loop.
  if (product(call, {p.h, p.w, p.c}) >= (int64_t{1} << 31)) call.fail("an image exceeds 2^31 elements");
  product(call, {p.n, p.h, p.w, p.c});
  product(call, {p.n, p.ho, p.wo, p.c});
  return p;
}

}  // namespace mtlzoo
