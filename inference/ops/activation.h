/* activation.h — scalar activations for the small ops (the exact GELU is
 * vectorized in the GEMM: mc_gelu_inplace in gemm.h). */
#ifndef MC_OPS_ACTIVATION_H
#define MC_OPS_ACTIVATION_H

#include <math.h>

static inline float
mc_sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

#endif
