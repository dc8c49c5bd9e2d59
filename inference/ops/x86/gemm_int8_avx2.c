/* gemm_int8_avx2.c — the AVX2 int8 kernel (built with -mavx2 -mfma;
 * gemm_dispatch.c picks it only after cpuid says so).  Numerics and layouts:
 * gemm_kernels.h; it must give the portable kernel's integers (gemm_int8.c).
 *
 * Register tile 6×16 as the float AVX2 kernel's: per 4 k, each row's A
 * word (4 signed bytes) is broadcast; VPSIGNB gives it the signs of two B
 * vectors of 8 columns × 4 bytes, VPMADDUBSW multiplies that by the bytes'
 * magnitudes (VPABSB, once per B vector) and adds neighbouring products
 * into int16, VPMADDWD against ones adds those pairs into int32, VPADDD
 * accumulates: 32 multiply-adds in two multiply instructions and two
 * others, where the float kernel's FMA does 8.  The sign step is what lets both operands keep 8 bits (plain
 * VPMADDUBSW on unsigned A would saturate with 8-bit weights).
 */
#include "gemm_int8_x86.h"

static void
avx2_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero)
{
  quant_rows (m, K, a, lda, dst, scale, zero, 127);
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

  /* per 4 k: |qb| of the two B vectors (ymm12, ymm13); per row: broadcast
   * qa, VPSIGNB qa·sign (qb) with the B bytes from memory, VPMADDUBSW with
   * |qb| */
#define ROW(addr, c0, c1) \
      "vpbroadcastd " addr ", %%ymm14\n\t" \
      "vpsignb (%[b]), %%ymm14, %%ymm15\n\t" \
      "vpmaddubsw %%ymm15, %%ymm12, %%ymm15\n\t" \
      "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t" \
      "vpaddd %%ymm15, %%ymm" c0 ", %%ymm" c0 "\n\t" \
      "vpsignb 32(%[b]), %%ymm14, %%ymm15\n\t" \
      "vpmaddubsw %%ymm15, %%ymm13, %%ymm15\n\t" \
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
      "vpabsb (%[b]), %%ymm12\n\t"
      "vpabsb 32(%[b]), %%ymm13\n\t"
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
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  const __m256i ones = _mm256_set1_epi16 (1);
  __m256i acc[MR][2];

#pragma GCC unroll 8
  for (int i = 0; i < m; i++)
    acc[i][0] = acc[i][1] = _mm256_setzero_si256 ();

  for (int g = 0; g < groups; g++) {
    const uint32_t *bg = b + (size_t) g * NR;
    const __m256i s0 = _mm256_loadu_si256 ((const __m256i *) bg);
    const __m256i s1 = _mm256_loadu_si256 ((const __m256i *) (bg + 8));
    const __m256i m0 = _mm256_abs_epi8 (s0), m1 = _mm256_abs_epi8 (s1);
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
      const __m256i av = _mm256_set1_epi32 ((int) a[(size_t) i * groups + g]);
      acc[i][0] = _mm256_add_epi32 (acc[i][0], _mm256_madd_epi16 (
              _mm256_maddubs_epi16 (m0, _mm256_sign_epi8 (av, s0)), ones));
      acc[i][1] = _mm256_add_epi32 (acc[i][1], _mm256_madd_epi16 (
              _mm256_maddubs_epi16 (m1, _mm256_sign_epi8 (av, s1)), ones));
    }
  }

  finish_rows (m, acc, 127, bsum, sa, za, sb, src, lds, bias, out, ldo);
}

static void
avx2_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
#define TILE_CASE(n) \
    case n: tile_rows (n, groups, a, b, bsum, sa, za, sb, src, lds, bias, \
        out, ldo); return;
  switch (m) {
    TILE_CASE (1)
    TILE_CASE (2)
    TILE_CASE (3)
    TILE_CASE (4)
    TILE_CASE (5)
    case 6: {
      __m256i acc[6][2];
      tile6 (groups, a, b, acc);
      finish_rows (6, acc, 127, bsum, sa, za, sb, src, lds, bias, out, ldo);
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
  .a_bias = 127,
  .quant_a = avx2_quant_a,
  .tile = avx2_tile,
};
