/* conv.h — direct convolutions over channels-last activations.
 *
 * Activations are [N, H, W, C] float.  Weights are re-laid once at load from
 * PyTorch's [Cout, Cin/groups, KH, KW] into the layouts below, so the inner
 * loops run over contiguous channels.  Padding is zero; output size is
 * (H + 2·pad − K) / stride + 1.  Pointwise (1×1) convs are GEMMs (gemm.h).
 */
#ifndef MC_OPS_CONV_H
#define MC_OPS_CONV_H

#include "ops/gemm.h"
#include "runtime/threadpool.h"

typedef struct {
  int cin, cout, groups;       /* cin/groups inputs feed cout/groups outputs */
  int kh, kw, stride_h, stride_w, pad_h, pad_w;
  float *weight;               /* [KH][KW][Cin/groups][Cout]: tap-major, out channel innermost */
  float *bias;                 /* [Cout] */
} mc_conv;

/* Re-lays a PyTorch weight [Cout, Cin/groups, KH, KW] (bias may be NULL →
 * zeros).  Returns 0, or -1 when out of memory. */
int mc_conv_init (mc_conv *c, const float *w_oihw, const float *bias,
    int cin, int cout, int groups, int kh, int kw, int stride, int pad);
void mc_conv_free (mc_conv *c);

static inline int
mc_conv_out_size (int in, int k, int stride, int pad)
{
  return (in + 2 * pad - k) / stride + 1;
}

/* out [N, Ho, Wo, Cout] = act(conv(in) + bias) (+ residual [N,Ho,Wo,Cout],
 * which may alias out only when it equals in's shape and in != out). */
void mc_conv_forward (mc_threadpool *pool, const mc_conv *c, const float *in,
    int n, int h, int w, float *out, mc_act act);

/* Output rows [oy0, oy1) of one image in [h, w, cin], written to out as
 * [oy1 − oy0, wo, cout], on the calling thread: the same values as those
 * rows of mc_conv_forward.  For callers that split the work themselves. */
void mc_conv_rows (const mc_conv *c, const float *in, int h, int w, int oy0,
    int oy1, float *out, mc_act act);

#endif
