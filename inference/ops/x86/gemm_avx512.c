/* gemm_avx512.c — the AVX-512 kernel variant (compiled with -mavx512f
 * -mavx512dq -mavx512bw -mavx512vl -mfma; gemm_dispatch.c picks it only after
 * cpuid
 * and XCR0 say so).
 *
 * Register tile 14×32: 28 zmm accumulators, 2 for the B row, 1 broadcast of
 * A: 31 of the 32 zmm registers.  Per k step 28 FMAs against 2 loads and 14
 * broadcasts, so the two FMA ports of a Sapphire Rapids core stay the
 * bottleneck.  NR = 32 divides every N of the model (multiples of 32).
 * Blocking: K blocks of up to 512 (a 14×512 A slice, 28 KiB, against the
 * 48 KiB L1 of Sapphire Rapids and Zen 5; 512×512 of B, 1 MiB, from the L2)
 * halve the passes over C that blocks of 256 took for the models' K of 768
 * to 2048.  Zen 5-class guest, `bench-ab`, 15-25 pairs, 512 over 256: MCi0
 * 0.987 and 0.994 on 1 thread, 0.979 and 0.988 on 2; MCi2 0.989 and 0.983;
 * S0 text 0.982 and 0.940; 448 over 512 1.011.  (On the Sapphire Rapids-
 * class VM blocks of 2048, B's block 4 MiB, had measured level or slower
 * than 256; 512 was not measured there.) */
#include <stddef.h>

#include "../gemm_kernels.h"
#include "vec_avx512.h"

#define MC_T_SYMBOL mc_gemm_kernels_avx512
#define MC_T_LABEL "avx512"
#define MC_VL 16
#define MC_NV 2
#define MC_MR 14
#define MC_KC 512
#define MC_NC 512
/* A tile prefetches a line of B every second step, a quarter of the two
 * lines a step reads: enough for the next block when the block has at least
 * 4 row strips (M ≥ 43).  One line every 8 steps covered it from 16 strips
 * on, and stage 4's and the text's products have 5 or 6.  With their B in
 * memory rather than in cache, their time over that with B in cache went
 * 1.14–1.20 → 1.06–1.07 (64×1920×640), 1.19–1.20 → 1.06 (64×640×1920,
 * GELU), 1.24–1.25 → 1.08–1.13 (77×2048×512); products of 256 rows, fully
 * covered before, stayed at 1.05.  A line every step did worse (1.08–1.12)
 * there, but a product of one or two strips asks each tile for a half or
 * all of the next slice, which only a line every step covers: those tiles
 * run the dense pass (mc_pf_dense).  Same ratio, 1 thread, 12 weight sets:
 * 21×512×2048 (GELU) 1.53 → 1.35, 21×2048×512 1.54 → 1.39 (the text's rows
 * around the EOT token), 1×512×2048 1.90 → 1.65. */
#define MC_PF_STEPS 2

/* The full tile's k loop, 8 steps a pass, in assembly, as in gemm_avx2.c:
 * GCC 12's C loop reloads row addresses and the prefetch pointers from the
 * stack (5 accesses a step), for want of general registers, and tests for
 * the prefetch and the loop's end every step.  The A elements are broadcast
 * into a register: as embedded broadcasts in the FMAs (fewer instructions)
 * they would be 30 loads a step, more than the two a cycle that keep up
 * with the FMAs (llvm-mca, Sapphire Rapids: 15.25 cycles a step against the
 * bound of 14); timed on a Sapphire Rapids-class VM, that form took 1.08 and
 * 1.10 times as long (MCi0, S0 text).  This loop against GCC's C loop there,
 * 2 threads: 0.935 (MCi0), 0.938 (text).  Its bits are checked against the C
 * loop (test_gemm; tests/emulated on CPUs without AVX-512).
 *
 * Full tiles only (m = 14).  acc[14][2] starts at zero and is written
 * whole; rows are a, a + lda, …; the lines from *pfp up to pf_end are
 * prefetched, one every MC_PF_STEPS steps, and *pfp advanced, as the C loop
 * does.
 * Returns the steps done (kc rounded down to 8); the C loop does the rest. */
