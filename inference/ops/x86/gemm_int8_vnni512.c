/* gemm_int8_vnni512.c — the int8 kernel of the AVX-512 slot: VPDPBUSD on
 * 512-bit vectors (built with -mavx512f -mavx512bw -mavx512vl -mavx512vnni;
 * gemm_dispatch.c picks it only where cpuid and XCR0 report AVX512-VNNI).
 *
 * Panels are the AVX-512 float kernel's 32 columns, so the epilogue
 * (finish) and the N blocking are that slot's.  Register tile 8×32: 16 zmm
 * accumulators, 2 B vectors and the A broadcast, against the 256-bit
 * kernel's 6×16 (gemm_int8_vnni.c): each VPDPBUSD adds 64 unsigned·signed
 * byte products instead of 32.  Eight rows is the driver's int8 limit
 * (MC_GEMM_INT8_MAX_MR); 16 independent sums still cover the instruction's
 * latency on both of Sapphire Rapids' 512-bit ports.
 *
 * Numerics are those of every int8 kernel (gemm_kernels.h): A stored
 * unsigned (a_bias 0) by the shared quant_rows, exact int32 sums, then the
 * same float epilogue lane by lane, so outputs equal the AVX2 kernel's bit
 * for bit.  Its test is tests/emulated (an emulated AVX512-VNNI CPU): this
 * code is never run by the suite on CPUs without AVX512-VNNI. */
#include "gemm_int8_x86.h"

#define TILE_MR 8
#define TILE_NR 32

/* acc + Σ over each 4 bytes of (unsigned a)·(signed b), in place: GCC 12
 * compiles _mm512_dpbusd_epi32 in this loop with a register copy of every
 * accumulator per step (as many moves as multiply-adds); the asm keeps
 * each sum in its register. */
static inline __m512i
dpbusd (__m512i acc, __m512i a, __m512i b)
{
  __asm__ ("%{evex%} vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (a), "vm" (b));
  return acc;
}

static void
vnni512_quant_a (int m, int K, const float *a, ptrdiff_t lda, uint32_t *dst,
    float *scale, int32_t *zero)
{
  quant_rows (m, K, a, lda, dst, scale, zero, 0);
}

INLINE void
tile_rows512 (const int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  __m512i acc[TILE_MR][2];

#pragma GCC unroll 8
  for (int i = 0; i < m; i++)
    acc[i][0] = acc[i][1] = _mm512_setzero_si512 ();

  for (int g = 0; g < groups; g++) {
    const __m512i b0 = _mm512_loadu_si512 (b + (size_t) g * TILE_NR);
    const __m512i b1 = _mm512_loadu_si512 (b + (size_t) g * TILE_NR + 16);
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
      const __m512i av = _mm512_set1_epi32 ((int) a[(size_t) i * groups + g]);
      acc[i][0] = dpbusd (acc[i][0], av, b0);
      acc[i][1] = dpbusd (acc[i][1], av, b1);
    }
  }
  finish_rows512 (m, acc, bsum, sa, za, sb, src, lds, bias, out, ldo);
}

static void
vnni512_tile (int m, int groups, const uint32_t *a, const uint32_t *b,
    const int32_t *bsum, const float *sa, const int32_t *za, const float *sb,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
#define TILE_CASE(n) \
    case n: tile_rows512 (n, groups, a, b, bsum, sa, za, sb, src, lds, bias, \
        out, ldo); return;
  switch (m) {
    TILE_CASE (1)
    TILE_CASE (2)
    TILE_CASE (3)
    TILE_CASE (4)
    TILE_CASE (5)
    TILE_CASE (6)
    TILE_CASE (7)
    TILE_CASE (8)
    default:
      return;
  }
#undef TILE_CASE
}

const mc_gemm_int8_kernels mc_gemm_int8_kernels_avx512_vnni512 = {
  .name = "avx512-vnni512-int8",
  .mr = TILE_MR,
  .nr = TILE_NR,
  .a_bias = 0,
  .quant_a = vnni512_quant_a,
  .tile = vnni512_tile,
};
