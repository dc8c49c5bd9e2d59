/* op_kernels.c — the portable table of the non-GEMM op kernels (plain GCC
 * vectors of 4 floats: SSE2 on x86-64, NEON on arm64, scalar code
 * elsewhere), and the choice of table by the GEMM's variant. */
#include "op_kernels.h"

#include <string.h>

#include "vec_portable.h"

/* Like v_fma, no FMA: two roundings, each step its own statement. */
static inline float
s_fma (float a, float b, float c)
{
  const float ab = a * b;
  return ab + c;
}

static inline vf
v_load_dup2 (const float *p)
{
  return (vf) { p[0], p[0], p[1], p[1] };
}

#define MC_T_SYMBOL mc_op_kernels_portable
#define MC_T_LABEL "portable"
#define MC_VL 4
#define MC_NV 2
#define MC_P 4
#include "op_kernel_template.h"

static const mc_op_kernels *override;

void
mc_op_kernels_override (const mc_op_kernels *k)
{
  override = k;
}

const mc_op_kernels *
mc_op_kernels_get (void)
{
  if (override)
    return override;
  switch (mc_gemm_get_variant ()) {
#ifdef MC_OP_HAVE_X86
    case MC_GEMM_AVX2: return &mc_op_kernels_avx2;
    case MC_GEMM_AVX512: return &mc_op_kernels_avx512;
#endif
    default: return &mc_op_kernels_portable;
  }
}
