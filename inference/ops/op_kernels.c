/* op_kernels.c — the portable table of the non-GEMM op kernels (plain GCC
 * vectors of 4 floats: SSE2 on x86-64, NEON on arm64, scalar code
 * elsewhere), and the choice of table by the GEMM's variant. */
#include "op_kernels.h"

#include <string.h>

/* No FMA is assumed: v_fma and s_fma round twice (each step its own
 * statement, so no compiler may contract them). */
typedef float vf __attribute__ ((vector_size (16)));
typedef int vi __attribute__ ((vector_size (16)));

static inline vf
v_load (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v_store (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

static inline vf
v_set1 (float x)
{
  return (vf) { x, x, x, x };
}

static inline vf
v_fma (vf a, vf b, vf c)
{
  const vf ab = a * b;
  return ab + c;
}

static inline float
s_fma (float a, float b, float c)
{
  const float ab = a * b;
  return ab + c;
}

static inline vf
v_max (vf a, vf b)
{
  const vi gt = a > b;
  return (vf) (((vi) a & gt) | ((vi) b & ~gt));
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
