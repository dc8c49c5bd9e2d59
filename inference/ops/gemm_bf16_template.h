/* gemm_bf16_template.h — one bf16 GEMM kernel variant (see the bf16 part of
 * gemm_kernels.h for the panel layout and the exact arithmetic), written
 * once for every vector width.  Included by gemm_portable.c (emulation),
 * x86/gemm_avx2.c (AVX2 emulation), x86/gemm_avx512bf16.c (the VDPBF16PS
 * instruction) and a test file that runs the latter's code through AVX2
 * instructions.
 *
 * The includer defines, before including:
 *   MC_B_SYMBOL, MC_B_LABEL   the mc_gemm_bf16_kernels object and its name
 *   MC_B_NATIVE               1 when bf_dot is the hardware instruction
 *   MC_VL, MC_B_NV, MC_B_MR   lanes, register tile (as its float sibling)
 *   vf, v_load, v_store, v_set1 (as for gemm_kernel_template.h)
 *   bf_mode_enter (), bf_mode_leave (saved): bracket the accumulation (the
 *     emulations set MXCSR to round-to-nearest with FTZ and DAZ there)
 * and one of two ways to do a pair step:
 *   MC_B_A_WORDS 1: A is packed as pair words like B.  Types bf_a, bf_b and
 *     bf_load_b (pair words of MC_VL columns), bf_bcast_a (one pair word),
 *     bf_dot (acc, a, b): acc + odd products, then + even products.
 *     Optionally MC_B_PACK_A_ROW (a, kc, dst) converts one row (vectorized).
 *   MC_B_A_WORDS 0: A is packed as bf16-rounded floats (even, odd per pair,
 *     rounded MC_VL at a time with vi, the includer's int vector type)
 *     and the pair is two multiply-adds: bf_b_odd / bf_b_even (the pair words
 *     of MC_VL columns widened to floats), v_fma (a·b + c; the product of two
 *     bf16 is exact, so fused or not only matters below FLT_MIN) and
 *     bf_flush (acc) (flush-to-zero where MXCSR cannot do it, else identity).
 */
#include <stdint.h>
#include <string.h>

#include "bf16.h"
#include "gemm_kernels.h"

#define MC_B_NR (MC_VL * MC_B_NV)
#define MC_B_INLINE static inline __attribute__ ((always_inline))

#if MC_B_MR > MC_GEMM_MAX_MR || MC_B_NR > MC_GEMM_MAX_NR
#error "register tile larger than gemm_kernels.h allows"
#endif

#if !MC_B_A_WORDS
typedef unsigned int bf_vu __attribute__ ((vector_size (sizeof (vf))));

/* mc_bf16_round on MC_VL lanes (vi: the includer's int vector): A is
 * converted once per strip and panel block, and a scalar loop there cost as
 * much as a quarter of the products' time */
static inline vf
bf_round_v (vf x)
{
  const bf_vu u = (bf_vu) x;
  const bf_vu e = u & 0x7f800000u;
  const bf_vu nearest = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const bf_vu quiet = (bf_vu) ((vi) (u & 0x7fffffu) != 0) & 0x400000u;
  const bf_vu special = (u | quiet) & 0xffff0000u;      /* inf, NaN */
  const bf_vu zero = (bf_vu) (vi) (e == 0u);
  const bf_vu top = (bf_vu) (vi) (e == 0x7f800000u);
  return (vf) ((zero & (u & 0x80000000u)) | (top & special)
      | (~(zero | top) & nearest));
}
#endif

static void
bf_pack_a (int m, int kc, const float *a, ptrdiff_t lda, void *dst)
{
  const int pairs = (kc + 1) / 2;

  for (int i = 0; i < m; i++) {
    const float *row = a + i * lda;
#if MC_B_A_WORDS
    uint32_t *d = (uint32_t *) dst + (size_t) i * pairs;
#ifdef MC_B_PACK_A_ROW
    MC_B_PACK_A_ROW (row, kc, d);
#else
    for (int q = 0; q < kc / 2; q++)
      d[q] = mc_bf16_pair (row[2 * q], row[2 * q + 1]);
    if (kc & 1)
      d[pairs - 1] = mc_bf16_pair (row[kc - 1], 0.0f);
#endif
#else
    float *d = (float *) dst + (size_t) i * 2 * pairs;
    int k = 0;
    for (; k + MC_VL <= kc; k += MC_VL)
      v_store (d + k, bf_round_v (v_load (row + k)));
    for (; k < kc; k++)
      d[k] = mc_bf16_round (row[k]);
    if (kc & 1)
      d[kc] = 0.0f;
#endif
  }
}

