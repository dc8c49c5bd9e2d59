/* gemm_int8.c — int8 panels (MC_GEMM_INT8, layout and numerics in
 * gemm_kernels.h): weight quantization and packing, and the portable int8
 * kernel, the definition every other int8 kernel must match integer for
 * integer (x86/gemm_int8_avx2.c).  gemm.c's driver runs them.
 */
#include <math.h>
#include <string.h>

#include "gemm_kernels.h"

/* The shared rounding: one float multiply, then to nearest even (the
 * default rounding mode, as VCVTPS2DQ's). */
static inline int32_t
quantize (float x, float inv)
{
  return (int32_t) nearbyintf (x * inv);
}

void
mc_gemm_int8_pack (uint32_t *dst, float *col_scale, int32_t *col_sum,
    float *col_diag, const float *src, ptrdiff_t sk, ptrdiff_t sn, int K,
    int N, const float *scale, int nr)
{
  const int panels = (N + nr - 1) / nr, groups = (K + 3) / 4;

  memset (dst, 0, (size_t) panels * groups * nr * sizeof (uint32_t));
  memset (col_scale, 0, (size_t) panels * nr * sizeof (float));
  memset (col_sum, 0, (size_t) panels * nr * sizeof (int32_t));
  if (col_diag)
    memset (col_diag, 0, (size_t) panels * nr * sizeof (float));
  for (int n = 0; n < N; n++) {
    const float *col = src + (ptrdiff_t) n * sn;
    const float s = scale ? scale[n] : 1.0f;
    int8_t *d = (int8_t *) (dst + (size_t) (n / nr) * groups * nr + n % nr);
    float max = 0.0f, inv;
    int32_t sum = 0;

    if (col_diag)
      col_diag[n] = col[(ptrdiff_t) n * sk] * s;
    for (int k = 0; k < K; k++)
      if (!col_diag || k != n)
        max = fmaxf (max, fabsf (col[(ptrdiff_t) k * sk] * s));
    inv = max > 0.0f ? 127.0f / max : 0.0f;
    col_scale[n] = max / 127.0f;
    for (int k = 0; k < K; k++) {
      const int32_t q = col_diag && k == n ? 0
          : quantize (col[(ptrdiff_t) k * sk] * s, inv);
      d[((size_t) (k / 4) * nr) * 4 + k % 4] = (int8_t) q;
      sum += q;
    }
    col_sum[n] = sum;
  }
}

/* ---- the portable kernel: plain C, tile 4 × 12 (the portable float
 * kernel's panel width) ---- */

static void
portable_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero)
{
  const int groups = (K + 3) / 4;

  for (int i = 0; i < m; i++) {
    const float *row = a + i * lda;
    uint8_t *d = (uint8_t *) (dst + (size_t) i * groups);
    float lo = 0.0f, hi = 0.0f, inv;
    int32_t z;

    for (int k = 0; k < K; k++) {
      lo = fminf (lo, row[k]);
      hi = fmaxf (hi, row[k]);
    }
    inv = hi - lo > 0.0f ? 254.0f / (hi - lo) : 0.0f;
    scale[i] = (hi - lo) / 254.0f;
    z = quantize (-lo, inv);
    zero[i] = z;
    for (int k = 0; k < K; k++) {
      const int32_t u = quantize (row[k], inv) + z;
      d[k] = (uint8_t) (int8_t) ((u < 0 ? 0 : u > 254 ? 254 : u) - 127);
    }
    for (int k = K; k < 4 * groups; k++)
      d[k] = 0;
  }
}

#define PORTABLE_MR 4
#define PORTABLE_NR 12

static void
portable_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  for (int i = 0; i < m; i++) {
    const int8_t *ar = (const int8_t *) (a + (size_t) i * groups);
    const int8_t *bp = (const int8_t *) b;
    int32_t acc[PORTABLE_NR] = { 0 };
    float row[PORTABLE_NR];

    for (int g = 0; g < groups; g++)
      for (int j = 0; j < PORTABLE_NR; j++)
        for (int r = 0; r < 4; r++)
          acc[j] += ar[4 * g + r] * bp[((size_t) g * PORTABLE_NR + j) * 4 + r];
    /* src row i is read before out row i is written: src may equal out */
    for (int j = 0; j < PORTABLE_NR; j++) {
      const float s = sa[i] * sb[j];
      float v = (float) (acc[j] + (127 - za[i]) * bsum[j]) * s;
      if (src)
        v += src[i * lds + j];
      if (bias)
        v += bias[j];
      row[j] = v;
    }
    memcpy (out + i * ldo, row, sizeof row);
  }
}

const mc_gemm_int8_kernels mc_gemm_int8_kernels_portable = {
  .name = "portable-int8",
  .mr = PORTABLE_MR,
  .nr = PORTABLE_NR,
  .a_bias = 127,
  .quant_a = portable_quant_a,
  .tile = portable_tile,
};
