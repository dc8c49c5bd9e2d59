/* gemm_int8_avx2.c — the AVX2 int8 kernel (built with -mavx2 -mfma; gemm.c
 * calls it only after cpuid says so).  Numerics and layouts: gemm_kernels.h;
 * it must give the portable kernel's integers (gemm_int8.c).
 *
 * Register tile 6×16 as the float AVX2 kernel's: per pair of k, each row's
 * A word (two int16) is broadcast and VPMADDWD multiplies it with two B
 * vectors of 8 columns × 2 k, summing each column's two products into
 * int32; VPADDD accumulates.  12 accumulators, 2 B vectors, the broadcast
 * and the product: all 16 ymm.  That is 32 multiply-adds per multiply
 * instruction against 8 per FMA of the float kernel, at the same issue
 * rate on Zen 3 (2 per cycle), but each needs an add as well, so the
 * kernel's peak is twice the float kernel's.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../gemm_kernels.h"

#define MR 6
#define NR 16

#define INLINE static inline __attribute__ ((always_inline))

/* 8 floats → 8 bytes q + 128 in k order, rounded as the portable kernel
 * rounds (VCVTPS2DQ in the default mode); |q| ≤ 127, so packing never
 * saturates */
INLINE __m128i
quant8 (const float *x, __m256 inv)
{
  const __m256i q = _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x), inv));
  const __m128i w = _mm_packs_epi32 (_mm256_castsi256_si128 (q),
      _mm256_extracti128_si256 (q, 1));
  return _mm_add_epi8 (_mm_packs_epi16 (w, w), _mm_set1_epi8 ((char) 0x80));
}

static void
avx2_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale)
{
  const int groups = (K + 3) / 4;
  const __m256 sign = _mm256_set1_ps (-0.0f);

  for (int i = 0; i < m; i++) {
    const float *row = a + i * lda;
    uint8_t *d = (uint8_t *) (dst + (size_t) i * groups);
    __m256 vmax = _mm256_setzero_ps ();
    __m128 h;
    float max, inv;
    int k = 0;

    for (; k + 8 <= K; k += 8)
      vmax = _mm256_max_ps (vmax, _mm256_andnot_ps (sign, _mm256_loadu_ps (row + k)));
    h = _mm_max_ps (_mm256_castps256_ps128 (vmax), _mm256_extractf128_ps (vmax, 1));
    h = _mm_max_ps (h, _mm_movehl_ps (h, h));
    h = _mm_max_ss (h, _mm_shuffle_ps (h, h, 1));
    max = _mm_cvtss_f32 (h);
    for (; k < K; k++)
      max = fmaxf (max, fabsf (row[k]));
    inv = max > 0.0f ? 127.0f / max : 0.0f;
    scale[i] = max / 127.0f;

    const __m256 vinv = _mm256_set1_ps (inv);
    k = 0;
    for (; k + 8 <= K; k += 8)
      _mm_storel_epi64 ((__m128i *) (d + k), quant8 (row + k, vinv));
    for (; k < K; k++)
      d[k] = (uint8_t) ((int) nearbyintf (row[k] * inv) + 128);
    for (; k < 4 * groups; k++)
      d[k] = 128;
  }
}

/* out rows from the integer sums (gemm_kernels.h's epilogue) */
INLINE void
finish_rows (const int m, __m256i acc[][2], const int32_t *off,
    const float *sa, const float *sb, const float *src, ptrdiff_t lds,
    const float *bias, float *out, ptrdiff_t ldo)
{
  const __m256 sb0 = _mm256_loadu_ps (sb), sb1 = _mm256_loadu_ps (sb + 8);
  const __m256i off0 = _mm256_loadu_si256 ((const __m256i *) off);
  const __m256i off1 = _mm256_loadu_si256 ((const __m256i *) (off + 8));
  /* src row i is read before out row i is written: src may equal out */
#pragma GCC unroll 8
  for (int i = 0; i < m; i++) {
    const __m256 s = _mm256_set1_ps (sa[i]);
    __m256 v0 = _mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_sub_epi32 (acc[i][0], off0)),
        _mm256_mul_ps (s, sb0));
    __m256 v1 = _mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_sub_epi32 (acc[i][1], off1)),
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

/* Six rows, the common case, in assembly: in C, GCC keeps the constant
 * of ones in a register and spills accumulators (12 accumulators, 2 B
 * vectors, the broadcast and the product already take all 16).  Here the
 * ones are a memory operand. */