#define MC_AVX512_ZERO(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define MC_AVX512_STORE(r) "vmovups %%zmm" #r ", " #r "*64(%[acc])\n\t"
#define MC_AVX512_ROW(s, row, c0, c1) \
  "vbroadcastss " #s "*4" row ", %%zmm30\n\t" \
  "vfmadd231ps %%zmm28, %%zmm30, %%zmm" #c0 "\n\t" \
  "vfmadd231ps %%zmm29, %%zmm30, %%zmm" #c1 "\n\t"
/* the next line from *pfp, unless pf_end is reached */
#define MC_AVX512_PREFETCH \
  "cmp %[pfe], %[pf]\n\t" \
  "jae 2f\n\t" \
  "prefetcht1 (%[pf])\n\t" \
  "add $64, %[pf]\n\t" \
  "2:\n\t"
#define MC_AVX512_STEP(s) \
  "vmovups " #s "*128(%[b]), %%zmm28\n\t" \
  "vmovups " #s "*128+64(%[b]), %%zmm29\n\t" \
  MC_AVX512_ROW (s, "(%[a0])", 0, 1) \
  MC_AVX512_ROW (s, "(%[a0],%[lda])", 2, 3) \
  MC_AVX512_ROW (s, "(%[a0],%[lda],2)", 4, 5) \
  MC_AVX512_ROW (s, "(%[a3])", 6, 7) \
  MC_AVX512_ROW (s, "(%[a3],%[lda])", 8, 9) \
  MC_AVX512_ROW (s, "(%[a3],%[lda],2)", 10, 11) \
  MC_AVX512_ROW (s, "(%[a6])", 12, 13) \
  MC_AVX512_ROW (s, "(%[a6],%[lda])", 14, 15) \
  MC_AVX512_ROW (s, "(%[a6],%[lda],2)", 16, 17) \
  MC_AVX512_ROW (s, "(%[a9])", 18, 19) \
  MC_AVX512_ROW (s, "(%[a9],%[lda])", 20, 21) \
  MC_AVX512_ROW (s, "(%[a9],%[lda],2)", 22, 23) \
  MC_AVX512_ROW (s, "(%[a12])", 24, 25) \
  MC_AVX512_ROW (s, "(%[a12],%[lda])", 26, 27)

/* one pass of 8 steps: a prefetch before every second step, or before
 * every step (mc_pf_dense) */
#define MC_AVX512_PASS_SPARSE \
  MC_AVX512_PREFETCH MC_AVX512_STEP (0) MC_AVX512_STEP (1) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (2) MC_AVX512_STEP (3) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (4) MC_AVX512_STEP (5) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (6) MC_AVX512_STEP (7)
#define MC_AVX512_PASS_DENSE \
  MC_AVX512_PREFETCH MC_AVX512_STEP (0) MC_AVX512_PREFETCH MC_AVX512_STEP (1) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (2) MC_AVX512_PREFETCH MC_AVX512_STEP (3) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (4) MC_AVX512_PREFETCH MC_AVX512_STEP (5) \
  MC_AVX512_PREFETCH MC_AVX512_STEP (6) MC_AVX512_PREFETCH MC_AVX512_STEP (7)
