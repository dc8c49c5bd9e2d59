/* bf16_pack_avx512.h — one row of A converted to bf16 pair words with the
 * AVX512-BF16 conversions (VCVTNE2PS2BF16 rounds as bf16.h does), for the
 * bf16 kernels whose A operand is pair words: VDPBF16PS's broadcast and
 * TDPBF16PS's A tile.  Files built with -mavx512f -mavx512bw -mavx512vl
 * -mavx512bf16 include it; callers run only where cpuid has AVX512-BF16. */
#ifndef MC_OPS_X86_BF16_PACK_AVX512_H
#define MC_OPS_X86_BF16_PACK_AVX512_H

#include <immintrin.h>
#include <stdint.h>

/* kc floats of a to ceil(kc/2) pair words at d, even k low; the odd half
 * of the last word is zero when kc is odd. */
static void
mc_bf16_pack_row_avx512 (const float *a, int kc, uint32_t *d)
{
  int k = 0;

  for (; k + 32 <= kc; k += 32) {
    const __m512 lo = _mm512_loadu_ps (a + k), hi = _mm512_loadu_ps (a + k + 16);
    _mm512_storeu_si512 (d + k / 2, (__m512i) _mm512_cvtne2ps_pbh (hi, lo));
  }
  for (; k < kc; k += 16) {
    const int n = kc - k < 16 ? kc - k : 16;
    const __m512 x = _mm512_maskz_loadu_ps ((__mmask16) ((1u << n) - 1), a + k);
    _mm256_mask_storeu_epi32 (d + k / 2, (__mmask8) ((1u << ((n + 1) / 2)) - 1),
        (__m256i) _mm512_cvtneps_pbh (x));
  }
}

#endif
