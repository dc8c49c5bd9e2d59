/* ops_avx512_geometry.c — the AVX-512 variant's op kernels (conv tiles of
 * 6 pixels × 2 vectors of 16 channels, blocks of 32, a single 16-wide
 * vector and 1-15 scalar channels left over, depthwise strips stepping by
 * 16) with 16-lane vectors built from two AVX2 halves (vf16_avx2.h), so
 * machines without AVX-512 run the same blocking, widths and leftovers as
 * ops_avx512.c.  Compiled with -mavx2 -mfma; the test uses it only where
 * AVX2 runs. */
#include "vf16_avx2.h"

static inline float s_fma (float a, float b, float c) { return __builtin_fmaf (a, b, c); }

static inline vf
v_max (vf a, vf b)
{
  halves x = { a }, y = { b }, r;
  r.h[0] = _mm256_max_ps (x.h[0], y.h[0]);
  r.h[1] = _mm256_max_ps (x.h[1], y.h[1]);
  return r.v;
}

/* p[0], p[0], p[1], p[1], ..., p[7], p[7] */
static inline vf
v_load_dup2 (const float *p)
{
  const __m256i lo = _mm256_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3);
  const __m256i hi = _mm256_setr_epi32 (4, 4, 5, 5, 6, 6, 7, 7);
  const __m256 src = _mm256_loadu_ps (p);
  halves r;
  r.h[0] = _mm256_permutevar8x32_ps (src, lo);
  r.h[1] = _mm256_permutevar8x32_ps (src, hi);
  return r.v;
}

#define MC_T_SYMBOL mc_op_kernels_avx512_geometry
#define MC_T_LABEL "avx512-geometry"
#define MC_VL 16
#define MC_NV 2
#define MC_P 6
#define MC_DW_P3 16   /* as ops_avx512.c */
#define MC_DW_P7 16
#include "ops/op_kernel_template.h"