static void
tile6 (int groups, const uint32_t *a, const uint32_t *b, __m256i acc[6][2])
{
  static const int16_t ones[16] __attribute__ ((aligned (32))) = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
  const ptrdiff_t stride = (ptrdiff_t) groups * 4;
  const uint32_t *a3 = a + 3 * (ptrdiff_t) groups;

#define ROW(addr, c0, c1) \
      "vpbroadcastd " addr ", %%ymm14\n\t" \
      "vpmaddubsw %%ymm12, %%ymm14, %%ymm15\n\t" \
      "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t" \
      "vpaddd %%ymm15, %%ymm" c0 ", %%ymm" c0 "\n\t" \
      "vpmaddubsw %%ymm13, %%ymm14, %%ymm15\n\t" \
      "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t" \
      "vpaddd %%ymm15, %%ymm" c1 ", %%ymm" c1 "\n\t"
  __asm__ volatile (
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
      "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
      "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
      "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
      "test %[g], %[g]\n\t"
      "jz 2f\n\t"
      ".p2align 4\n"
      "1:\n\t"
      "vmovdqu (%[b]), %%ymm12\n\t"
      "vmovdqu 32(%[b]), %%ymm13\n\t"
      ROW ("(%[a])", "0", "1")
      ROW ("(%[a],%[s])", "2", "3")
      ROW ("(%[a],%[s],2)", "4", "5")
      ROW ("(%[a3])", "6", "7")
      ROW ("(%[a],%[s],4)", "8", "9")
      ROW ("(%[a3],%[s],2)", "10", "11")
      "add $4, %[a]\n\t"
      "add $4, %[a3]\n\t"
      "add $64, %[b]\n\t"
      "dec %[g]\n\t"
      "jnz 1b\n"
      "2:\n\t"
      "vmovdqu %%ymm0, 0(%[acc])\n\t"
      "vmovdqu %%ymm1, 32(%[acc])\n\t"
      "vmovdqu %%ymm2, 64(%[acc])\n\t"
      "vmovdqu %%ymm3, 96(%[acc])\n\t"
      "vmovdqu %%ymm4, 128(%[acc])\n\t"
      "vmovdqu %%ymm5, 160(%[acc])\n\t"
      "vmovdqu %%ymm6, 192(%[acc])\n\t"
      "vmovdqu %%ymm7, 224(%[acc])\n\t"
      "vmovdqu %%ymm8, 256(%[acc])\n\t"
      "vmovdqu %%ymm9, 288(%[acc])\n\t"
      "vmovdqu %%ymm10, 320(%[acc])\n\t"
      "vmovdqu %%ymm11, 352(%[acc])\n\t"
      : [a] "+r" (a), [a3] "+r" (a3), [b] "+r" (b), [g] "+r" (groups)
      : [s] "r" (stride), [acc] "r" (acc), [ones] "m" (ones)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
        "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "cc", "memory");
#undef ROW
}

/* The tile for a constant m < 6 (unrolled after inlining, accumulators in
 * registers). */
INLINE void
tile_rows (const int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *off, const float *sa, const float *sb, const float *src,
    ptrdiff_t lds, const float *bias, float *out, ptrdiff_t ldo)
{
  const __m256i ones = _mm256_set1_epi16 (1);
  __m256i acc[MR][2];

#pragma GCC unroll 8
  for (int i = 0; i < m; i++)
    acc[i][0] = acc[i][1] = _mm256_setzero_si256 ();

  for (int g = 0; g < groups; g++) {
    const __m256i b0 = _mm256_loadu_si256 ((const __m256i *) (b + g * NR));
    const __m256i b1 = _mm256_loadu_si256 ((const __m256i *) (b + g * NR + 8));
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
      const __m256i av = _mm256_set1_epi32 ((int) a[(size_t) i * groups + g]);
      acc[i][0] = _mm256_add_epi32 (acc[i][0],
          _mm256_madd_epi16 (_mm256_maddubs_epi16 (av, b0), ones));
      acc[i][1] = _mm256_add_epi32 (acc[i][1],
          _mm256_madd_epi16 (_mm256_maddubs_epi16 (av, b1), ones));
    }
  }

  finish_rows (m, acc, off, sa, sb, src, lds, bias, out, ldo);
}

static void
avx2_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *off, const float *sa, const float *sb, const float *src,
    ptrdiff_t lds, const float *bias, float *out, ptrdiff_t ldo)
{
#define TILE_CASE(n) \
    case n: tile_rows (n, groups, a, b, off, sa, sb, src, lds, bias, out, ldo); return;
  switch (m) {
    TILE_CASE (1)
    TILE_CASE (2)
    TILE_CASE (3)
    TILE_CASE (4)
    TILE_CASE (5)
    case 6: {
      __m256i acc[6][2];
      tile6 (groups, a, b, acc);
      finish_rows (6, acc, off, sa, sb, src, lds, bias, out, ldo);
      return;
    }
    default:
      return;
  }
#undef TILE_CASE
}

const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx2 = {
  .name = "avx2-int8",
  .mr = MR,
  .nr = NR,
  .quant_a = avx2_quant_a,
  .tile = avx2_tile,
};
