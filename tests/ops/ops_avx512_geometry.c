/* ops_avx512_geometry.c — the AVX-512 variant's conv blocking (channel
 * blocks of 32, 6-pixel strips, single-vector and scalar leftovers below
 * that) built from AVX2 instructions: 4 vectors of 8 stand for 2 of 16, so
 * machines without AVX-512 test the block logic that variant runs.
 * Compiled with -mavx2 -mfma; the test uses it only where AVX2 runs. */
#include <immintrin.h>

typedef __m256 vf;
typedef int vi __attribute__ ((vector_size (32)));

static inline vf v_load (const float *p) { return _mm256_loadu_ps (p); }
static inline void v_store (float *p, vf v) { _mm256_storeu_ps (p, v); }
static inline vf v_set1 (float x) { return _mm256_set1_ps (x); }
static inline vf v_fma (vf a, vf b, vf c) { return _mm256_fmadd_ps (a, b, c); }
static inline float s_fma (float a, float b, float c) { return __builtin_fmaf (a, b, c); }
static inline vf v_max (vf a, vf b) { return _mm256_max_ps (a, b); }
static inline vf
v_load_dup2 (const float *p)
{
  return _mm256_permutevar8x32_ps (_mm256_castps128_ps256 (_mm_loadu_ps (p)),
      _mm256_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3));
}

#define MC_T_SYMBOL mc_op_kernels_avx512_geometry
#define MC_T_LABEL "avx512-geometry"
#define MC_VL 8
#define MC_NV 4
#define MC_P 6
#define MC_DW_P3 16   /* as ops_avx512.c */
#define MC_DW_P7 12
#include "ops/op_kernel_template.h"