#define MC_AVX512_TILE_ASM(PASS) \
  __asm__ volatile ( \
    MC_AVX512_ZERO (0) MC_AVX512_ZERO (1) MC_AVX512_ZERO (2) \
    MC_AVX512_ZERO (3) MC_AVX512_ZERO (4) MC_AVX512_ZERO (5) \
    MC_AVX512_ZERO (6) MC_AVX512_ZERO (7) MC_AVX512_ZERO (8) \
    MC_AVX512_ZERO (9) MC_AVX512_ZERO (10) MC_AVX512_ZERO (11) \
    MC_AVX512_ZERO (12) MC_AVX512_ZERO (13) MC_AVX512_ZERO (14) \
    MC_AVX512_ZERO (15) MC_AVX512_ZERO (16) MC_AVX512_ZERO (17) \
    MC_AVX512_ZERO (18) MC_AVX512_ZERO (19) MC_AVX512_ZERO (20) \
    MC_AVX512_ZERO (21) MC_AVX512_ZERO (22) MC_AVX512_ZERO (23) \
    MC_AVX512_ZERO (24) MC_AVX512_ZERO (25) MC_AVX512_ZERO (26) \
    MC_AVX512_ZERO (27) \
    "1:\n\t" \
    PASS \
    "add $32, %[a0]\n\t" \
    "add $32, %[a3]\n\t" \
    "add $32, %[a6]\n\t" \
    "add $32, %[a9]\n\t" \
    "add $32, %[a12]\n\t" \
    "add $1024, %[b]\n\t" \
    "dec %[n]\n\t" \
    "jnz 1b\n\t" \
    MC_AVX512_STORE (0) MC_AVX512_STORE (1) MC_AVX512_STORE (2) \
    MC_AVX512_STORE (3) MC_AVX512_STORE (4) MC_AVX512_STORE (5) \
    MC_AVX512_STORE (6) MC_AVX512_STORE (7) MC_AVX512_STORE (8) \
    MC_AVX512_STORE (9) MC_AVX512_STORE (10) MC_AVX512_STORE (11) \
    MC_AVX512_STORE (12) MC_AVX512_STORE (13) MC_AVX512_STORE (14) \
    MC_AVX512_STORE (15) MC_AVX512_STORE (16) MC_AVX512_STORE (17) \
    MC_AVX512_STORE (18) MC_AVX512_STORE (19) MC_AVX512_STORE (20) \
    MC_AVX512_STORE (21) MC_AVX512_STORE (22) MC_AVX512_STORE (23) \
    MC_AVX512_STORE (24) MC_AVX512_STORE (25) MC_AVX512_STORE (26) \
    MC_AVX512_STORE (27) \
    : [a0] "+r" (a), [a3] "+r" (a3), [a6] "+r" (a6), [a9] "+r" (a9), \
    [a12] "+r" (a12), [b] "+r" (b), [n] "+r" (passes), [pf] "+r" (pf) \
    : [lda] "r" (lda_bytes), [pfe] "r" (pf_end), [acc] "r" (acc) \
    : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", \
    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", \
    "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", \
    "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", \
    "xmm28", "xmm29", "xmm30")

static inline __attribute__ ((always_inline)) int
avx512_tile_steps (int m, int kc, const float *a, ptrdiff_t lda,
    const float *b, vf acc[14][2], const char **pfp, const char *pf_end)
{
  long passes = kc / 8;
  const char *pf = *pfp;
  const ptrdiff_t lda_bytes = lda * (ptrdiff_t) sizeof (float);

  if (passes <= 0 || m != 14)   /* partial tiles: the C loop */
    return 0;
  const float *a3 = a + 3 * lda, *a6 = a + 6 * lda, *a9 = a + 9 * lda;
  const float *a12 = a + 12 * lda;
  if (!pf)
    pf = pf_end;   /* NULL, NULL: nothing to prefetch */
  /* volatile: acc is written through memory, not as an output operand */
  if (mc_pf_dense (pf, pf_end, kc, MC_PF_STEPS))
    MC_AVX512_TILE_ASM (MC_AVX512_PASS_DENSE);
  else
    MC_AVX512_TILE_ASM (MC_AVX512_PASS_SPARSE);
  if (*pfp)
    *pfp = pf;
  return kc / 8 * 8;
}
#define MC_TILE_STEPS avx512_tile_steps

#include "../gemm_kernel_template.h"

/* the assembly loop prefetches a line every second step */
_Static_assert (MC_PF_STEPS == 2, "the assembly k loop assumes 2 steps per prefetch");
