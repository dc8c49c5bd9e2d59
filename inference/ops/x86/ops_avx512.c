/* ops_avx512.c — the AVX-512 table of the non-GEMM op kernels (compiled with
 * -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma; op_kernels.c hands it
 * out only when the GEMM runs its AVX-512 variant, i.e. after cpuid and
 * XCR0 said so).
 *
 * Conv tile 6 pixels × 2 vectors of 16: the AVX2 tile at twice the width
 * (channel blocks of 32: two 64-byte lines per pixel). */
#include "vec_avx512.h"

static inline float s_fma (float a, float b, float c) { return __builtin_fmaf (a, b, c); }
static inline vf
v_load_dup2 (const float *p)
{
  return _mm512_permutexvar_ps (_mm512_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3,
          4, 4, 5, 5, 6, 6, 7, 7), _mm512_castps256_ps512 (_mm256_loadu_ps (p)));
}

#define MC_T_SYMBOL mc_op_kernels_avx512
#define MC_T_LABEL "avx512"
#define MC_VL 16
#define MC_NV 2
#define MC_P 6
#define MC_DW_P3 16   /* 32 zmm registers: 16 + 3 + 1 */
#define MC_DW_P7 12   /* 12 + 7 + 1 */
#include "../op_kernel_template.h"
