/* gemm_int8_vnni.c — the int8 kernel on VPDPBUSD (256-bit vectors), built
 * once per encoding of the instruction:
 *   MC_I8V_VEX      -mavxvnni: AVX-VNNI (Alder Lake and later, Zen 5)
 *   MC_I8V_EVEX     -mavx512vnni -mavx512vl: AVX512-VNNI (Cascade Lake,
 *                   Ice Lake, Sapphire Rapids, Zen 4)
 *   MC_I8V_EMULATE  plain AVX2, the instruction computed exactly by
 *                   widening: the tests run the kernel's logic that way on
 *                   CPUs without VNNI (tests/ops/meson.build)
 * and MC_I8V_SYMBOL, MC_I8V_LABEL name the kernel.  gemm_dispatch.c picks a
 * real one only where cpuid says so.
 *
 * Same 6×16 tile, panels and epilogue as the AVX2 kernel (gemm_kernels.h,
 * gemm_int8_x86.h), but A is stored unsigned (a_bias 0) and one VPDPBUSD
 * adds four unsigned·signed byte products of each column into its int32
 * accumulator: 32 multiply-adds per instruction where the AVX2 kernel needs
 * four (VPSIGNB, VPMADDUBSW, VPMADDWD, VPADDD).  12 accumulators, 2 B
 * vectors and the broadcast fit the 16 ymm registers without a temporary.
 */
#include "gemm_int8_x86.h"

/* The real instruction as asm, accumulating in place: GCC 12 compiles the
 * intrinsics in this loop with a register copy of every accumulator per
 * step (as many moves as multiply-adds).  The pseudo-prefix picks the
 * encoding: without it the assembler may choose VEX, which a CPU with
 * AVX512-VNNI but no AVX-VNNI (Ice Lake, Cascade Lake) does not run. */
#if defined(MC_I8V_VEX)
static inline __m256i
dpbusd_asm (__m256i acc, __m256i a, __m256i b)
{
  __asm__ ("%{vex%} vpdpbusd %2, %1, %0" : "+x" (acc) : "x" (a), "xm" (b));
  return acc;
}
#define DPBUSD(acc, a, b) dpbusd_asm (acc, a, b)
#elif defined(MC_I8V_EVEX)
static inline __m256i
dpbusd_asm (__m256i acc, __m256i a, __m256i b)
{
  __asm__ ("%{evex%} vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (a), "vm" (b));
  return acc;
}
#define DPBUSD(acc, a, b) dpbusd_asm (acc, a, b)
#elif defined(MC_I8V_EMULATE)
/* acc + Σ over each 4 bytes of (unsigned a)·(signed b), exactly: even and
 * odd bytes widened to int16 (a by zero, b by sign extension), VPMADDWD sums
 * each pair into int32 (at most 2·255·128, no overflow) */
static inline __m256i
dpbusd_emulated (__m256i acc, __m256i a, __m256i b)
{
  const __m256i a_even = _mm256_and_si256 (a, _mm256_set1_epi16 (0x00ff));
  const __m256i a_odd = _mm256_srli_epi16 (a, 8);
  const __m256i b_even = _mm256_srai_epi16 (_mm256_slli_epi16 (b, 8), 8);
  const __m256i b_odd = _mm256_srai_epi16 (b, 8);
  return _mm256_add_epi32 (acc, _mm256_add_epi32 (
          _mm256_madd_epi16 (a_even, b_even), _mm256_madd_epi16 (a_odd, b_odd)));
}
#define DPBUSD(acc, a, b) dpbusd_emulated (acc, a, b)
#else
#error "define MC_I8V_VEX, MC_I8V_EVEX or MC_I8V_EMULATE"
#endif

static void
vnni_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero)
{
  quant_rows (m, K, a, lda, dst, scale, zero, 0);
}

INLINE void
tile_rows (const int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  __m256i acc[MR][2];

#pragma GCC unroll 8
  for (int i = 0; i < m; i++)
    acc[i][0] = acc[i][1] = _mm256_setzero_si256 ();

  for (int g = 0; g < groups; g++) {
    const __m256i b0 = _mm256_loadu_si256 ((const __m256i *) (b + (size_t) g * NR));
    const __m256i b1 = _mm256_loadu_si256 ((const __m256i *) (b + (size_t) g * NR + 8));
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
      const __m256i av = _mm256_set1_epi32 ((int) a[(size_t) i * groups + g]);
      acc[i][0] = DPBUSD (acc[i][0], av, b0);
      acc[i][1] = DPBUSD (acc[i][1], av, b1);
    }
  }
  finish_rows (m, acc, 0, bsum, sa, za, sb, src, lds, bias, out, ldo);
}

static void
vnni_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
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
    TILE_CASE (6)
    default:
      return;
  }
#undef TILE_CASE
}

const mc_gemm_int8_kernels MC_I8V_SYMBOL = {
  .name = MC_I8V_LABEL,
  .mr = MR,
  .nr = NR,
  .a_bias = 0,
  .quant_a = vnni_quant_a,
  .tile = vnni_tile,
};
