/* gemm_avx2.c — the AVX2+FMA kernel variant (compiled with -mavx2 -mfma;
 * gemm_dispatch.c picks it only after cpuid says so).
 *
 * Register tile 6×16: 12 ymm accumulators, 2 for the B row, 1 broadcast of
 * A: 15 of the 16 ymm registers.  Per k step 12 FMAs against 2 loads and 6
 * broadcasts, inside Zen 3's and Haswell+'s 2 FMA + 2-3 load ports.  Blocking:
 * a 6×256 A slice (6 KiB) stays in L1 while 256×256 of B (256 KiB) streams
 * from L2.  The bf16 emulation kernel (same tile) is at the end. */
#include <stddef.h>

#include "vec_avx2.h"

static inline vf v_div (vf a, vf b) { return _mm256_div_ps (a, b); }
static inline vf v_min (vf a, vf b) { return _mm256_min_ps (a, b); }
static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  return _mm256_blendv_ps (b, a, _mm256_cmp_ps (x, y, _CMP_GT_OQ));
}
#define MC_GELU_PIECES 1
static inline vf
v_lut8 (vi idx, const float *table)
{
  return _mm256_permutevar8x32_ps (_mm256_loadu_ps (table), (__m256i) idx);
}

#define MC_T_SYMBOL mc_gemm_kernels_avx2
#define MC_T_LABEL "avx2"
#define MC_VL 8
#define MC_NV 2
#define MC_MR 6
/* K blocks of up to 2048: fewer passes over C and one call per tile for
 * the models' K, which outweighs keeping the A strip in L1 (48 KB at 2048).
 * Measured on Zen 3 against 256 (bench-gemm, 1 thread, 3 alternating rounds):
 * 3-12 % faster on every shape with K > 256 (1232×2048×512 29.8 → 26.9 ms,
 * 64×3072×1024 4.85 → 4.70, 77×512×2048 1.94 → 1.88), and 512 or 1024 in
 * between; the models: S0 text 1 thread ~28 → ~26 ms, MCi0 ~68 → ~66 ms. */
#define MC_KC 2048
#define MC_NC 256
/* a line of B prefetched every 8 steps, an eighth of what a step reads */
#define MC_PF_STEPS 8

/* The tile's k loop, 8 steps a pass, in assembly.  Per step the C loop
 * below issues ~26 instructions for a full tile's 12 FMAs (GCC 12: pointer
 * updates, the loop test and the prefetch test every step); this one 21,
 * the loop control once a pass.  Alone on a core both keep the two FMA
 * pipes busy, but when the core's other hyperthread is busy (on this
 * project's Zen 3 VM most likely another tenant, often for seconds)
 * dispatch is shared and the extra instructions cost time: 64×320×960 ran
 * at 57 GFLOP/s with the C loop and 75–82 with this one, where ONNX
 * Runtime's MLAS, whose kernel is unrolled the same way, ran at 76–80
 * (docs/performance.md, eleventh session).  GCC unrolling the C loop
 * spilled accumulators instead (4 or 8 steps).  Tiles of fewer rows (the
 * last strip of a product whose M is no multiple of 6) run the same loop
 * without the missing rows' broadcasts and FMAs.  Same FMAs in the same
 * order as the C loop: the same bits.
 *
 * acc[6][2] starts at zero and rows 0..m-1 are written (the others zero);
 * rows are a, a + lda, …; the lines from *pfp up to pf_end are prefetched,
 * one every 8 steps, and *pfp advanced, as the C loop does.  Returns the
 * steps done (kc rounded down to 8); the C loop does the rest. */
#define MC_AVX2_ZERO(r) "vxorps %%ymm" #r ", %%ymm" #r ", %%ymm" #r "\n\t"
#define MC_AVX2_STORE(r) "vmovups %%ymm" #r ", " #r "*32(%[acc])\n\t"
#define MC_AVX2_B(s) \
  "vmovups " #s "*64(%[b]), %%ymm12\n\t" \
  "vmovups " #s "*64+32(%[b]), %%ymm13\n\t"
#define MC_AVX2_ROW(s, row, c0, c1) \
  "vbroadcastss " #s "*4" row ", %%ymm14\n\t" \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm" #c0 "\n\t" \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm" #c1 "\n\t"
#define MC_AVX2_STEP1(s) MC_AVX2_B (s) MC_AVX2_ROW (s, "(%[a0])", 0, 1)
#define MC_AVX2_STEP2(s) MC_AVX2_STEP1 (s) MC_AVX2_ROW (s, "(%[a0],%[lda])", 2, 3)
#define MC_AVX2_STEP3(s) MC_AVX2_STEP2 (s) MC_AVX2_ROW (s, "(%[a0],%[lda],2)", 4, 5)
#define MC_AVX2_STEP4(s) MC_AVX2_STEP3 (s) MC_AVX2_ROW (s, "(%[a3])", 6, 7)
#define MC_AVX2_STEP5(s) MC_AVX2_STEP4 (s) MC_AVX2_ROW (s, "(%[a3],%[lda])", 8, 9)
#define MC_AVX2_STEP6(s) MC_AVX2_STEP5 (s) MC_AVX2_ROW (s, "(%[a3],%[lda],2)", 10, 11)

