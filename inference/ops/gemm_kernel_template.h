/* gemm_kernel_template.h — one GEMM kernel variant, written once for every
 * vector width.  Included (once per file) by gemm_portable.c and by
 * x86/gemm_avx2.c and x86/gemm_avx512.c, each compiled with its own ISA
 * flags.  Sharing the source means the AVX-512 code runs the same logic that
 * the tests exercise on every machine through the other variants.
 *
 * The includer defines, before including:
 *   MC_T_SYMBOL, MC_T_LABEL   the mc_gemm_kernels object and its name
 *   MC_VL                     floats per vector
 *   MC_NV, MC_MR              register tile: MC_MR rows × MC_NV vectors
 *   MC_KC, MC_NC              cache blocking (see gemm_kernels.h)
 *   MC_PF_STEPS               k steps per prefetched line of B (a power of
 *                             two, at most 8; x86/gemm_avx512.c says why 2)
 *   vf, vi                    GCC vectors of MC_VL floats / int32 (operators
 *                             work on them; casts between them reinterpret)
 *   v_load, v_store (unaligned), v_set1, v_div,
 *   v_max (a > b ? a : b: b when either is NaN, as MAXPS),
 *   v_min (a < b ? a : b: b when either is NaN, as MINPS),
 *   v_fma (a·b + c, fused where the ISA can), v_select_gt (x > y ? a : b),
 * and, where one instruction does it (gelu_template.h),
 *   MC_GELU_PIECES, v_lut8 (idx, table): lane i is table[idx[i]], idx[i] < 8
 * and may define
 *   MC_TILE_STEPS             k = f (m, kc, a, lda, b, acc, &pf, pf_end):
 *                             the first k steps of an m-row tile from zeroed
 *                             accumulators, in the order of the C loop, or 0
 *                             (x86/gemm_avx2.c, gemm_avx512.c: the k loop in
 *                             assembly; MC_GEMM_ASM=0 turns it off)
 */
#include <math.h>
#include <string.h>

#include "gemm_kernels.h"

#define MC_NR (MC_VL * MC_NV)

#if MC_MR > MC_GEMM_MAX_MR || MC_NR > MC_GEMM_MAX_NR
#error "register tile larger than gemm_kernels.h allows"
#endif

#define MC_INLINE static inline __attribute__ ((always_inline))

#include "gelu_template.h"

/* The register tile for a constant m: after inlining, m is a literal, the
 * loops unroll and the accumulators live in registers.  A is read in place
 * (row-major activations); each B step is MC_NV vector loads from the packed
 * panel, each A element one broadcast. */
MC_INLINE void
tile_rows (const int m, const int nv, int kc, const float *a, ptrdiff_t lda,
    const float *b, const float *src, ptrdiff_t lds, const float *bias,
    float *out, ptrdiff_t ldo, const char *pf, const char *pf_end)
{
  vf acc[MC_MR][MC_NV];
  const float *row[MC_MR];

#pragma GCC unroll 16
  for (int i = 0; i < m; i++) {
    row[i] = a + i * lda;
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++)
      acc[i][j] = v_set1 (0.0f);
  }

  int k = 0;
#ifdef MC_TILE_STEPS
  if (nv == MC_NV && !mc_gemm_asm_off)
    k = MC_TILE_STEPS (m, kc, a, lda, b, acc, &pf, pf_end);
#endif
  /* one prefetch every MC_PF_STEPS steps, or every step when the lines
   * asked for outnumber that (gemm_kernels.h); a test in the loop rather
   * than an unrolled block of steps, with which GCC 12 spilled
   * accumulators */
  const int pf_mask = mc_pf_dense (pf, pf_end, kc - k, MC_PF_STEPS) ? 0 : MC_PF_STEPS - 1;
  for (; k < kc; k++) {
    vf bv[MC_NV];
    if ((k & pf_mask) == 0 && pf < pf_end) {
      __builtin_prefetch (pf, 0, 2);
      pf += 64;
    }
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++)
      bv[j] = v_load (b + (ptrdiff_t) k * MC_NR + j * MC_VL);
#pragma GCC unroll 16
    for (int i = 0; i < m; i++) {
      const vf av = v_set1 (row[i][k]);
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++)
        acc[i][j] = v_fma (av, bv[j], acc[i][j]);
    }
  }

  /* src row i is read before out row i is written: src may equal out */
#pragma GCC unroll 16
  for (int i = 0; i < m; i++) {
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      vf v = acc[i][j];
      if (src)
        v += v_load (src + i * lds + j * MC_VL);
      if (bias)
        v += v_load (bias + j * MC_VL);
      v_store (out + i * ldo + j * MC_VL, v);
    }
  }
}

