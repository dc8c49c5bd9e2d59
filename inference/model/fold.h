/* fold.h — load-time reparameterization.
 *
 * Training-form branches (conv+BN, BN alone, identity, 1×1 beside k×k,
 * layer scales) are summed into one kernel and bias, in double precision,
 * in PyTorch's [Cout, Cin/groups, KH, KW] layout; mc_kernel_to_conv then
 * re-lays the result for the runtime.  BatchNorm uses running statistics:
 * BN(y) = γ·(y − μ)/√(σ² + ε) + β.
 */
#ifndef MC_MODEL_FOLD_H
#define MC_MODEL_FOLD_H

#include "model/weights.h"
#include "ops/conv.h"

typedef struct {
  int cout, cig, kh, kw;
  double *w;   /* [cout][cig][kh][kw] */
  double *b;   /* [cout] */
} mc_kernel;

void mc_kernel_init (mc_kernel *k, int cout, int cig, int kh, int kw);
void mc_kernel_free (mc_kernel *k);

/* BN parameters read from "<name>.{weight,bias,running_mean,running_var}". */
typedef struct {
  const float *gamma, *beta, *mean, *var;
  int c;
  float eps;
} mc_bn;

void mc_bn_read (mc_weights *w, mc_bn *bn, int c, float eps, const char *name);
/* The per-channel affine form: BN(y) = s·y + t. */
void mc_bn_affine (const mc_bn *bn, int ch, double *s, double *t);

/* k += scale · BN(conv(x; w)) where w is [cout][cig][kh'][kw'], centred in k. */
void mc_kernel_add_conv_bn (mc_kernel *k, const float *w, int kh, int kw,
    const mc_bn *bn, double scale);
/* k += scale · BN(x) (requires cout == cin; identity tap at the centre). */
void mc_kernel_add_bn_identity (mc_kernel *k, const mc_bn *bn, double scale);
/* k += scale · conv(x; w) + scale · bias (bias may be NULL). */
void mc_kernel_add_conv (mc_kernel *k, const float *w, int kh, int kw,
    const float *bias, double scale);
/* k += x (identity). */
void mc_kernel_add_identity (mc_kernel *k);

/* Reads a MobileOne block "<name>.{rbr_skip,rbr_scale,rbr_conv.i}" into k:
 * conv branches (n_conv), optional 1×1 scale branch, optional BN skip. */
void mc_kernel_add_mobileone (mc_kernel *k, mc_weights *w, const char *name,
    int n_conv, int has_scale, int has_skip, float eps);

int mc_kernel_to_conv (const mc_kernel *k, mc_conv *c, int groups, int stride, int pad);

/* For pointwise layers: W as [cout][cin] floats and bias [cout], to pack. */
void mc_kernel_to_matrix (const mc_kernel *k, float *w, float *b);

#endif
