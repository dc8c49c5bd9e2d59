/* op_variants.h — runs an op test once per op-kernel variant: every variant
 * this CPU supports, then (on AVX2 machines, when the test is built with
 * MC_TEST_AVX512_GEOMETRY) the AVX-512 code's blocking emulated through AVX2.
 * variant_label names the variant being tested, for the printed lines. */
#ifndef MC_TEST_OP_VARIANTS_H
#define MC_TEST_OP_VARIANTS_H

#include "ops/gemm.h"
#include "ops/op_kernels.h"
#include "runtime/threadpool.h"

#ifdef MC_TEST_AVX512_GEOMETRY
extern const mc_op_kernels mc_op_kernels_avx512_geometry;
#endif

static const char *variant_label = "";

static void
for_each_op_variant (void (*run_all) (mc_threadpool *), mc_threadpool *pool)
{
  for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++) {
    if (!mc_gemm_variant_supported ((mc_gemm_variant) v))
      continue;
    mc_gemm_set_variant ((mc_gemm_variant) v);
    variant_label = mc_op_kernels_get ()->name;
    run_all (pool);
  }
#ifdef MC_TEST_AVX512_GEOMETRY
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    mc_gemm_set_variant (MC_GEMM_AVX2);
    mc_op_kernels_override (&mc_op_kernels_avx512_geometry);
    variant_label = mc_op_kernels_get ()->name;
    run_all (pool);
    mc_op_kernels_override (NULL);
  }
#endif
  mc_gemm_set_variant (MC_GEMM_AUTO);
}

#endif
