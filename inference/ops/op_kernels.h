/* op_kernels.h — the vector kernels of the non-GEMM ops (direct convs,
 * attention's softmax), one table per ISA variant.  Private to
 * inference/ops; the tables are generated from op_kernel_template.h by
 * op_kernels.c (portable) and x86/ops_avx2.c, x86/ops_avx512.c (each with
 * its own ISA flags).  The variant follows the GEMM's (gemm.h:
 * mc_gemm_get_variant, MC_GEMM_VARIANT), so one switch selects the code of
 * the whole forward pass.
 *
 * Every kernel accumulates each output in a fixed order (bias, then taps by
 * row, then by column, each a multiply-add: fused in the FMA variants), so a
 * pixel's value does not depend on which strip or thread computed it, nor on
 * the batch size.
 */
#ifndef MC_OPS_OP_KERNELS_H
#define MC_OPS_OP_KERNELS_H

#include <stddef.h>

#include "conv.h"
#include "gemm.h"

typedef struct {
  const char *name;
  /* One output row oy (all wo pixels, all channels, no activation) of a conv
   * whose output channel o reads only input channel o / (cout / cin):
   * depthwise (cout = cin = groups) or one input per group feeding two
   * outputs (cout = 2·cin = 2·groups).  in is the image [h, w, cin], out the
   * row [wo, cout]. */
  void (*chan_row) (const mc_conv *c, const float *in, int h, int w, int oy,
      int wo, float *out);
  /* The same for a full conv (groups = 1). */
  void (*full_row) (const mc_conv *c, const float *in, int h, int w, int oy,
      int wo, float *out);
  /* For each of the m rows of s (length n, row stride lds): columns
   * [0, valid(i)) become softmax over them, the rest 0; valid(i) = n, or
   * causal_base + i + 1 (clipped to n) when causal_base >= 0. */
  void (*softmax_rows) (float *s, ptrdiff_t lds, int m, int n, int causal_base);
} mc_op_kernels;

extern const mc_op_kernels mc_op_kernels_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#define MC_OP_HAVE_X86 1
extern const mc_op_kernels mc_op_kernels_avx2;
extern const mc_op_kernels mc_op_kernels_avx512;
#endif

/* The table of the current GEMM variant (or the override of tests). */
const mc_op_kernels *mc_op_kernels_get (void);

/* Tests only: makes mc_op_kernels_get return k (NULL restores the variant's
 * table).  Lets a test run the AVX-512 geometry through AVX2 code. */
void mc_op_kernels_override (const mc_op_kernels *k);

#endif
