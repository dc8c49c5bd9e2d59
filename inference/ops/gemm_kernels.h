/* gemm_kernels.h — what gemm.c (the driver: packing, blocking, threading)
 * needs from one kernel variant (portable, AVX2+FMA, AVX-512).  Private to
 * inference/ops; the variants are generated from gemm_kernel_template.h.
 */
#ifndef MC_OPS_GEMM_KERNELS_H
#define MC_OPS_GEMM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- bf16 panels (MC_GEMM_BF16, generated from gemm_bf16_template.h) ----
 * B is packed as pairs: for k = 2q, 2q+1 and each of the nr columns one
 * 32-bit word, bf16(B[2q]) low and bf16(B[2q+1]) high (zero past K), the
 * operand layout of VDPBF16PS.  A slice of A (m rows × kc) is converted by
 * pack_a before the tiles that read it.  Each fp32 lane then accumulates,
 * pair after pair, first the odd product then the even one, each a fused
 * multiply-add rounded to nearest even with denormal results flushed to zero
 * (Intel's definition of VDPBF16PS); the emulations do exactly that.  K
 * blocks are MC_GEMM_BF16_KC deep in every kernel (even, so that blocks start
 * on a pair), which makes every bf16 kernel give the same bits for the same
 * product: only the epilogue's GELU differs between ISAs, as in fp32.
 *
 * A bf16 kernel shares the register tile, the N blocking and the epilogue
 * (finish) of the float kernel of its variant slot. */
#define MC_GEMM_BF16_KC 256

typedef struct {
  const char *name;
  int mr, nr;      /* must equal those of the float kernel it pairs with */
  int native;      /* 1: the CPU's bf16 instruction; 0: an emulation */
  /* Writes the m × kc slice a (row stride lda) in this kernel's A format to
   * dst (at most mr·(kc + 1) floats). */
  void (*pack_a) (int m, int kc, const float *a, ptrdiff_t lda, void *dst);
  /* As mc_gemm_kernels.tile, with a from pack_a and b a panel slice of
   * ceil(kc/2) × nr pair words. */
  void (*tile) (int m, int kc, const void *a, const uint32_t *b,
      const float *src, ptrdiff_t lds, const float *bias, float *out,
      ptrdiff_t ldo);
} mc_gemm_bf16_kernels;

/* Tests only, as mc_gemm_kernels_override for the bf16 kernel of slot v. */
void mc_gemm_bf16_kernels_override (mc_gemm_variant v,
    const mc_gemm_bf16_kernels *k);

extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_portable;
#ifdef MC_GEMM_HAVE_X86
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx2;
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx512bf16;
#endif

#endif
