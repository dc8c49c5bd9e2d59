/* gemm_avx512.c — the AVX-512 kernel variant (compiled with -mavx512f
 * -mavx512dq -mavx512bw -mavx512vl -mfma; gemm.c calls it only after cpuid
 * and XCR0 say so).
 *
 * Register tile 14×32: 28 zmm accumulators, 2 for the B row, 1 broadcast of
 * A: 31 of the 32 zmm registers.  Per k step 28 FMAs against 2 loads and 14
 * broadcasts, so the two FMA ports of a Sapphire Rapids core stay the
 * bottleneck.  NR = 32 divides every N of the model (multiples of 32).
 * Blocking: a 14×256 A slice (14 KiB) stays in the 48 KiB L1 while 256×512
 * of B (512 KiB) streams from the 2 MiB L2. */
#include <stddef.h>

#include "vec_avx512.h"

static inline vf v_div (vf a, vf b) { return _mm512_div_ps (a, b); }
static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  return _mm512_mask_blend_ps (_mm512_cmp_ps_mask (x, y, _CMP_GT_OQ), b, a);
}

#define MC_T_SYMBOL mc_gemm_kernels_avx512
#define MC_T_LABEL "avx512"
#define MC_VL 16
#define MC_NV 2
#define MC_MR 14
#define MC_KC 256
#define MC_NC 512

/* The full tile's k loop, 8 steps a pass, in assembly, as in gemm_avx2.c:
 * GCC 12's C loop reloads row addresses and the prefetch pointers from the
 * stack (5 accesses a step), for want of general registers, and tests for
 * the prefetch and the loop's end every step.  The A elements are broadcast
 * into a register: as embedded broadcasts in the FMAs (fewer instructions)
 * they would be 30 loads a step, more than the two a cycle that keep up
 * with the FMAs (llvm-mca, Sapphire Rapids: 15.25 cycles a step against the
 * bound of 14).  Not timed on an AVX-512 machine; its bits are checked
 * against the C loop on an emulated Sapphire Rapids (tests/emulated).
 *
 * Full tiles only (m = 14).  acc[14][2] starts at zero and is written whole; rows are a, a + lda, …;
 * the lines from *pfp up to pf_end are prefetched, one every 8 steps, and
 * *pfp advanced, as the C loop does.  Returns the steps done (kc rounded
 * down to 8); the C loop does the rest. */
#define MC_AVX512_STEP(s) \
  "vmovups " #s "*128(%[b]), %%zmm28\n\t" \
  "vmovups " #s "*128+64(%[b]), %%zmm29\n\t" \
  "vbroadcastss " #s "*4(%[a0]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm0\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm1\n\t" \
  "vbroadcastss " #s "*4(%[a0],%[lda]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm2\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm3\n\t" \
  "vbroadcastss " #s "*4(%[a0],%[lda],2), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm4\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm5\n\t" \
  "vbroadcastss " #s "*4(%[a3]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm6\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm7\n\t" \
  "vbroadcastss " #s "*4(%[a3],%[lda]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm8\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm9\n\t" \
  "vbroadcastss " #s "*4(%[a3],%[lda],2), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm10\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm11\n\t" \
  "vbroadcastss " #s "*4(%[a6]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm12\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm13\n\t" \
  "vbroadcastss " #s "*4(%[a6],%[lda]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm14\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm15\n\t" \
  "vbroadcastss " #s "*4(%[a6],%[lda],2), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm16\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm17\n\t" \
  "vbroadcastss " #s "*4(%[a9]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm18\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm19\n\t" \
  "vbroadcastss " #s "*4(%[a9],%[lda]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm20\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm21\n\t" \
  "vbroadcastss " #s "*4(%[a9],%[lda],2), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm22\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm23\n\t" \
  "vbroadcastss " #s "*4(%[a12]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm24\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm25\n\t" \
  "vbroadcastss " #s "*4(%[a12],%[lda]), %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm26\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm27\n\t"
