/* gemm_bf16_amx_emulated.c — the AMX-BF16 kernel's template instance
 * (gemm_bf16_amx_template.h: packing, 16×32 tiles, K steps and leftovers,
 * tile configurations, the epilogue; and its 32-row form) on the plain-C model of the AMX tiles
 * (amx_tile_model.c), so that machines without AMX run everything
 * x86/gemm_amx.c runs but the _tile_* intrinsics and the AVX512-BF16 row
 * conversion.
 *
 * test_gemm_bf16 and test_precision_golden register it through
 * mc_gemm_bf16_kernels_override, paired with the AVX-512 float geometry
 * (32-column panels) on the AVX2 slot. */
#include "amx_tile_model.h"
#include "vf16_avx2.h"
#include "vf16_select.h"

#define amx_tile_dp(c, a, b) mc_amx_model_dpbf16ps (c, a, b)

#define MC_AMX_SYMBOL mc_gemm_bf16_kernels_amx_emulated
#define MC_AMX_LABEL "amx-bf16-emulated"
#define MC_AMX_SYMBOL32 mc_gemm_bf16_kernels_amx32_emulated
#define MC_AMX_LABEL32 "amx-bf16-32-emulated"
#define MC_AMX_NATIVE 0
#include "ops/gemm_bf16_amx_template.h"
