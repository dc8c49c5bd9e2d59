/* gemm_int8_x86.h — what the x86 int8 kernels share (included by
 * gemm_int8_avx2.c, gemm_int8_vnni.c, gemm_int8_vnni512.c and the AMX-INT8
 * template, each built with its own ISA flags): quantizing A row strips and
 * the float epilogue of 16 columns, or of 32 on AVX-512 (numerics in
 * ../gemm_kernels.h).  Static inline: every includer gets its
 * own copy for its own ISA. */
#ifndef MC_OPS_X86_GEMM_INT8_X86_H
#define MC_OPS_X86_GEMM_INT8_X86_H

#include <immintrin.h>
#include <math.h>

#include "../gemm_kernels.h"

#define MR 6
#define NR 16

#define INLINE static inline __attribute__ ((always_inline))

/* 8 floats → 8 bytes clamp (nearbyint (x · inv) + z, 0, 254) − a_bias in
 * k order (signed bytes for a_bias 127, unsigned for 0), rounded as the
 * portable kernel rounds (VCVTPS2DQ in the default mode) */
INLINE __m128i
quant8 (const float *x, __m256 inv, __m256i z, const int a_bias)
{
  __m256i q = _mm256_add_epi32 (z,
      _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x), inv)));
  q = _mm256_min_epi32 (_mm256_max_epi32 (q, _mm256_setzero_si256 ()),
      _mm256_set1_epi32 (254));
  q = _mm256_sub_epi32 (q, _mm256_set1_epi32 (a_bias));
  const __m128i w = _mm_packs_epi32 (_mm256_castsi256_si128 (q),
      _mm256_extracti128_si256 (q, 1));
  return a_bias ? _mm_packs_epi16 (w, w) : _mm_packus_epi16 (w, w);
}

INLINE float
hmin (__m256 v)
{
  __m128 h = _mm_min_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  h = _mm_min_ps (h, _mm_movehl_ps (h, h));
  return _mm_cvtss_f32 (_mm_min_ss (h, _mm_shuffle_ps (h, h, 1)));
}

INLINE float
hmax (__m256 v)
{
  __m128 h = _mm_max_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  h = _mm_max_ps (h, _mm_movehl_ps (h, h));
  return _mm_cvtss_f32 (_mm_max_ss (h, _mm_shuffle_ps (h, h, 1)));
}

/* quant_a (gemm_kernels.h) storing u − a_bias */
INLINE void
quant_rows (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero, const int a_bias)
{
  const int groups = (K + 3) / 4;

  for (int i = 0; i < m; i++) {
    const float *row = a + i * lda;
    uint8_t *d = (uint8_t *) (dst + (size_t) i * groups);
    __m256 vlo = _mm256_setzero_ps (), vhi = _mm256_setzero_ps ();
    float lo, hi, inv;
    int32_t z;
    int k = 0;

    for (; k + 8 <= K; k += 8) {
      const __m256 x = _mm256_loadu_ps (row + k);
      vlo = _mm256_min_ps (vlo, x);
      vhi = _mm256_max_ps (vhi, x);
    }
    lo = hmin (vlo);
    hi = hmax (vhi);
    for (; k < K; k++) {
      lo = fminf (lo, row[k]);
      hi = fmaxf (hi, row[k]);
    }
    inv = hi - lo > 0.0f ? 254.0f / (hi - lo) : 0.0f;
    scale[i] = (hi - lo) / 254.0f;
    z = (int32_t) nearbyintf (-lo * inv);
    zero[i] = z;

    const __m256 vinv = _mm256_set1_ps (inv);
    const __m256i vz = _mm256_set1_epi32 (z);
    k = 0;
    for (; k + 8 <= K; k += 8)
      _mm_storel_epi64 ((__m128i *) (d + k), quant8 (row + k, vinv, vz, a_bias));
    for (; k < K; k++) {
      const int32_t u = (int32_t) nearbyintf (row[k] * inv) + z;
      d[k] = (uint8_t) ((u < 0 ? 0 : u > 254 ? 254 : u) - a_bias);
    }
    for (; k < 4 * groups; k++)
      d[k] = 0;
  }
}

