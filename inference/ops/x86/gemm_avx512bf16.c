/* gemm_avx512bf16.c — the bf16 kernel on the CPU's own bf16 dot product,
 * VDPBF16PS (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl
 * -mavx512bf16 -mfma; gemm_dispatch.c picks it only after cpuid says
 * AVX512-BF16).
 *
 * The tile of the float AVX-512 kernel, 14×32: 28 zmm accumulators, 2 zmm
 * of B pair words, A's pair word broadcast from memory into each VDPBF16PS.
 * One instruction does 32 multiply-adds (16 lanes × a pair) in the slot of
 * a 16-lane FMA, and the panels stream half the bytes.  Rows of A are
 * converted 32 floats per VCVTNE2PS2BF16, which rounds as bf16.h does.
 * Its logic (everything but the intrinsics below) is tested on every AVX2
 * machine through tests/ops/gemm_bf16_avx512_geometry.c. */
#include <immintrin.h>
#include <stdint.h>

#include "bf16_pack_avx512.h"

typedef __m512 vf;

static inline vf v_load (const float *p) { return _mm512_loadu_ps (p); }
static inline void v_store (float *p, vf v) { _mm512_storeu_ps (p, v); }
static inline vf v_set1 (float x) { return _mm512_set1_ps (x); }

typedef __m512bh bf_a;
typedef __m512bh bf_b;

static inline bf_b
bf_load_b (const uint32_t *p)
{
  return (__m512bh) _mm512_loadu_si512 (p);
}

static inline bf_a
bf_bcast_a (const uint32_t *p)
{
  return (__m512bh) _mm512_set1_epi32 ((int) *p);
}

static inline vf
bf_dot (vf acc, bf_a a, bf_b b)
{
  return _mm512_dpbf16_ps (acc, a, b);
}

/* the instruction ignores MXCSR: nothing to set */
static inline unsigned bf_mode_enter (void) { return 0; }
static inline void bf_mode_leave (unsigned saved) { (void) saved; }

#define MC_B_PACK_A_ROW mc_bf16_pack_row_avx512
#define MC_B_SYMBOL mc_gemm_bf16_kernels_avx512bf16
#define MC_B_LABEL "avx512bf16"
#define MC_B_NATIVE 1
#define MC_B_A_WORDS 1
#define MC_VL 16
#define MC_B_NV 2
#define MC_B_MR 14
#include "../gemm_bf16_template.h"
