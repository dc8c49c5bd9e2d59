/* test_fold.c — load-time folding equals the training-form branches.
 *
 * A MobileOne block (k×k conv+BN, 1×1 conv+BN, BN skip) is evaluated branch
 * by branch in double on random data and compared with the single folded
 * conv; likewise conv+BN alone and a RepMixer-style combination
 * x + ls·(mixer(x) − norm(x)).  The references are computed from the same
 * weights with no folding at all.
 */
#include <glib.h>

#include "model/fold.h"
#include "test_util.h"

static guint32 seed = 12345;

static float
frand (void)
{
  seed = seed * 1664525u + 1013904223u;
  return (float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void
rand_bn (mc_bn *bn, int c, float **store)
{
  float *g = g_new (float, c), *b = g_new (float, c), *m = g_new (float, c), *v = g_new (float, c);
  for (int i = 0; i < c; i++) {
    g[i] = 1.0f + 0.5f * frand ();
    b[i] = 0.1f * frand ();
    m[i] = 0.2f * frand ();
    v[i] = 1.0f + 0.5f * frand ();
  }
  bn->gamma = g; bn->beta = b; bn->mean = m; bn->var = v; bn->c = c; bn->eps = 1e-5f;
  store[0] = g; store[1] = b; store[2] = m; store[3] = v;
}

static double
bn_apply (const mc_bn *bn, int c, double y)
{
  return (y - bn->mean[c]) / sqrt ((double) bn->var[c] + bn->eps) * bn->gamma[c] + bn->beta[c];
}

/* depthwise conv in double, NHWC single image */
static double
dw_at (const float *x, const float *w, int h, int wd, int C, int k, int y, int xx, int c)
{
  double s = 0;
  for (int ky = 0; ky < k; ky++)
    for (int kx = 0; kx < k; kx++) {
      int iy = y - k / 2 + ky, ix = xx - k / 2 + kx;
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
        s += (double) w[(c * k + ky) * k + kx] * x[((size_t) iy * wd + ix) * C + c];
    }
  return s;
}

int
main (void)
{
  const int C = 8, H = 6, W = 5, K = 3;
  float *x = g_new (float, H * W * C), *y = g_new (float, H * W * C), *ref = g_new (float, H * W * C);
  float *wk = g_new (float, C * K * K), *w1 = g_new (float, C), *ls = g_new (float, C);
  float *st[3][4];
  mc_bn bn_k, bn_1, bn_id;
  mc_kernel k;
  mc_conv conv;

  for (int i = 0; i < H * W * C; i++) x[i] = frand ();
  for (int i = 0; i < C * K * K; i++) wk[i] = frand ();
  for (int i = 0; i < C; i++) { w1[i] = frand (); ls[i] = 0.5f + 0.25f * frand (); }
  rand_bn (&bn_k, C, st[0]);
  rand_bn (&bn_1, C, st[1]);
  rand_bn (&bn_id, C, st[2]);

  /* MobileOne depthwise: BN(dw_k x) + BN(dw_1 x) + BN(x) */
  mc_kernel_init (&k, C, 1, K, K);
  mc_kernel_add_conv_bn (&k, wk, K, K, &bn_k, 1.0);
  mc_kernel_add_conv_bn (&k, w1, 1, 1, &bn_1, 1.0);
  mc_kernel_add_bn_identity (&k, &bn_id, 1.0);
  CHECK (mc_kernel_to_conv (&k, &conv, C, 1, K / 2) == 0, "to conv");
  mc_conv_forward (NULL, &conv, x, 1, H, W, y, MC_ACT_NONE);
  for (int p = 0; p < H * W; p++)
    for (int c = 0; c < C; c++) {
      const int yy = p / W, xx = p % W;
      double v = bn_apply (&bn_k, c, dw_at (x, wk, H, W, C, K, yy, xx, c))
          + bn_apply (&bn_1, c, (double) w1[c] * x[p * C + c])
          + bn_apply (&bn_id, c, x[p * C + c]);
      ref[p * C + c] = (float) v;
    }
  mc_check_close ("MobileOne dw3×3 + 1×1 + skip folded", y, ref, (size_t) H * W * C, 1e-6, 1e-6);
  mc_conv_free (&conv);
  mc_kernel_free (&k);

  /* RepMixer: x + ls·(mixer(x) − norm(x)), mixer = the block above, norm = BN(x) */
  mc_kernel_init (&k, C, 1, K, K);
  {
    mc_kernel mix, norm;
    mc_kernel_init (&mix, C, 1, K, K);
    mc_kernel_init (&norm, C, 1, K, K);
    mc_kernel_add_conv_bn (&mix, wk, K, K, &bn_k, 1.0);
    mc_kernel_add_conv_bn (&mix, w1, 1, 1, &bn_1, 1.0);
    mc_kernel_add_bn_identity (&mix, &bn_id, 1.0);
    mc_kernel_add_bn_identity (&norm, &bn_1, 1.0);
    for (int o = 0; o < C; o++) {
      for (int j = 0; j < K * K; j++)
        k.w[o * K * K + j] = ls[o] * (mix.w[o * K * K + j] - norm.w[o * K * K + j]);
      k.b[o] = ls[o] * (mix.b[o] - norm.b[o]);
    }
    mc_kernel_add_identity (&k);
    mc_kernel_free (&mix);
    mc_kernel_free (&norm);
  }
  CHECK (mc_kernel_to_conv (&k, &conv, C, 1, K / 2) == 0, "to conv");
  mc_conv_forward (NULL, &conv, x, 1, H, W, y, MC_ACT_NONE);
  for (int p = 0; p < H * W; p++)
    for (int c = 0; c < C; c++) {
      const int yy = p / W, xx = p % W;
      double mixer = bn_apply (&bn_k, c, dw_at (x, wk, H, W, C, K, yy, xx, c))
          + bn_apply (&bn_1, c, (double) w1[c] * x[p * C + c])
          + bn_apply (&bn_id, c, x[p * C + c]);
      double norm = bn_apply (&bn_1, c, x[p * C + c]);
      ref[p * C + c] = (float) (x[p * C + c] + ls[c] * (mixer - norm));
    }
  mc_check_close ("RepMixer folded", y, ref, (size_t) H * W * C, 1e-6, 1e-6);
  mc_conv_free (&conv);
  mc_kernel_free (&k);

  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      g_free (st[i][j]);
  g_free (x); g_free (y); g_free (ref); g_free (wk); g_free (w1); g_free (ls);
  return mc_test_finish ("fold");
}
