/* activation.h — elementwise activations shared by the kernels. */
#ifndef MC_OPS_ACTIVATION_H
#define MC_OPS_ACTIVATION_H

#include <math.h>

/* Exact GELU, x·Φ(x), as torch.nn.GELU() (approximate='none'). */
static inline float
mc_gelu (float x)
{
  return 0.5f * x * (1.0f + erff (x * 0.70710678118654752440f));
}

static inline float
mc_sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

#endif