/* volatile: acc is written through memory, not as an output operand */
#define MC_AVX2_LOOP(STEP) \
  __asm__ volatile ( \
      MC_AVX2_ZERO (0) MC_AVX2_ZERO (1) MC_AVX2_ZERO (2) MC_AVX2_ZERO (3) \
      MC_AVX2_ZERO (4) MC_AVX2_ZERO (5) MC_AVX2_ZERO (6) MC_AVX2_ZERO (7) \
      MC_AVX2_ZERO (8) MC_AVX2_ZERO (9) MC_AVX2_ZERO (10) MC_AVX2_ZERO (11) \
      "1:\n\t" \
      "cmp %[pfe], %[pf]\n\t" \
      "jae 2f\n\t" \
      "prefetcht1 (%[pf])\n\t" \
      "add $64, %[pf]\n\t" \
      "2:\n\t" \
      STEP (0) STEP (1) STEP (2) STEP (3) STEP (4) STEP (5) STEP (6) STEP (7) \
      "add $32, %[a0]\n\t" \
      "add $32, %[a3]\n\t" \
      "add $512, %[b]\n\t" \
      "dec %[n]\n\t" \
      "jnz 1b\n\t" \
      MC_AVX2_STORE (0) MC_AVX2_STORE (1) MC_AVX2_STORE (2) \
      MC_AVX2_STORE (3) MC_AVX2_STORE (4) MC_AVX2_STORE (5) \
      MC_AVX2_STORE (6) MC_AVX2_STORE (7) MC_AVX2_STORE (8) \
      MC_AVX2_STORE (9) MC_AVX2_STORE (10) MC_AVX2_STORE (11) \
      : [a0] "+r" (a), [a3] "+r" (a3), [b] "+r" (b), [n] "+r" (passes), \
        [pf] "+r" (pf) \
      : [lda] "r" (lda_bytes), [pfe] "r" (pf_end), [acc] "r" (acc) \
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", \
        "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", \
        "xmm14")

static inline __attribute__ ((always_inline)) int
avx2_tile_steps (int m, int kc, const float *a, ptrdiff_t lda, const float *b,
    vf acc[6][2], const char **pfp, const char *pf_end)
{
  long passes = kc / 8;
  const char *pf = *pfp;
  const float *a3 = m > 3 ? a + 3 * lda : a;
  const ptrdiff_t lda_bytes = lda * (ptrdiff_t) sizeof (float);

  if (passes <= 0)
    return 0;
  if (!pf)
    pf = pf_end;   /* NULL, NULL: nothing to prefetch */
  switch (m) {   /* m is a constant where this is inlined */
    case 1: MC_AVX2_LOOP (MC_AVX2_STEP1); break;
    case 2: MC_AVX2_LOOP (MC_AVX2_STEP2); break;
    case 3: MC_AVX2_LOOP (MC_AVX2_STEP3); break;
    case 4: MC_AVX2_LOOP (MC_AVX2_STEP4); break;
    case 5: MC_AVX2_LOOP (MC_AVX2_STEP5); break;
    case 6: MC_AVX2_LOOP (MC_AVX2_STEP6); break;
    default: return 0;
  }
  if (*pfp)
    *pfp = pf;
  return kc / 8 * 8;
}
#define MC_TILE_STEPS avx2_tile_steps

#include "../gemm_kernel_template.h"

/* the assembly loop prefetches once per pass of 8 steps */
_Static_assert (MC_PF_STEPS == 8, "the assembly k loop assumes 8 steps per prefetch");

/* ---- the bf16 kernel: an emulation of VDPBF16PS with the same tile ----
 * A is rounded to bf16 floats by pack_a; B's pair words widen to floats with
 * a mask (odd k, high half) or a shift (even k, low half); the products of
 * two bf16 are exact, so each FMA rounds once, as the instruction does, and
 * MXCSR (bf16_mxcsr.h) supplies its flush-to-zero. */
#include "bf16_mxcsr.h"

/* two shifts rather than an AND: a mask constant would take the 16th ymm
 * register from the 6×16 tile, and the accumulators would spill */
static inline vf
bf_b_odd (const uint32_t *p)
{
  const __m256i w = _mm256_loadu_si256 ((const __m256i *) p);
  return _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_srli_epi32 (w, 16), 16));
}

static inline vf
bf_b_even (const uint32_t *p)
{
  return _mm256_castsi256_ps (_mm256_slli_epi32 (
          _mm256_loadu_si256 ((const __m256i *) p), 16));
}

static inline vf bf_flush (vf x) { return x; }

#define MC_B_SYMBOL mc_gemm_bf16_kernels_avx2
#define MC_B_LABEL "avx2-bf16-emulated"
#define MC_B_NATIVE 0
#define MC_B_A_WORDS 0
#define MC_B_NV MC_NV
#define MC_B_MR MC_MR
#include "../gemm_bf16_template.h"
