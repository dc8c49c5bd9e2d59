/* se.h — squeeze-and-excitation over channels-last maps.
 *
 * gate = sigmoid(W2·relu(W1·mean_hw(x) + b1) + b2); x ← act(x ⊙ gate).
 * Apple's MobileOne SEBlock and timm's SqueezeExcite are the same maths.
 */
#ifndef MC_OPS_SE_H
#define MC_OPS_SE_H

#include "ops/gemm.h"

typedef struct {
  int c, rd;
  float *w1t, *b1;  /* fc1 transposed [c][rd], [rd] */
  float *w2t, *b2;  /* fc2 transposed [rd][c], [c] */
} mc_se;

/* w1 [rd][c] and w2 [c][rd] as PyTorch stores them (1×1 conv weights). */
int mc_se_init (mc_se *se, int c, int rd, const float *w1, const float *b1,
    const float *w2, const float *b2);
void mc_se_free (mc_se *se);

/* In place over n images of hw pixels; scratch holds c + rd floats. */
void mc_se_forward (mc_threadpool *pool, const mc_se *se, float *x, int n, int hw,
    mc_act act, float *scratch);

#endif
