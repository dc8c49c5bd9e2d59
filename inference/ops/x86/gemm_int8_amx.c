/* gemm_int8_amx.c — the int8 kernel on AMX tiles, TDPBUSD (compiled with
 * -mamx-tile -mamx-int8 and the AVX-512 flags; meson builds it only where
 * the compiler has them).  gemm_dispatch.c hands it out only after cpuid and
 * XCR0 report AMX-TILE, AMX-INT8 and AVX-512 and Linux granted the tile data
 * permission (mc_cpu_request_amx): the first tile instruction without that
 * permission kills the process.
 *
 * The kernel's logic is gemm_int8_amx_template.h; here are only the tile
 * operations (the _tile_* intrinsics).  Everything else runs on every AVX2
 * machine in the tests, on a plain-C model of the tiles
 * (tests/ops/amx_tile_model.c, tests/ops/gemm_int8_amx_emulated.c). */
#include <immintrin.h>

/* the configuration is written just before (see amx8_configure) */
#define amx_tile_config(cfg) _tile_loadconfig (cfg)
#define amx_tile_release() _tile_release ()
#define amx_tile_zero(t) _tile_zero (t)
#define amx_tile_load(t, p, s) _tile_loadd (t, p, s)
#define amx_tile_store(t, p, s) _tile_stored (t, p, s)
#define amx_tile_dp(c, a, b) _tile_dpbusd (c, a, b)

#define MC_AMX8_SYMBOL mc_gemm_int8_kernels_amx
#define MC_AMX8_LABEL "amx-int8"
#define MC_AMX8_SYMBOL32 mc_gemm_int8_kernels_amx32
#define MC_AMX8_LABEL32 "amx-int8-32"
#include "../gemm_int8_amx_template.h"
