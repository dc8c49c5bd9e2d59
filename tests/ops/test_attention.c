/* test_attention.c — multi-head attention against a naive double reference
 * (softmax(q·d^-½·kᵀ + mask)·v per head), with and without the causal mask,
 * for token counts of the models (64 = 8×8 map, 77 text tokens) and odd ones
 * (rows that end in a partial vector), values in [-2, 2] and, to reach the
 * exponential's whole range (scores far below the row maximum), in [-12, 12].
 * Runs every op-kernel variant this CPU can run (the softmax is one of them)
 * and, on x86-64, the AVX-512 variant's code through AVX2 instructions. */
#include <glib.h>

#include "ops/attention.h"
#include "ops/gemm.h"
#include "op_variants.h"
#include "test_util.h"


static void
run (int n, int T, int C, int heads, int causal, float range, mc_threadpool *pool)
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
    qkv[i] = range * ((float) ((s >> 8) & 0xffff) / 32768.0f - 1.0f);
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
  snprintf (what, sizeof what, "%s n%d T%d C%d heads%d causal%d ±%g", variant_label, n, T, C,
      heads, causal, range);
  /* scores of ±12-valued rows reach ~100: their float rounding alone (the
   * old scalar loop's too) moves outputs by up to 1.6e-5 of max|out|
   * (measured), ±2 rows by 1e-6 */
  mc_check_close (what, out, ref, (size_t) n * T * C, 1e-6, range > 2.0f ? 1e-4 : 1e-5);
  g_free (qkv); g_free (out); g_free (ref); g_free (scratch); g_free (p);
}

static void
run_all (mc_threadpool *pool)
{
  run (2, 64, 128, 4, 0, 2.0f, pool);
  run (1, 64, 512, 16, 0, 12.0f, pool);
  run (1, 77, 32, 2, 0, 2.0f, pool);
  run (3, 77, 24, 2, 1, 2.0f, pool);
  run (2, 77, 128, 2, 1, 12.0f, pool);
  run (1, 9, 96, 3, 0, 2.0f, pool);
  run (1, 1, 32, 1, 1, 2.0f, NULL);
}

int
main (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);
  for_each_op_variant (run_all, pool);
  mc_threadpool_free (pool);
  return mc_test_finish ("attention");
}
