/* gemm_kernel_template.h — one GEMM kernel variant, written once for every
 * vector width.  Included (once per file) by gemm.c (portable) and by
 * x86/gemm_avx2.c and x86/gemm_avx512.c, each compiled with its own ISA
 * flags.  Sharing the source means the AVX-512 code runs the same logic that
 * the tests exercise on every machine through the other variants.
 *
 * The includer defines, before including:
 *   MC_T_SYMBOL, MC_T_LABEL   the mc_gemm_kernels object and its name
 *   MC_VL                     floats per vector
 *   MC_NV, MC_MR              register tile: MC_MR rows × MC_NV vectors
 *   MC_KC, MC_NC              cache blocking (see gemm_kernels.h)
 *   vf, vi                    GCC vectors of MC_VL floats / int32 (operators
 *                             work on them; casts between them reinterpret)
 *   v_load, v_store (unaligned), v_set1, v_max, v_abs, v_div,
 *   v_fma (a·b + c, fused where the ISA can), v_sqr_lo (x·x - fl(x·x),
 *   exactly), v_select_gt (x > y ? a : b)
 */
#include <math.h>
#include <string.h>

#include "gemm_kernels.h"

#define MC_NR (MC_VL * MC_NV)

#if MC_MR > MC_GEMM_MAX_MR || MC_NR > MC_GEMM_MAX_NR
#error "register tile larger than gemm_kernels.h allows"
#endif

#define MC_INLINE static inline __attribute__ ((always_inline))

/* The register tile for a constant m: after inlining, m is a literal, the
 * loops unroll and the accumulators live in registers.  A is read in place
 * (row-major activations); each B step is MC_NV vector loads from the packed
 * panel, each A element one broadcast. */