/* The tile of nv vectors for a run-time m: each m its own unrolled copy. */
MC_INLINE void
tile_any_rows (const int nv, int m, int kc, const float *a, ptrdiff_t lda,
    const float *b, const float *src, ptrdiff_t lds, const float *bias,
    float *out, ptrdiff_t ldo, const char *pf, const char *pf_end)
{
#define MC_TILE_CASE(n) \
    case n: tile_rows (n, nv, kc, a, lda, b, src, lds, bias, out, ldo, pf, pf_end); return;
  switch (m) {
    MC_TILE_CASE (1)
#if MC_MR >= 2
    MC_TILE_CASE (2)
#endif
#if MC_MR >= 3
    MC_TILE_CASE (3)
#endif
#if MC_MR >= 4
    MC_TILE_CASE (4)
#endif
#if MC_MR >= 5
    MC_TILE_CASE (5)
#endif
#if MC_MR >= 6
    MC_TILE_CASE (6)
#endif
#if MC_MR >= 7
    MC_TILE_CASE (7)
#endif
#if MC_MR >= 8
    MC_TILE_CASE (8)
#endif
#if MC_MR >= 9
    MC_TILE_CASE (9)
#endif
#if MC_MR >= 10
    MC_TILE_CASE (10)
#endif
#if MC_MR >= 11
    MC_TILE_CASE (11)
#endif
#if MC_MR >= 12
    MC_TILE_CASE (12)
#endif
#if MC_MR >= 13
    MC_TILE_CASE (13)
#endif
#if MC_MR >= 14
    MC_TILE_CASE (14)
#endif
#if MC_MR >= 15
    MC_TILE_CASE (15)
#endif
#if MC_MR >= 16
    MC_TILE_CASE (16)
#endif
    default:
      return;
  }
#undef MC_TILE_CASE
}

static void
kernel_tile (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo, const char *pf, const char *pf_end)
{
  tile_any_rows (MC_NV, m, kc, a, lda, b, src, lds, bias, out, ldo, pf, pf_end);
}

#if MC_NV % 2 == 0
/* Half a panel's columns: MCi2's 80 and 240 channels end in a panel of 16
 * of 32 columns on AVX-512.  The same operations per column as
 * kernel_tile's, so the same bits. */
static void
kernel_tile_half (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo, const char *pf, const char *pf_end)
{
  tile_any_rows (MC_NV / 2, m, kc, a, lda, b, src, lds, bias, out, ldo, pf, pf_end);
}
#define MC_TILE_HALF kernel_tile_half
#else
#define MC_TILE_HALF NULL
#endif

/* x[i] = GELU(x[i]), i < n, exact (kernel_gelu) or coarse */
MC_INLINE void
gelu_rows (float *x, size_t n, const int coarse)
{
  size_t i = 0;
  vf v[MC_GELU_WAYS];

  for (; i + MC_GELU_WAYS * MC_VL <= n; i += MC_GELU_WAYS * MC_VL) {
    for (int w = 0; w < MC_GELU_WAYS; w++)
      v[w] = v_load (x + i + w * MC_VL);
    if (coarse)
      gelu_coarse_group (v, MC_GELU_WAYS);
    else
      gelu_group (v, MC_GELU_WAYS);
    for (int w = 0; w < MC_GELU_WAYS; w++)
      v_store (x + i + w * MC_VL, v[w]);
  }
  for (; i < n; i += MC_VL) {
    /* the last vectors one at a time, the very last one padded */
    float tmp[MC_VL] = { 0 };
    const size_t k = n - i < MC_VL ? n - i : MC_VL;
    memcpy (tmp, x + i, k * sizeof (float));
    v[0] = v_load (tmp);
    if (coarse)
      gelu_coarse_group (v, 1);
    else
      gelu_group (v, 1);
    v_store (tmp, v[0]);
    memcpy (x + i, tmp, k * sizeof (float));
  }
}

static void
kernel_gelu (float *x, size_t n)
{
  gelu_rows (x, n, 0);
}

static void
kernel_gelu_coarse (float *x, size_t n)
{
  gelu_rows (x, n, 1);
}

static void
kernel_finish (float *src, ptrdiff_t lds, int m, int n, mc_act act,
    const float *res, ptrdiff_t ldr, float *c, ptrdiff_t ldc)
{
  if (act != MC_ACT_NONE) {
    /* a register tile's rows are contiguous: one call for all of them */
    const int whole = lds == MC_NR;
    for (int i = 0; i < (whole ? 1 : m); i++) {
      float *row = src + i * lds;
      const int len = whole ? m * MC_NR : n;
      if (act == MC_ACT_GELU) {
        kernel_gelu (row, (size_t) len);
      } else if (act == MC_ACT_GELU_COARSE) {
        kernel_gelu_coarse (row, (size_t) len);
      } else {
        int v = 0;
        for (; v + MC_VL <= len; v += MC_VL)
          v_store (row + v, v_max (v_load (row + v), v_set1 (0.0f)));
        for (; v < len; v++)
          row[v] = row[v] > 0.0f ? row[v] : 0.0f;
      }
    }
  }
  if (src == c && !res)
    return;
  for (int i = 0; i < m; i++) {
    const float *t = src + i * lds;
    float *ci = c + i * ldc;
    const float *ri = res ? res + i * ldr : NULL;
    int j = 0;
    /* res row i is read before c row i is written: res may equal c */
    for (; j + MC_VL <= n; j += MC_VL) {
      vf v = v_load (t + j);
      if (ri)
        v += v_load (ri + j);
      v_store (ci + j, v);
    }
    for (; j < n; j++)
      ci[j] = ri ? t[j] + ri[j] : t[j];   /* t + 0 would turn -0 into +0 */
  }
}

const mc_gemm_kernels MC_T_SYMBOL = {
  .name = MC_T_LABEL,
  .mr = MC_MR,
  .nr = MC_NR,
  .kc = MC_KC,
  .nc = MC_NC,
  .tile = kernel_tile,
  .tile_half = MC_TILE_HALF,
  .finish = kernel_finish,
  .gelu = kernel_gelu,
  .gelu_coarse = kernel_gelu_coarse,
};

#undef MC_NR
#undef MC_TILE_HALF
#undef MC_INLINE
