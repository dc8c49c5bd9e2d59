/* vec_avx2.h — the vector primitives of the AVX2+FMA kernel template
 * instances (files built with -mavx2 -mfma): 8 floats per vector. */
#ifndef MC_OPS_X86_VEC_AVX2_H
#define MC_OPS_X86_VEC_AVX2_H

#include <immintrin.h>

typedef __m256 vf;
typedef int vi __attribute__ ((vector_size (32)));

static inline vf v_load (const float *p) { return _mm256_loadu_ps (p); }
static inline void v_store (float *p, vf v) { _mm256_storeu_ps (p, v); }
static inline vf v_set1 (float x) { return _mm256_set1_ps (x); }
static inline vf v_fma (vf a, vf b, vf c) { return _mm256_fmadd_ps (a, b, c); }
static inline vf v_max (vf a, vf b) { return _mm256_max_ps (a, b); }

#endif
