/* gemm_internal.h — what the GEMM's own files share (gemm.c, gemm_dispatch.c,
 * gemm_pack.c); callers use gemm.h. */
#ifndef MC_OPS_GEMM_INTERNAL_H
#define MC_OPS_GEMM_INTERNAL_H

#include <stddef.h>

#include "gemm_kernels.h"

/* The kernels of variant slot v (the tests' overrides first). */
const mc_gemm_kernels *mc_gemm_kernels_f32 (int v);
const mc_gemm_bf16_kernels *mc_gemm_kernels_bf16 (int v);
const mc_gemm_int8_kernels *mc_gemm_kernels_int8 (int v);

/* The slot bf16 or int8 panels are packed for while variant v is current
 * (v, or AVX2's where the AVX-512 slot has no such kernel on this CPU). */
int mc_gemm_bf16_slot (int v);
int mc_gemm_int8_slot (int v);

/* The calling thread's mc_gemm_set_int8_min_k. */
int mc_gemm_int8_min_k (void);

/* MC_GEMM_AMX_ROWS=32 (the AMX kernels on 32-row strips), as read from the
 * environment or set by mc_gemm_set_experiments. */
int mc_gemm_amx_rows32 (void);
void mc_gemm_set_amx_rows32 (int on);

/* Floats of K×N packed in panels of nr columns. */
size_t mc_gemm_packed_floats (int K, int N, int nr);

/* Packs element (k, n) = src[k·sk + n·sn] · alpha · (scale ? scale[n] : 1)
 * into float panels of nr columns at dst. */
void mc_gemm_pack_panels (float *dst, const float *src, ptrdiff_t sk,
    ptrdiff_t sn, int K, int N, const float *scale, float alpha, int nr);

#endif
