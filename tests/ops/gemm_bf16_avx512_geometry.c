/* gemm_bf16_avx512_geometry.c — the AVX512-BF16 kernel's template instance
 * (16 lanes, 14×32 tile, A packed as pair words, one pair per step) with
 * VDPBF16PS emulated from AVX2+FMA instructions: per lane the odd product of
 * the pair, then the even one, each a fused multiply-add under MXCSR's
 * round-to-nearest, FTZ and DAZ (the instruction's documented arithmetic).
 * test_gemm_bf16 runs it in place of the AVX2 bf16 kernel, together with the
 * float AVX-512 geometry of gemm_avx512_geometry.c, so every machine with
 * AVX2 checks the logic that x86/gemm_avx512bf16.c runs; only its
 * intrinsics (VDPBF16PS, VCVTNE(2)PS2BF16) are left to real hardware. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "ops/x86/bf16_mxcsr.h"

#include "vf16_avx2.h"

typedef vi bf_a;
typedef vi bf_b;

static inline bf_b
bf_load_b (const uint32_t *p)
{
  vi v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline bf_a
bf_bcast_a (const uint32_t *p)
{
  const int w = (int) *p;
  return (vi) { w, w, w, w, w, w, w, w, w, w, w, w, w, w, w, w };
}

/* VDPBF16PS: acc += odd·odd, then += even·even (bf16 in a word's high /
 * low half is the float with those upper bits) */
static inline vf
bf_dot (vf acc, bf_a a, bf_b b)
{
  acc = v_fma ((vf) (a & (int) 0xffff0000u), (vf) (b & (int) 0xffff0000u), acc);
  return v_fma ((vf) (a << 16), (vf) (b << 16), acc);
}

#define MC_B_SYMBOL mc_gemm_bf16_kernels_avx512bf16_geometry
#define MC_B_LABEL "avx512bf16-geometry-on-avx2"
#define MC_B_NATIVE 0
#define MC_B_A_WORDS 1
#define MC_VL 16
#define MC_B_NV 2
#define MC_B_MR 14
#include "ops/gemm_bf16_template.h"