MC_INLINE void
tile_rows (const int m, int kc, const float *a, ptrdiff_t lda, const float *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
  vf acc[MC_MR][MC_NV];
  const float *row[MC_MR];

#pragma GCC unroll 16
  for (int i = 0; i < m; i++) {
    row[i] = a + i * lda;
#pragma GCC unroll 8
    for (int j = 0; j < MC_NV; j++)
      acc[i][j] = v_set1 (0.0f);
  }

  for (int k = 0; k < kc; k++) {
    vf bv[MC_NV];
#pragma GCC unroll 8
    for (int j = 0; j < MC_NV; j++)
      bv[j] = v_load (b + (ptrdiff_t) k * MC_NR + j * MC_VL);
#pragma GCC unroll 16
    for (int i = 0; i < m; i++) {
      const vf av = v_set1 (row[i][k]);
#pragma GCC unroll 8
      for (int j = 0; j < MC_NV; j++)
        acc[i][j] = v_fma (av, bv[j], acc[i][j]);
    }
  }

  /* src row i is read before out row i is written: src may equal out */
#pragma GCC unroll 16
  for (int i = 0; i < m; i++) {
#pragma GCC unroll 8
    for (int j = 0; j < MC_NV; j++) {
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
kernel_tile (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
    const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo)
{
#define MC_TILE_CASE(n) \
    case n: tile_rows (n, kc, a, lda, b, src, lds, bias, out, ldo); return;
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

/* GELU(x) = x·Φ(x) with Φ(x) = ½·erfc(-x/√2), through erfc(z), z = |x|/√2:
 *   erfc(z) = t·exp(g(t) - z²),  t = 1/(1 + |x|/(2√2)),
 * where g is smooth on t ∈ (0.17, 1] (|x| ≤ 13.5) and is fitted by a degree-10
 * polynomial in u = t - ½ (weighted least squares, coefficients rounded to
 * float one at a time from the top, the lower ones refitted after each; fit
 * error 1.2e-7 absolute in g, i.e. relative in erfc).  Then
 *   x ≤ 0:  GELU = ½·x·erfc(z)         (no cancellation: accurate relative
 *                                       error even where 1 + erf(x/√2) ≈ 0)
 *   x > 0:  GELU = x - ½·x·erfc(z)
 * z² = x²/2 is carried as an exact float pair and folded into exp's
 * range reduction, so large |x| loses no accuracy in the exponent.  Beyond
 * x > 10 GELU is x to float precision; below x < -13.15 it is under FLT_MIN
 * (1.2e-38) and flushed to 0. */
/* The GELU is a ~100-cycle dependency chain (a division and two Horner
 * polynomials) of ~50 operations: one vector at a time, the out-of-order
 * window holds too few chains to fill the FMA ports.  gelu_group runs
 * `ways` vectors in lock step, step by step (8 ways: 1.5× the throughput of
 * one on Zen 3). */
#define MC_EACH _Pragma ("GCC unroll 8") for (int w = 0; w < ways; w++)
MC_INLINE void
gelu_group (vf *xs, const int ways)
{
  const vf zero = v_set1 (0.0f);
  const vf magic = v_set1 (12582912.0f);
  vf x[8], x2[8], x2_lo[8], t[8], u[8], g[8], y[8], nm[8], r[8], p[8], h[8];

  MC_EACH x[w] = xs[w];
  MC_EACH x2[w] = x[w] * x[w];
  MC_EACH x2_lo[w] = v_sqr_lo (x[w], x2[w]);     /* x² = x2 + x2_lo exactly */
  MC_EACH t[w] = v_div (v_set1 (1.0f), v_fma (v_abs (x[w]),
        v_set1 (0.353553390593273762f), v_set1 (1.0f)));
  MC_EACH u[w] = t[w] - v_set1 (0.5f);
  MC_EACH g[w] = v_fma (v_set1 (-1.424514949e-01f), u[w],
      v_set1 (2.649523914e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (-1.243695710e-02f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (-2.935919762e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (1.097036898e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (2.821698785e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (-1.578357816e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (-3.751619458e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (1.893712580e-01f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (1.345286489e+00f));
  MC_EACH g[w] = v_fma (g[w], u[w], v_set1 (-6.717940569e-01f));

  /* exp(g - x²/2) = 2^n · exp(r), n = round((g - x²/2)/ln 2).  The magic
   * constant 1.5·2²³ rounds to an integer and leaves it in the low mantissa
   * bits; n ≥ -126 keeps 2^n a normal float (x < -13.15 is zeroed below).
   * ln 2 = L1 + L2 with L1 = 0x1.62e4p-1 (15 bits): n·L1 is exact and so is
   * y - n·L1, fused or not (Cody and Waite). */
  MC_EACH y[w] = v_set1 (-0.5f) * x2[w];        /* exact */
  MC_EACH nm[w] = v_max (v_fma (g[w] + y[w], v_set1 (1.44269504088896341f),
        magic), v_set1 (12582912.0f - 126.0f));
  MC_EACH {
    const vf n = nm[w] - magic;
    r[w] = v_fma (n, v_set1 (-0.693145751953125f), y[w])
        + v_fma (n, v_set1 (-1.428606820309417e-06f),
            v_fma (x2_lo[w], v_set1 (-0.5f), g[w]));
  }
  MC_EACH p[w] = v_fma (v_set1 (1.383698778e-03f), r[w],
      v_set1 (8.379752748e-03f));
  MC_EACH p[w] = v_fma (p[w], r[w], v_set1 (4.166840389e-02f));
  MC_EACH p[w] = v_fma (p[w], r[w], v_set1 (1.666636318e-01f));
  MC_EACH p[w] = v_fma (p[w], r[w], v_set1 (4.999999106e-01f));
  MC_EACH p[w] = v_fma (p[w], r[w], v_set1 (1.0f));
  MC_EACH p[w] = v_fma (p[w], r[w], v_set1 (1.0f));

  /* h = ½·x·erfc(z); p·2^n is exact and ½·x·t stays near 1, so no
   * intermediate leaves the normal range before the result does */
  MC_EACH h[w] = (v_set1 (0.5f) * x[w] * t[w])
      * (p[w] * (vf) (((vi) nm[w] - (vi) magic + 127) << 23));
  MC_EACH {
    vf res = v_select_gt (x[w], zero, x[w] - h[w], h[w]);
    res = v_select_gt (x[w], v_set1 (10.0f), x[w], res);
    xs[w] = v_select_gt (v_set1 (-13.15f), x[w], zero, res);
  }
}
#undef MC_EACH

static void
kernel_gelu (float *x, size_t n)
{
  size_t i = 0;
  vf v[8];

  for (; i + 8 * MC_VL <= n; i += 8 * MC_VL) {
    for (int w = 0; w < 8; w++)
      v[w] = v_load (x + i + w * MC_VL);
    gelu_group (v, 8);
    for (int w = 0; w < 8; w++)
      v_store (x + i + w * MC_VL, v[w]);
  }
  for (; i + 4 * MC_VL <= n; i += 4 * MC_VL) {
    for (int w = 0; w < 4; w++)
      v[w] = v_load (x + i + w * MC_VL);
    gelu_group (v, 4);
    for (int w = 0; w < 4; w++)
      v_store (x + i + w * MC_VL, v[w]);
  }
  for (; i < n; i += MC_VL) {
    /* the last vectors one at a time, the very last one padded */
    float tmp[MC_VL] = { 0 };
    const size_t k = n - i < MC_VL ? n - i : MC_VL;
    memcpy (tmp, x + i, k * sizeof (float));
    v[0] = v_load (tmp);
    gelu_group (v, 1);
    v_store (tmp, v[0]);
    memcpy (x + i, tmp, k * sizeof (float));
  }
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
  .finish = kernel_finish,
  .gelu = kernel_gelu,
};

#undef MC_NR
#undef MC_INLINE
