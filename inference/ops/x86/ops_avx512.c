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
/* 7-wide sliding strips of 16 pixels (16 + 7 + 1 registers) rather than
 * 12: a strip's first and last 6 input steps feed fewer than 7
 * accumulators, and 16 pixels spread them over more outputs (and make one
 * strip of a 16-pixel row instead of two of 8).  Kernels compiled both ways
 * in one process, 1 thread, 120 alternating passes, median ratio: ConvFFN
 * dw7×7 at 32² × 128 0.84-0.87, at 16² × 256 0.70-0.72, at 64² × 64 and
 * 8² × 512 1.00 and 0.98; the same bits. */
#define MC_DW_P7 16
#include "../op_kernel_template.h"
