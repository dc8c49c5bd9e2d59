/* gemm_kernels.h — what gemm.c (the driver: packing, blocking, threading)
 * needs from one kernel variant (portable, AVX2+FMA, AVX-512).  Private to
 * inference/ops; the variants are generated from gemm_kernel_template.h.
 */
#ifndef MC_OPS_GEMM_KERNELS_H
#define MC_OPS_GEMM_KERNELS_H

#include <stddef.h>

#include "gemm.h"

/* The largest register tile any variant uses: the driver keeps one on the
 * stack for edge tiles and activation epilogues. */
#define MC_GEMM_MAX_MR 16
#define MC_GEMM_MAX_NR 64

typedef struct {
  const char *name;
  int mr, nr;     /* register tile: mr rows of A × nr columns (one panel) */
  int kc;         /* K block: a kc×nr panel slice stays in L1 */
  int nc;         /* N block (a multiple of nr): a kc×nc slice of B stays in L2 */
  /* out[i][0:nr] = Σ_k a[i·lda + k]·b[k·nr + 0:nr] + src[i·lds + 0:nr] (src
   * may be NULL, or equal out) + bias[0:nr] (may be NULL), for i < m ≤ mr.
   * b is a packed panel (nr floats per k); every row is written full width. */
  void (*tile) (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
      const float *src, ptrdiff_t lds, const float *bias, float *out,
      ptrdiff_t ldo);
  /* For i < m, j < n: c[i·ldc + j] = act(src[i·lds + j]) + res[i·ldr + j]
   * (res may be NULL).  act is applied in place in src, which may be c;
   * when lds == nr (a register tile) the whole rows, padding included. */
  void (*finish) (float *src, ptrdiff_t lds, int m, int n, mc_act act,
      const float *res, ptrdiff_t ldr, float *c, ptrdiff_t ldc);
  /* x[i] = exact GELU of x[i], i < n (exposed for tests and other ops). */
  void (*gelu) (float *x, size_t n);
} mc_gemm_kernels;

/* Tests only: makes products of variant v (its packing included) use k
 * instead of the built-in kernels; NULL restores them.  Lets a test run the
 * AVX-512 geometry (16 lanes, 14×32 tile) through AVX2 code on machines
 * without AVX-512. */
void mc_gemm_kernels_override (mc_gemm_variant v, const mc_gemm_kernels *k);

extern const mc_gemm_kernels mc_gemm_kernels_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#define MC_GEMM_HAVE_X86 1
extern const mc_gemm_kernels mc_gemm_kernels_avx2;
extern const mc_gemm_kernels mc_gemm_kernels_avx512;
#endif

#endif
