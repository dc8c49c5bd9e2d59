/* gemm_avx512_geometry.c — the AVX-512 kernel template instance (16 float
 * lanes, 14×32 register tile, its K/N blocking) built from AVX2+FMA
 * instructions: each 512-bit vector is two ymm halves.  test_gemm runs it in
 * place of the AVX2 kernels, so every machine with AVX2 checks the exact
 * logic the AVX-512 variant runs (only the instruction wrappers of
 * x86/gemm_avx512.c differ). */
#include <immintrin.h>
#include <string.h>

#include "vf16_avx2.h"
#include "vf16_select.h"

#define MC_T_SYMBOL mc_gemm_kernels_avx512_geometry
#define MC_T_LABEL "avx512-geometry-on-avx2"
#define MC_VL 16
#define MC_NV 2
#define MC_MR 14
#define MC_KC 512
#define MC_NC 512
#define MC_PF_STEPS 2
#include "ops/gemm_kernel_template.h"
