/* gemm_portable.c — the portable GEMM kernels, float and bf16 (emulated),
 * which every CPU runs: gemm_kernel_template.h and gemm_bf16_template.h on
 * plain GCC vectors of 4 floats (SSE2 on x86-64, NEON on arm64, scalar code
 * elsewhere), as x86/gemm_avx2.c and x86/gemm_avx512.c instantiate them for
 * their ISAs; gemm_dispatch.c picks a variant at run time.  Tile 4×12.  No
 * FMA is assumed: v_fma rounds twice.  Every step is its own statement so
 * that no compiler may contract it.  The basic primitives are in
 * vec_portable.h. */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "bf16.h"
#include "gemm_kernels.h"
#include "vec_portable.h"

static inline vf
v_abs (vf x)
{
  return (vf) ((vi) x & 0x7fffffff);
}

static inline vf
v_div (vf a, vf b)
{
  return a / b;
}

static inline vf
v_min (vf a, vf b)
{
  return v_select_gt (b, a, a, b);
}

#define MC_T_SYMBOL mc_gemm_kernels_portable
#define MC_T_LABEL "portable"
#define MC_VL 4
#define MC_NV 3
#define MC_MR 4
#define MC_KC 256
#define MC_NC 240
#define MC_PF_STEPS 8
#include "gemm_kernel_template.h"

/* The portable bf16 kernel: pair words widened by mask and shift, products
 * (exact for two bf16) added with one rounding, and flush-to-zero done by
 * hand after each step (no MXCSR to set off x86).  It differs from
 * VDPBF16PS only when a single product is below FLT_MIN while the running
 * sum is under ~2⁻¹⁰²: then the product is rounded before the add. */
static inline vf
bf_b_odd (const uint32_t *p)
{
  vi w;
  memcpy (&w, p, sizeof w);
  return (vf) (w & (int) 0xffff0000u);
}

static inline vf
bf_b_even (const uint32_t *p)
{
  vi w;
  memcpy (&w, p, sizeof w);
  return (vf) (w << 16);
}

/* |x| < FLT_MIN → zero of x's sign */
static inline vf
bf_flush (vf x)
{
  const vi tiny = v_abs (x) < v_set1 (FLT_MIN);
  return (vf) ((vi) x & ~(tiny & 0x7fffffff));
}

static inline unsigned bf_mode_enter (void) { return 0; }
static inline void bf_mode_leave (unsigned saved) { (void) saved; }

#define MC_B_SYMBOL mc_gemm_bf16_kernels_portable
#define MC_B_LABEL "portable-bf16-emulated"
#define MC_B_NATIVE 0
#define MC_B_A_WORDS 0
#define MC_B_NV MC_NV
#define MC_B_MR MC_MR
#include "gemm_bf16_template.h"

