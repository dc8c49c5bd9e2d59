/* test_conv.c — direct convolutions against a naive NCHW reference in double.
 *
 * Covers the shapes the models use (full 3×3 stride 2 stem, depthwise 3×3 /
 * 7×7 / 1×11, grouped 1→2 downsample 7×7 stride 2, grouped 3×3 conv_exp) and
 * odd sizes, each activation, for every kernel variant this CPU can run (and,
 * on x86-64, the AVX-512 variant's channel blocking through AVX2
 * instructions).  The sizes reach every code path of the vector kernels:
 * rows wide enough for unchecked strips, rows narrower than a strip, kernels
 * wider than the map, full channel blocks, single vectors and scalar
 * leftover channels, and the sliding depthwise strips (3 and 7 wide, stride
 * 1) with and without a short last strip.  Tolerance: fp32 sums of at most k·k·cin terms of
 * magnitude ≤ ~1, so 1e-5 relative to the largest |output| is ample.  The
 * result must not depend on the thread split: 2 threads and 1 give the same
 * bits.
 */
#include <glib.h>

#include "ops/conv.h"
#include "op_variants.h"
#include "test_util.h"


static float
frand (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (float) ((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void
run (int n, int cin, int cout, int groups, int h, int w, int kh, int kw, int stride,
    int pad, mc_act act, mc_threadpool *pool)
{
  const int cig = cin / groups, cog = cout / groups;
  const int ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
  guint32 seed = (guint32) (cin * 131 + cout * 7 + kh + h);
  float *wt = g_new (float, (gsize) cout * cig * kh * kw), *bias = g_new (float, (gsize) cout);
  float *x = g_new (float, (gsize) n * h * w * cin);
  float *y = g_new (float, (gsize) n * ho * wo * cout), *ref = g_new (float, (gsize) n * ho * wo * cout);
  mc_conv c;
  char what[160];

  for (int i = 0; i < cout * cig * kh * kw; i++) wt[i] = frand (&seed);
  for (int i = 0; i < cout; i++) bias[i] = frand (&seed);
  for (int i = 0; i < n * h * w * cin; i++) x[i] = frand (&seed);

  /* reference in double over NHWC indices, PyTorch weight layout */
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++)
        for (int o = 0; o < cout; o++) {
          const int g = o / cog;
          double s = bias[o];
          for (int i = 0; i < cig; i++)
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                s += (double) wt[((o * cig + i) * kh + ky) * kw + kx]
                    * x[(((size_t) b * h + iy) * w + ix) * cin + g * cig + i];
              }
          if (act == MC_ACT_GELU)
            s = 0.5 * s * (1.0 + erf (s / sqrt (2.0)));
          else if (act == MC_ACT_RELU)
            s = s > 0 ? s : 0;
          ref[(((size_t) b * ho + oy) * wo + ox) * cout + o] = (float) s;
        }

  CHECK (mc_conv_init (&c, wt, bias, cin, cout, groups, kh, kw, stride, pad) == 0, "init");
  mc_conv_forward (pool, &c, x, n, h, w, y, act);
  snprintf (what, sizeof what, "%s n%d %d→%d g%d %dx%d k%dx%d s%d p%d act%d", variant_label, n,
      cin, cout, groups, h, w, kh, kw, stride, pad, (int) act);
  mc_check_close (what, y, ref, (size_t) n * ho * wo * cout, 1e-6, 1e-5);
  if (pool) {
    float *y1 = g_new (float, (gsize) n * ho * wo * cout);
    mc_conv_forward (NULL, &c, x, n, h, w, y1, act);
    for (size_t i = 0; i < (size_t) n * ho * wo * cout; i++)
      if (memcmp (&y[i], &y1[i], sizeof (float))) {
        CHECK (0, "%s: 1 and 2 threads differ at %zu", what, i);
        break;
      }
    g_free (y1);
  }
  mc_conv_free (&c);
  g_free (wt); g_free (bias); g_free (x); g_free (y); g_free (ref);
}

static void
run_all (mc_threadpool *pool)
{
  run (2, 3, 16, 1, 17, 13, 3, 3, 2, 1, MC_ACT_GELU, pool);      /* stem */
  run (1, 3, 20, 1, 33, 35, 3, 3, 2, 1, MC_ACT_GELU, pool);      /* stem, wide rows, 20 outputs */
  run (1, 16, 16, 16, 9, 9, 3, 3, 2, 1, MC_ACT_GELU, pool);      /* stem depthwise s2 */
  run (1, 24, 24, 24, 17, 31, 3, 3, 2, 1, MC_ACT_NONE, pool);    /* depthwise s2, wide odd rows */
  run (2, 24, 24, 24, 8, 8, 3, 3, 1, 1, MC_ACT_NONE, pool);      /* RepMixer */
  run (2, 44, 44, 44, 9, 23, 3, 3, 1, 1, MC_ACT_NONE, pool);     /* RepMixer, 44 channels */
  run (1, 24, 24, 24, 8, 6, 7, 7, 1, 3, MC_ACT_NONE, pool);      /* ConvFFN / RepCPE */
  run (1, 40, 40, 40, 20, 30, 7, 7, 1, 3, MC_ACT_NONE, pool);    /* ConvFFN, wide rows */
  run (1, 48, 48, 48, 6, 37, 3, 3, 1, 1, MC_ACT_NONE, pool);    /* sliding 3×3, every ISA's short last strip */
  run (1, 32, 32, 32, 5, 41, 7, 7, 1, 3, MC_ACT_GELU, pool);    /* sliding 7×7, short last strip */
  run (1, 24, 24, 24, 6, 23, 7, 7, 1, 3, MC_ACT_NONE, pool);    /* sliding 7×7, 8-pixel strips and a 7-pixel tail */
  run (1, 24, 24, 24, 6, 19, 7, 7, 1, 3, MC_ACT_NONE, pool);    /* the same with a 3-pixel tail */
  /* rows narrower than two strips (AVX-512: P = 16 for 3×3, 12 for 7×7):
   * near-equal sliding strips where each has 6 pixels or more */
  run (1, 48, 48, 48, 16, 16, 7, 7, 1, 3, MC_ACT_NONE, pool);    /* stage 3's 7×7: two strips of 8 */
  run (1, 40, 40, 40, 16, 16, 3, 3, 1, 1, MC_ACT_NONE, pool);    /* stage 3's 3×3: one of 16 */
  run (2, 32, 32, 32, 8, 8, 7, 7, 1, 3, MC_ACT_NONE, pool);      /* stage 4: one of 8 */
  run (1, 32, 32, 32, 5, 13, 7, 7, 1, 3, MC_ACT_GELU, pool);    /* 7 + 6 */
  run (1, 32, 32, 32, 4, 11, 7, 7, 1, 3, MC_ACT_NONE, pool);    /* 11 */
  run (1, 32, 32, 32, 3, 31, 3, 3, 1, 1, MC_ACT_NONE, pool);    /* 16 + 15 */
  run (1, 32, 32, 32, 3, 9, 3, 3, 1, 1, MC_ACT_NONE, pool);     /* 9, or 5 + 4: chan_strip */
  run (2, 16, 16, 16, 3, 5, 7, 7, 1, 3, MC_ACT_GELU, pool);      /* kernel wider than the map */
  run (2, 8, 8, 8, 1, 77, 1, 11, 1, 0, MC_ACT_NONE, pool);       /* text 1×11 (pad 0 on h) */
  run (1, 12, 24, 12, 15, 15, 7, 7, 2, 3, MC_ACT_GELU, pool);    /* downsample 1→2 per group */
  run (1, 20, 40, 20, 23, 21, 7, 7, 2, 3, MC_ACT_NONE, pool);    /* downsample, 40 outputs */
  run (2, 16, 32, 16, 4, 4, 3, 3, 1, 1, MC_ACT_RELU, pool);      /* conv_exp */
  run (2, 36, 72, 36, 8, 8, 3, 3, 1, 1, MC_ACT_GELU, pool);      /* conv_exp, 72 outputs */
  run (1, 1, 1, 1, 1, 1, 3, 3, 1, 1, MC_ACT_NONE, NULL);         /* 1×1 map */
  run (1, 6, 9, 3, 5, 7, 3, 1, 1, 0, MC_ACT_GELU, NULL);         /* grouped 2→3, non-square */
}

int
main (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);

  for_each_op_variant (run_all, pool);

  mc_threadpool_free (pool);
  return mc_test_finish ("conv");
}
