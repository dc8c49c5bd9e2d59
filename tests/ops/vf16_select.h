/* vf16_select.h — comparisons and division on vf16_avx2.h's 16-lane
 * vectors, for the AVX-512 template instances whose epilogue runs a GELU
 * (gemm_avx512_geometry.c, gemm_bf16_amx_emulated.c), as x86/vec_avx512.h
 * has them: v_max and v_min return their second operand when either is NaN,
 * as MAXPS and MINPS do; v_select_gt (x, y, a, b) is x > y ? a : b;
 * v_lut8 (idx, table) is table[idx] lane by lane. */
#ifndef MC_TEST_VF16_SELECT_H
#define MC_TEST_VF16_SELECT_H

#include "vf16_avx2.h"

static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  vi gt = x > y;
  return (vf) (((vi) a & gt) | ((vi) b & ~gt));
}

static inline vf v_max (vf a, vf b) { return v_select_gt (a, b, a, b); }
static inline vf v_div (vf a, vf b) { return a / b; }
static inline vf v_min (vf a, vf b) { return v_select_gt (b, a, a, b); }

#define MC_GELU_PIECES 1
static inline vf
v_lut8 (vi idx, const float *table)
{
  vf r;
  for (int i = 0; i < 16; i++)
    r[i] = table[idx[i] & 7];
  return r;
}

#endif