MC_B_INLINE void
bf_tile_rows (const int m, int kc, const void *ap, const uint32_t *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  const int pairs = (kc + 1) / 2;
  vf acc[MC_B_MR][MC_B_NV];
  unsigned saved;

#pragma GCC unroll 16
  for (int i = 0; i < m; i++)
#pragma GCC unroll 8
    for (int j = 0; j < MC_B_NV; j++)
      acc[i][j] = v_set1 (0.0f);

  saved = bf_mode_enter ();
#if MC_B_A_WORDS
  {
    const uint32_t *a = ap;
    for (int q = 0; q < pairs; q++) {
      const uint32_t *bq = b + (ptrdiff_t) q * MC_B_NR;
      bf_b bv[MC_B_NV];
#pragma GCC unroll 8
      for (int j = 0; j < MC_B_NV; j++)
        bv[j] = bf_load_b (bq + j * MC_VL);
#pragma GCC unroll 16
      for (int i = 0; i < m; i++) {
        const bf_a av = bf_bcast_a (a + (ptrdiff_t) i * pairs + q);
#pragma GCC unroll 8
        for (int j = 0; j < MC_B_NV; j++)
          acc[i][j] = bf_dot (acc[i][j], av, bv[j]);
      }
    }
  }
#else
  {
    /* all rows take the odd half of the pair, then all the even half: each
     * accumulator still sees odd before even, as VDPBF16PS does, and only
     * MC_B_NV B vectors are live at a time */
    const float *a = ap;
    const ptrdiff_t sa = 2 * (ptrdiff_t) pairs;
    for (int q = 0; q < pairs; q++) {
      const uint32_t *bq = b + (ptrdiff_t) q * MC_B_NR;
      vf bv[MC_B_NV];
#pragma GCC unroll 8
      for (int j = 0; j < MC_B_NV; j++)
        bv[j] = bf_b_odd (bq + j * MC_VL);
#pragma GCC unroll 16
      for (int i = 0; i < m; i++) {
        const vf av = v_set1 (a[i * sa + 2 * q + 1]);
#pragma GCC unroll 8
        for (int j = 0; j < MC_B_NV; j++)
          acc[i][j] = bf_flush (v_fma (av, bv[j], acc[i][j]));
      }
      /* reload the words rather than keep them live through the odd half
       * (the compiler would merge the two loads; registers are short) */
      __asm__ volatile ("" ::: "memory");
#pragma GCC unroll 8
      for (int j = 0; j < MC_B_NV; j++)
        bv[j] = bf_b_even (bq + j * MC_VL);
#pragma GCC unroll 16
      for (int i = 0; i < m; i++) {
        const vf av = v_set1 (a[i * sa + 2 * q]);
#pragma GCC unroll 8
        for (int j = 0; j < MC_B_NV; j++)
          acc[i][j] = bf_flush (v_fma (av, bv[j], acc[i][j]));
      }
    }
  }
#endif
  bf_mode_leave (saved);

  /* the float epilogue, as in gemm_kernel_template.h (src row i is read
   * before out row i is written: src may equal out) */
#pragma GCC unroll 16
  for (int i = 0; i < m; i++) {
#pragma GCC unroll 8
    for (int j = 0; j < MC_B_NV; j++) {
      vf v = acc[i][j];
      if (src)
        v += v_load (src + i * lds + j * MC_VL);
      if (bias)
        v += v_load (bias + j * MC_VL);
      v_store (out + i * ldo + j * MC_VL, v);
    }
  }
}

static void
bf_kernel_tile (int m, int kc, const void *a, const uint32_t *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
#define MC_B_TILE_CASE(n) \
    case n: bf_tile_rows (n, kc, a, b, src, lds, bias, out, ldo); return;
  switch (m) {
    MC_B_TILE_CASE (1)
#if MC_B_MR >= 2
    MC_B_TILE_CASE (2)
#endif
#if MC_B_MR >= 3
    MC_B_TILE_CASE (3)
#endif
#if MC_B_MR >= 4
    MC_B_TILE_CASE (4)
#endif
#if MC_B_MR >= 5
    MC_B_TILE_CASE (5)
#endif
#if MC_B_MR >= 6
    MC_B_TILE_CASE (6)
#endif
#if MC_B_MR >= 7
    MC_B_TILE_CASE (7)
#endif
#if MC_B_MR >= 8
    MC_B_TILE_CASE (8)
#endif
#if MC_B_MR >= 9
    MC_B_TILE_CASE (9)
#endif
#if MC_B_MR >= 10
    MC_B_TILE_CASE (10)
#endif
#if MC_B_MR >= 11
    MC_B_TILE_CASE (11)
#endif
#if MC_B_MR >= 12
    MC_B_TILE_CASE (12)
#endif
#if MC_B_MR >= 13
    MC_B_TILE_CASE (13)
#endif
#if MC_B_MR >= 14
    MC_B_TILE_CASE (14)
#endif
#if MC_B_MR >= 15
    MC_B_TILE_CASE (15)
#endif
#if MC_B_MR >= 16
    MC_B_TILE_CASE (16)
#endif
    default:
      return;
  }
#undef MC_B_TILE_CASE
}

const mc_gemm_bf16_kernels MC_B_SYMBOL = {
  .name = MC_B_LABEL,
  .mr = MC_B_MR,
  .nr = MC_B_NR,
  .native = MC_B_NATIVE,
  .pack_a = bf_pack_a,
  .tile = bf_kernel_tile,
};

#undef MC_B_NR
#undef MC_B_INLINE
