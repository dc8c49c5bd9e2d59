/* kernels_avx512.h — the avx512 variant's horizontal and vertical passes
 * and YUV conversion (see variant.h).  Compiled with -mavx512f -mavx512bw
 * -mavx512vbmi -mavx512vnni in x86/resample_avx512.c and
 * x86/unpack_avx512.c; preprocess.c calls them only when
 * mc_preprocess_get_variant () says avx512.  What they hand on (GRAY8,
 * Y444 and I420_10LE rows, downscales beyond the window, tables deeper than
 * 512 taps) runs the AVX2 code.
 *
 * The AVX2 passes multiply 16-bit words: a 22-bit weight k takes two
 * VPDPWSSD (its high and low 11 bits) per pair of taps, 4 instructions per 4
 * taps.  Here k is written as three signed bytes, k = d2·2^16 + d1·2^8 + d0
 * with each digit in [-128, 127], and VPDPBUSD multiplies 4 unsigned samples
 * by 4 signed digits and adds the 4 products to a dword: 3 instructions per
 * 4 taps.  The sums per digit are exact int32, and so is
 * Σd2·2^16 + Σd1·2^8 + Σd0 = Σ p·k: the same integers as the other
 * variants', hence the same bytes.
 *
 * A group is 16 outputs, one dword slot each, 4 taps a step; one VPERMT2B
 * (AVX512-VBMI) gathers each slot's 4 samples from a 128-byte window of the
 * planar row (two 64-byte loads).  Every output of a group must start
 * within the window less 4 bytes: downscales beyond ~8.2× (4K to 256) have
 * no plan, and the AVX2 pass runs them instead.
 */
#ifndef MC_PREPROCESS_KERNELS_AVX512_H
#define MC_PREPROCESS_KERNELS_AVX512_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "preprocess/resample.h"
#include "preprocess/unpack.h"
#include "preprocess/x86/kernels_avx2.h"

typedef struct {
  int n_out;            /* outputs of the table; 0: no plan (use AVX2) */
  int steps;            /* windows read per group, 4 taps each */
  int n_groups;         /* groups of 16 outputs (the last padded) */
  int32_t *first;       /* [n_groups] input column of each group's window */
  uint8_t *index;       /* [n_groups·64] VPERMT2B index of each group */
  int32_t *digits;      /* [n_groups·steps·48] per step 16 dwords of each
                           digit, d0 then d1 then d2, 4 taps a dword */
  int read_end;         /* one past the last column any window touches */
  void *mem;            /* the allocation behind the arrays */
} mc_hplan512;

/* Builds the plan; MC_OK with plan->n_out == 0 when the table's outputs lie
 * too far apart for the window. */
mc_status mc_hplan512_build (mc_hplan512 *plan, const mc_filter_table *table,
    mc_error *err);

/* Inline for the caller's flags, as mc_hplan_clear. */
static inline void
mc_hplan512_clear (mc_hplan512 *plan)
{
  free (plan->mem);
  memset (plan, 0, sizeof *plan);
}

/* One row: r/g/b hold planar samples of input columns origin, origin+1, ...
 * (readable up to column plan->read_end); dst receives exactly n_out RGB
 * triples. */
void mc_hpass_row_avx512 (const mc_hplan512 *plan, const uint8_t *r,
    const uint8_t *g, const uint8_t *b, int origin, uint8_t *dst);

/* As mc_vpass_row_avx2 (kernels_avx2.h), four rows a step with VPDPBUSD on
 * the weights' signed-byte digits; reads and writes exactly n bytes and
 * floats.  Tables deeper than 512 taps, or weights beyond three digits,
 * run the AVX2 pass. */
void mc_vpass_row_avx512 (const uint8_t *const *rows, const int32_t *k,
    int count, int n, float *dst);

/* As mc_unpack_planar_avx2 (kernels_avx2.h), 64 pixels a step for the
 * RGB-family formats and I420, YV12, Y42B, NV12, NV21, YUY2 and UYVY
 * (x86/unpack_avx512.c); GRAY8, Y444 and I420_10LE go to the AVX2
 * unpacker.  Writes no byte past x1 - x0 in the scratch rows. */
int mc_unpack_planar_avx512 (const mc_unpacker *up, const mc_image *img, int y,
    int x0, int x1, int rows, uint8_t *const scratch[2][3],
    const uint8_t *planes[2][3]);

#endif
