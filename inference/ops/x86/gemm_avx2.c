/* gemm_avx2.c — the AVX2+FMA kernel variant (compiled with -mavx2 -mfma;
 * gemm.c calls it only after cpuid says so).
 *
 * Register tile 6×16: 12 ymm accumulators, 2 for the B row, 1 broadcast of
 * A: 15 of the 16 ymm registers.  Per k step 12 FMAs against 2 loads and 6
 * broadcasts, inside Zen 3's and Haswell+'s 2 FMA + 2-3 load ports.  Blocking:
 * a 6×256 A slice (6 KiB) stays in L1 while 256×256 of B (256 KiB) streams
 * from L2.  The bf16 emulation kernel (same tile) is at the end. */
#include "vec_avx2.h"

static inline vf v_div (vf a, vf b) { return _mm256_div_ps (a, b); }
static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  return _mm256_blendv_ps (b, a, _mm256_cmp_ps (x, y, _CMP_GT_OQ));
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
#include "../gemm_kernel_template.h"

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
