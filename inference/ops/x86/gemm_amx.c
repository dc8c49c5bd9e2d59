/* gemm_amx.c — the bf16 kernel on AMX tiles, TDPBF16PS (compiled with
 * -mamx-tile -mamx-bf16 and the AVX-512 flags with -mavx512bf16; meson builds
 * it only where the compiler has them).  gemm_dispatch.c hands it out only
 * after cpuid and XCR0 report AMX-TILE, AMX-BF16, AVX-512 and AVX512-BF16 and
 * Linux granted the tile data permission (mc_cpu_request_amx): the first
 * tile instruction without that permission kills the process.
 *
 * The kernel's logic is gemm_bf16_amx_template.h; here are only the tile
 * operations (the _tile_* intrinsics), the 16-float vectors of its epilogue
 * and the AVX512-BF16 conversion of A's rows.  Everything else runs on every
 * AVX2 machine in the tests, on a plain-C model of the tiles
 * (tests/ops/gemm_bf16_amx_emulated.c). */
#include <immintrin.h>
#include <stdint.h>

#include "bf16_pack_avx512.h"
#include "vec_avx512.h"

/* GCC 12's _tile_loadconfig names only the first 8 bytes of the
 * configuration as its operand; the template's configurations are constant
 * data, so no store to the other 56 bytes can be pending. */
#define amx_tile_config(cfg) _tile_loadconfig (cfg)
#define amx_tile_release() _tile_release ()
#define amx_tile_zero(t) _tile_zero (t)
#define amx_tile_load(t, p, s) _tile_loadd (t, p, s)
#define amx_tile_store(t, p, s) _tile_stored (t, p, s)
#define amx_tile_dp(c, a, b) _tile_dpbf16ps (c, a, b)

#define MC_AMX_PACK_A_ROW mc_bf16_pack_row_avx512
#define MC_AMX_SYMBOL mc_gemm_bf16_kernels_amx
#define MC_AMX_LABEL "amx-bf16"
#define MC_AMX_SYMBOL32 mc_gemm_bf16_kernels_amx32
#define MC_AMX_LABEL32 "amx-bf16-32"
#define MC_AMX_NATIVE 1
#include "../gemm_bf16_amx_template.h"