static inline __attribute__ ((always_inline)) int
avx512_tile_steps (int m, int kc, const float *a, ptrdiff_t lda,
    const float *b, vf acc[14][2], const char **pfp, const char *pf_end)
{
  long passes = kc / 8;
  const char *pf = *pfp;
  const float *a3 = a + 3 * lda, *a6 = a + 6 * lda, *a9 = a + 9 * lda;
  const float *a12 = a + 12 * lda;
  const ptrdiff_t lda_bytes = lda * (ptrdiff_t) sizeof (float);

  if (passes <= 0 || m != 14)   /* partial tiles: the C loop */
    return 0;
  if (!pf)
    pf = pf_end;   /* NULL, NULL: nothing to prefetch */
  /* volatile: acc is written through memory, not as an output operand */
  __asm__ volatile (
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
      "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
      "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
      "1:\n\t"
      "cmp %[pfe], %[pf]\n\t"
      "jae 2f\n\t"
      "prefetcht1 (%[pf])\n\t"
      "add $64, %[pf]\n\t"
      "2:\n\t"
      MC_AVX512_STEP (0) MC_AVX512_STEP (1) MC_AVX512_STEP (2)
      MC_AVX512_STEP (3) MC_AVX512_STEP (4) MC_AVX512_STEP (5)
      MC_AVX512_STEP (6) MC_AVX512_STEP (7)
      "add $32, %[a0]\n\t"
      "add $32, %[a3]\n\t"
      "add $32, %[a6]\n\t"
      "add $32, %[a9]\n\t"
      "add $32, %[a12]\n\t"
      "add $1024, %[b]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vmovups %%zmm0, 0(%[acc])\n\t"
      "vmovups %%zmm1, 64(%[acc])\n\t"
      "vmovups %%zmm2, 128(%[acc])\n\t"
      "vmovups %%zmm3, 192(%[acc])\n\t"
      "vmovups %%zmm4, 256(%[acc])\n\t"
      "vmovups %%zmm5, 320(%[acc])\n\t"
      "vmovups %%zmm6, 384(%[acc])\n\t"
      "vmovups %%zmm7, 448(%[acc])\n\t"
      "vmovups %%zmm8, 512(%[acc])\n\t"
      "vmovups %%zmm9, 576(%[acc])\n\t"
      "vmovups %%zmm10, 640(%[acc])\n\t"
      "vmovups %%zmm11, 704(%[acc])\n\t"
      "vmovups %%zmm12, 768(%[acc])\n\t"
      "vmovups %%zmm13, 832(%[acc])\n\t"
      "vmovups %%zmm14, 896(%[acc])\n\t"
      "vmovups %%zmm15, 960(%[acc])\n\t"
      "vmovups %%zmm16, 1024(%[acc])\n\t"
      "vmovups %%zmm17, 1088(%[acc])\n\t"
      "vmovups %%zmm18, 1152(%[acc])\n\t"
      "vmovups %%zmm19, 1216(%[acc])\n\t"
      "vmovups %%zmm20, 1280(%[acc])\n\t"
      "vmovups %%zmm21, 1344(%[acc])\n\t"
      "vmovups %%zmm22, 1408(%[acc])\n\t"
      "vmovups %%zmm23, 1472(%[acc])\n\t"
      "vmovups %%zmm24, 1536(%[acc])\n\t"
      "vmovups %%zmm25, 1600(%[acc])\n\t"
      "vmovups %%zmm26, 1664(%[acc])\n\t"
      "vmovups %%zmm27, 1728(%[acc])\n\t"
      : [a0] "+r" (a), [a3] "+r" (a3), [a6] "+r" (a6), [a9] "+r" (a9),
        [a12] "+r" (a12), [b] "+r" (b), [n] "+r" (passes), [pf] "+r" (pf)
      : [lda] "r" (lda_bytes), [pfe] "r" (pf_end), [acc] "r" (acc)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30");
  if (*pfp)
    *pfp = pf;
  return kc / 8 * 8;
}
#define MC_TILE_STEPS avx512_tile_steps

#include "../gemm_kernel_template.h"