/* out rows from the integer sums (gemm_kernels.h's epilogue) */
INLINE void
finish_rows (const int m, __m256i acc[][2], const int a_bias,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  const __m256 sb0 = _mm256_loadu_ps (sb), sb1 = _mm256_loadu_ps (sb + 8);
  const __m256i bs0 = _mm256_loadu_si256 ((const __m256i *) bsum);
  const __m256i bs1 = _mm256_loadu_si256 ((const __m256i *) (bsum + 8));
  /* src row i is read before out row i is written: src may equal out */
#pragma GCC unroll 8
  for (int i = 0; i < m; i++) {
    const __m256 s = _mm256_set1_ps (sa[i]);
    const __m256i z = _mm256_set1_epi32 (a_bias - za[i]);
    const __m256i off0 = _mm256_mullo_epi32 (z, bs0);
    const __m256i off1 = _mm256_mullo_epi32 (z, bs1);
    __m256 v0 = _mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_add_epi32 (acc[i][0], off0)),
        _mm256_mul_ps (s, sb0));
    __m256 v1 = _mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_add_epi32 (acc[i][1], off1)),
        _mm256_mul_ps (s, sb1));
    if (src) {
      v0 = _mm256_add_ps (v0, _mm256_loadu_ps (src + i * lds));
      v1 = _mm256_add_ps (v1, _mm256_loadu_ps (src + i * lds + 8));
    }
    if (bias) {
      v0 = _mm256_add_ps (v0, _mm256_loadu_ps (bias));
      v1 = _mm256_add_ps (v1, _mm256_loadu_ps (bias + 8));
    }
    _mm256_storeu_ps (out + i * ldo, v0);
    _mm256_storeu_ps (out + i * ldo + 8, v1);
  }
}

#ifdef __AVX512F__
/* finish_rows on 16-lane vectors for a_bias 0 (the VPDPBUSD kernels of the
 * AVX-512 slot): the same operations in the same order for each lane */
INLINE void
finish_rows512 (const int m, __m512i acc[][2], const int32_t *bsum,
    const float *sa, const int32_t *za, const float *sb, const float *src,
    ptrdiff_t lds, const float *bias, float *out, ptrdiff_t ldo)
{
  const __m512 sb0 = _mm512_loadu_ps (sb), sb1 = _mm512_loadu_ps (sb + 16);
  const __m512i bs0 = _mm512_loadu_si512 (bsum);
  const __m512i bs1 = _mm512_loadu_si512 (bsum + 16);
  /* src row i is read before out row i is written: src may equal out */
#pragma GCC unroll 8
  for (int i = 0; i < m; i++) {
    const __m512 s = _mm512_set1_ps (sa[i]);
    const __m512i z = _mm512_set1_epi32 (-za[i]);
    __m512 v0 = _mm512_mul_ps (_mm512_cvtepi32_ps (_mm512_add_epi32 (acc[i][0],
                _mm512_mullo_epi32 (z, bs0))), _mm512_mul_ps (s, sb0));
    __m512 v1 = _mm512_mul_ps (_mm512_cvtepi32_ps (_mm512_add_epi32 (acc[i][1],
                _mm512_mullo_epi32 (z, bs1))), _mm512_mul_ps (s, sb1));
    if (src) {
      v0 = _mm512_add_ps (v0, _mm512_loadu_ps (src + i * lds));
      v1 = _mm512_add_ps (v1, _mm512_loadu_ps (src + i * lds + 16));
    }
    if (bias) {
      v0 = _mm512_add_ps (v0, _mm512_loadu_ps (bias));
      v1 = _mm512_add_ps (v1, _mm512_loadu_ps (bias + 16));
    }
    _mm512_storeu_ps (out + i * ldo, v0);
    _mm512_storeu_ps (out + i * ldo + 16, v1);
  }
}
#endif

#endif
