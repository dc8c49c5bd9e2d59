/* gemm_shapes.h — the hook between mc_gemm (gemm.c) and the per-shape timing
 * of gemm_shapes.c.  gemm.c itself reads no clock and takes no lock (the
 * bare-metal kernel tests link it with a few libc shims): while timing is on,
 * mc_gemm_shape_hooks_active points at the functions that do. */
#ifndef MC_OPS_GEMM_SHAPES_H
#define MC_OPS_GEMM_SHAPES_H

#include "gemm.h"

typedef struct {
  double (*now_ms) (void);
  /* adds one call of shape *call (its calls and ms fields unused) */
  void (*record) (const mc_gemm_shape_stat *call, double ms);
} mc_gemm_shape_hooks;

/* NULL unless timing (defined in gemm.c); read and written with __atomic
 * builtins */
extern const mc_gemm_shape_hooks *mc_gemm_shape_hooks_active;

#endif
