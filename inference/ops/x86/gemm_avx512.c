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
#include "../gemm_kernel_template.h"
