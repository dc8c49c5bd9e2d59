/* vf16_avx2.h — a 16-lane float vector (one AVX-512 register's worth)
 * built from two AVX2 halves, for the tests that run the AVX-512 kernels'
 * template code on machines without AVX-512. */
#ifndef MC_TEST_VF16_AVX2_H
#define MC_TEST_VF16_AVX2_H

#include <immintrin.h>
#include <string.h>

typedef float vf __attribute__ ((vector_size (64)));
typedef int vi __attribute__ ((vector_size (64)));

typedef union {
  vf v;
  __m256 h[2];
} halves;

static inline vf
v_load (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v_store (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

static inline vf
v_set1 (float x)
{
  return (vf) { x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x };
}

static inline vf
v_fma (vf a, vf b, vf c)
{
  halves x = { a }, y = { b }, z = { c }, r;
  r.h[0] = _mm256_fmadd_ps (x.h[0], y.h[0], z.h[0]);
  r.h[1] = _mm256_fmadd_ps (x.h[1], y.h[1], z.h[1]);
  return r.v;
}

#endif
