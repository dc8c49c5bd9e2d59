/* vec_avx512.h — the vector primitives of the AVX-512 kernel template
 * instances (files built with -mavx512f and friends): 16 floats per vector.
 * v_max and v_min return their second operand when either is NaN, as
 * MAXPS and MINPS do; v_select_gt (x, y, a, b) is x > y ? a : b; v_lut8
 * looks lanes up in an 8-float table (the exact GELU's pieces). */
#ifndef MC_OPS_X86_VEC_AVX512_H
#define MC_OPS_X86_VEC_AVX512_H

#include <immintrin.h>

typedef __m512 vf;
typedef int vi __attribute__ ((vector_size (64)));

static inline vf v_load (const float *p) { return _mm512_loadu_ps (p); }
static inline void v_store (float *p, vf v) { _mm512_storeu_ps (p, v); }
static inline vf v_set1 (float x) { return _mm512_set1_ps (x); }
static inline vf v_fma (vf a, vf b, vf c) { return _mm512_fmadd_ps (a, b, c); }
static inline vf v_max (vf a, vf b) { return _mm512_max_ps (a, b); }
static inline vf v_div (vf a, vf b) { return _mm512_div_ps (a, b); }
static inline vf v_min (vf a, vf b) { return _mm512_min_ps (a, b); }
static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (x, y, _CMP_GT_OQ), b, a);
}
/* lane i: table[idx[i]], idx[i] in 0..7 (the 8 floats in the low half) */
#define MC_GELU_PIECES 1
static inline vf
v_lut8 (vi idx, const float *table)
{
  return _mm512_permutexvar_ps ((__m512i) idx,
      _mm512_castps256_ps512 (_mm256_loadu_ps (table)));
}

#endif
