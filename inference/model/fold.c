/* fold.c — see fold.h. */
#include "fold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
mc_kernel_init (mc_kernel *k, int cout, int cig, int kh, int kw)
{
  k->cout = cout;
  k->cig = cig;
  k->kh = kh;
  k->kw = kw;
  k->w = calloc ((size_t) cout * cig * kh * kw, sizeof (double));
  k->b = calloc ((size_t) cout, sizeof (double));
}

void
mc_kernel_free (mc_kernel *k)
{
  free (k->w);
  free (k->b);
  k->w = k->b = NULL;
}

void
mc_bn_read (mc_weights *w, mc_bn *bn, int c, float eps, const char *name)
{
  bn->c = c;
  bn->eps = eps;
  bn->gamma = mc_weights_get (w, MC_SHAPE (c), "%s.weight", name);
  bn->beta = mc_weights_get (w, MC_SHAPE (c), "%s.bias", name);
  bn->mean = mc_weights_get (w, MC_SHAPE (c), "%s.running_mean", name);
  bn->var = mc_weights_get (w, MC_SHAPE (c), "%s.running_var", name);
  mc_weights_skip (w, "%s.num_batches_tracked", name);
}

void
mc_bn_affine (const mc_bn *bn, int ch, double *s, double *t)
{
  double inv = 1.0 / sqrt ((double) bn->var[ch] + (double) bn->eps);
  *s = (double) bn->gamma[ch] * inv;
  *t = (double) bn->beta[ch] - (double) bn->mean[ch] * (double) bn->gamma[ch] * inv;
}

static inline double *
tap (mc_kernel *k, int o, int i, int y, int x)
{
  return &k->w[(((size_t) o * k->cig + i) * k->kh + y) * k->kw + x];
}

void
mc_kernel_add_conv_bn (mc_kernel *k, const float *w, int kh, int kw,
    const mc_bn *bn, double scale)
{
  const int oy = (k->kh - kh) / 2, ox = (k->kw - kw) / 2;
  for (int o = 0; o < k->cout; o++) {
    double s, t;
    mc_bn_affine (bn, o, &s, &t);
    for (int i = 0; i < k->cig; i++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          *tap (k, o, i, y + oy, x + ox) +=
              scale * s * w[(((size_t) o * k->cig + i) * kh + y) * kw + x];
    k->b[o] += scale * t;
  }
}

void
mc_kernel_add_bn_identity (mc_kernel *k, const mc_bn *bn, double scale)
{
  for (int o = 0; o < k->cout; o++) {
    double s, t;
    mc_bn_affine (bn, o, &s, &t);
    *tap (k, o, o % k->cig, k->kh / 2, k->kw / 2) += scale * s;
    k->b[o] += scale * t;
  }
}

void
mc_kernel_add_conv (mc_kernel *k, const float *w, int kh, int kw,
    const float *bias, double scale)
{
  const int oy = (k->kh - kh) / 2, ox = (k->kw - kw) / 2;
  for (int o = 0; o < k->cout; o++) {
    for (int i = 0; i < k->cig; i++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          *tap (k, o, i, y + oy, x + ox) +=
              scale * w[(((size_t) o * k->cig + i) * kh + y) * kw + x];
    if (bias)
      k->b[o] += scale * bias[o];
  }
}

void
mc_kernel_add_identity (mc_kernel *k)
{
  for (int o = 0; o < k->cout; o++)
    *tap (k, o, o % k->cig, k->kh / 2, k->kw / 2) += 1.0;
}

void
mc_kernel_add_mobileone (mc_kernel *k, mc_weights *w, const char *name,
    int n_conv, int has_scale, int has_skip, float eps)
{
  mc_bn bn;
  char sub[512];

  for (int i = 0; i < n_conv; i++) {
    const float *cw = mc_weights_get (w, MC_SHAPE (k->cout, k->cig, k->kh, k->kw),
        "%s.rbr_conv.%d.conv.weight", name, i);
    snprintf (sub, sizeof sub, "%s.rbr_conv.%d.bn", name, i);
    mc_bn_read (w, &bn, k->cout, eps, sub);
    mc_kernel_add_conv_bn (k, cw, k->kh, k->kw, &bn, 1.0);
  }
  if (has_scale) {
    const float *cw = mc_weights_get (w, MC_SHAPE (k->cout, k->cig, 1, 1),
        "%s.rbr_scale.conv.weight", name);
    snprintf (sub, sizeof sub, "%s.rbr_scale.bn", name);
    mc_bn_read (w, &bn, k->cout, eps, sub);
    mc_kernel_add_conv_bn (k, cw, 1, 1, &bn, 1.0);
  }
  if (has_skip) {
    snprintf (sub, sizeof sub, "%s.rbr_skip", name);
    mc_bn_read (w, &bn, k->cout, eps, sub);
    mc_kernel_add_bn_identity (k, &bn, 1.0);
  }
}

int
mc_kernel_to_conv (const mc_kernel *k, mc_conv *c, int groups, int stride, int pad)
{
  size_t n = (size_t) k->cout * k->cig * k->kh * k->kw;
  float *w = malloc (n * sizeof (float));
  float *b = malloc ((size_t) k->cout * sizeof (float));
  int r = -1;
  if (w && b) {
    for (size_t i = 0; i < n; i++)
      w[i] = (float) k->w[i];
    for (int o = 0; o < k->cout; o++)
      b[o] = (float) k->b[o];
    r = mc_conv_init (c, w, b, k->cig * groups, k->cout, groups, k->kh, k->kw, stride, pad);
  }
  free (w);
  free (b);
  return r;
}

void
mc_kernel_to_matrix (const mc_kernel *k, float *w, float *b)
{
  size_t n = (size_t) k->cout * k->cig * k->kh * k->kw;
  for (size_t i = 0; i < n; i++)
    w[i] = (float) k->w[i];
  for (int o = 0; o < k->cout; o++)
    b[o] = (float) k->b[o];
}
