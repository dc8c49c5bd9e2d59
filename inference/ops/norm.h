/* norm.h — layer normalization over the channel axis of token rows.
 *
 * Each row of D floats becomes (x − mean) / √(var + eps), with the biased
 * variance, as torch.nn.LayerNorm (and Apple's LayerNormFP32, which only
 * casts to float32 first) computes it.  The affine part is optional: layers
 * whose output feeds a linear layer have γ and β folded into that layer's
 * weights at load, so they pass NULL.
 */
#ifndef MC_OPS_NORM_H
#define MC_OPS_NORM_H

#include "runtime/threadpool.h"

/* out[r] = LN(x[r]) · gamma + beta for r in 0..rows−1.  x and out have row
 * strides ldx and ldo (floats) and may be the same buffer; gamma and beta
 * are [D] or NULL (1 and 0).  Rows are split over the pool. */
void mc_layer_norm (mc_threadpool *pool, int rows, int D, const float *x,
    int ldx, const float *gamma, const float *beta, float eps, float *out,
    int ldo);

#endif
