/* test_attention.c — multi-head attention against a naive double reference
 * (softmax(q·d^-½·kᵀ + mask)·v per head), with and without the causal mask,
 * for token counts of the models (64 = 8×8 map, 77 text tokens) and odd ones. */
#include <glib.h>

#include "ops/attention.h"
#include "test_util.h"

static void
run (int n, int T, int C, int heads, int causal, mc_threadpool *pool)
{
  const int d = C / heads;
  float *qkv = g_new (float, (gsize) n * T * 3 * C), *out = g_new (float, (gsize) n * T * C);
  float *ref = g_new (float, (gsize) n * T * C);
  float *scratch = g_new (float, mc_attention_scratch_size (T, d, mc_threadpool_size (pool)));
  double *p = g_new (double, (gsize) T);
  guint32 s = (guint32) (T * 31 + C);
  char what[128];

  for (int i = 0; i < n * T * 3 * C; i++) {
    s = s * 1664525u + 1013904223u;
    qkv[i] = (float) ((s >> 8) & 0xffff) / 16384.0f - 2.0f;
  }
  for (int b = 0; b < n; b++)
    for (int h = 0; h < heads; h++)
      for (int t = 0; t < T; t++) {
        const float *base = qkv + (size_t) b * T * 3 * C;
        double mx = -1e300, sum = 0;
        int nk = causal ? t + 1 : T;
        for (int k = 0; k < nk; k++) {
          double acc = 0;
          for (int e = 0; e < d; e++)
            acc += (double) base[(size_t) t * 3 * C + h * d + e] / sqrt ((double) d)
                * base[(size_t) k * 3 * C + C + h * d + e];
          p[k] = acc;
          mx = fmax (mx, acc);
        }
        for (int k = 0; k < nk; k++)
          sum += (p[k] = exp (p[k] - mx));
        for (int e = 0; e < d; e++) {
          double o = 0;
          for (int k = 0; k < nk; k++)
            o += p[k] / sum * base[(size_t) k * 3 * C + 2 * C + h * d + e];
          ref[((size_t) b * T + t) * C + h * d + e] = (float) o;
        }
      }
  mc_attention (pool, qkv, n, T, C, heads, causal, out, scratch);
  snprintf (what, sizeof what, "attention n%d T%d C%d heads%d causal%d", n, T, C, heads, causal);
  mc_check_close (what, out, ref, (size_t) n * T * C, 1e-6, 1e-5);
  g_free (qkv); g_free (out); g_free (ref); g_free (scratch); g_free (p);
}

int
main (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);
  run (2, 64, 128, 4, 0, pool);
  run (1, 77, 32, 2, 0, pool);
  run (3, 77, 24, 2, 1, pool);
  run (1, 9, 96, 3, 0, pool);
  run (1, 1, 32, 1, 1, NULL);
  mc_threadpool_free (pool);
  return mc_test_finish ("attention");
}
