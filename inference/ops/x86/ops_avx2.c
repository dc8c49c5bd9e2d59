/* ops_avx2.c — the AVX2+FMA table of the non-GEMM op kernels (compiled with
 * -mavx2 -mfma; op_kernels.c hands it out only when the GEMM runs its AVX2
 * variant, i.e. after cpuid said so).
 *
 * Conv tile 6 pixels × 2 vectors: 12 accumulators (more than the 8 FMAs
 * that Zen 3 and Haswell+ keep in flight: 2 ports × 4 cycles), 2 weight
 * registers, 1 broadcast for the full conv; a channel block of 16 floats is
 * one 64-byte line per pixel.  Per tap 12 FMAs against 14 loads (inputs
 * fold into the FMAs).  Measured against 4 pixels (8 accumulators) and
 * 8 pixels × 1 vector on Zen 3: equal or faster on every MCi0 shape. */
#include "vec_avx2.h"

static inline float s_fma (float a, float b, float c) { return __builtin_fmaf (a, b, c); }
/* 4 floats, each twice: the 128-bit broadcast is a plain load, the
 * in-lane vpermilps runs on two ports of Zen 3 (the cross-lane vpermps on
 * one): the 1→2 grouped convs ran 13-24 % faster this way */
static inline vf
v_load_dup2 (const float *p)
{
  return _mm256_permutevar_ps (_mm256_broadcast_ps ((const __m128 *) p),
      _mm256_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3));
}

#define MC_T_SYMBOL mc_op_kernels_avx2
#define MC_T_LABEL "avx2"
#define MC_VL 8
#define MC_NV 2
#define MC_P 6
/* 7-wide sliding depthwise strips of 8 pixels: 8 accumulators (the 8 FMAs
 * in flight) + 7 weights + 1 input fill the 16 ymm registers.  Against 6
 * (bench-ops, 1 thread, 8 alternating rounds, fastest pass): ConvFFN dw7×7
 * 396 → 355 µs at 64², 252 → 229 at 32², 131 → 113 at 16².  3-wide strips
 * of 12 instead of 8 were slower (1-2 rounds of 8 faster). */
#define MC_DW_P7 8
#include "../op_kernel_template.h"
