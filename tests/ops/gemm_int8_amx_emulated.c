/* gemm_int8_amx_emulated.c — the AMX-INT8 kernel's template instance
 * (gemm_int8_amx_template.h: 16×32 tiles, K steps and leftovers, the
 * configurations per row count, the epilogue in its AVX2 form) on the
 * plain-C model of the AMX tiles (amx_tile_model.c), so that machines
 * without AMX run everything x86/gemm_int8_amx.c runs but the _tile_*
 * intrinsics and the 512-bit epilogue (which the 512-bit VPDPBUSD kernel
 * shares, run by tests/emulated).
 *
 * test_gemm_int8 and test_precision_golden register it through
 * mc_gemm_int8_kernels_override, paired with the AVX-512 float geometry
 * (32-column panels) on the AVX2 slot. */
#include "amx_tile_model.h"

#define amx_tile_dp(c, a, b) mc_amx_model_dpbusd (c, a, b)

#define MC_AMX8_SYMBOL mc_gemm_int8_kernels_amx_emulated
#define MC_AMX8_LABEL "amx-int8-emulated"
#define MC_AMX8_SYMBOL32 mc_gemm_int8_kernels_amx32_emulated
#define MC_AMX8_LABEL32 "amx-int8-32-emulated"
#include "ops/gemm_int8_amx_template.h"
