/* kernels_avx2.h — the AVX2 variant of the preprocessing stages (see
 * variant.h).  The functions are compiled with -mavx2 in their own files;
 * preprocess.c calls them only when mc_preprocess_get_variant () says avx2.
 *
 * Data flow per source row: mc_unpack_planar_avx2 writes the needed columns
 * as three planar byte rows R, G, B; mc_hpass_row_avx2 filters them into an
 * interleaved RGB byte row of the ring (the uint8 intermediate Pillow has);
 * mc_vpass_row_avx2 filters ring rows into floats.  Every stage does the
 * portable variant's integer arithmetic, so the bytes are the same.
 */
#ifndef MC_PREPROCESS_KERNELS_AVX2_H
#define MC_PREPROCESS_KERNELS_AVX2_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "preprocess/resample.h"
#include "preprocess/unpack.h"

/* The horizontal filter table rearranged for the kernel.  Outputs go in
 * groups of 2·per_lane, per_lane of them in each 128-bit lane; a lane reads
 * one 16-byte window of a planar row per step, and a byte shuffle puts the
 * two samples each 32-bit slot needs side by side as 16-bit words.  pmaddwd
 * multiplies them by the two taps' weights, split in 11-bit halves (hi =
 * k >> 11, lo = k & 2047) so that they fit 16 bits; the sum is rebuilt as
 * (Σhi << 11) + Σlo, which is Pillow's Σ p·k exactly. */
typedef struct {
  int n_out;            /* outputs of the table */
  int per_lane;         /* outputs per 128-bit lane: 4, 2 or 1 */
  int steps;            /* windows read per lane, 8/per_lane taps each */
  int n_groups;         /* groups of 2·per_lane outputs (padded to blocks of 8) */
  int32_t *lane_first;  /* [n_groups·2] input column at the start of each lane's window */
  uint8_t *shuffle;     /* [n_groups·32] byte shuffle of each group */
  int32_t *weights;     /* [n_groups·steps·16] per step 8 hi then 8 lo dwords */
  int read_end;         /* one past the last column any window touches */
  void *mem;            /* the allocation behind the arrays */
} mc_hplan;

mc_status mc_hplan_build_avx2 (mc_hplan *plan, const mc_filter_table *table,
    mc_error *err);

/* Frees a plan.  Inline, so that it is compiled with the caller's flags:
 * preprocess.c calls it on every x86-64 CPU, and in the -mavx2 file the
 * memset became AVX2 stores (SIGILL on a CPU without AVX). */
static inline void
mc_hplan_clear (mc_hplan *plan)
{
  free (plan->mem);
  memset (plan, 0, sizeof *plan);
}

/* One row: r/g/b hold planar samples of input columns origin, origin+1, ...
 * (readable up to column plan->read_end + 16); dst receives n_out RGB
 * triples and may be written up to 3·round_up(n_out, 8) + 4 bytes. */
void mc_hpass_row_avx2 (const mc_hplan *plan, const uint8_t *r,
    const uint8_t *g, const uint8_t *b, int origin, uint8_t *dst);
/* The same with VPDPWSSD (avx-vnni variant, x86/resample_avxvnni.c). */
void mc_hpass_row_avxvnni (const mc_hplan *plan, const uint8_t *r,
    const uint8_t *g, const uint8_t *b, int origin, uint8_t *dst);

/* Planar samples [first, first + n) to interleaved RGB bytes (width kept). */
void mc_interleave_row_avx2 (const uint8_t *r, const uint8_t *g,
    const uint8_t *b, int first, int n, uint8_t *dst);

/* dst[i] = clamp ((2^21 + Σ_t rows[t][i]·k[t]) >> 22, 0, 255) / 255.0f for
 * i < n; rows must be readable up to round_up(n, 32) bytes. */
void mc_vpass_row_avx2 (const uint8_t *const *rows, const int32_t *k,
    int count, int n, float *dst);
/* The same, two rows a step with VPDPWSSD (avx-vnni variant). */
void mc_vpass_row_avxvnni (const uint8_t *const *rows, const int32_t *k,
    int count, int n, float *dst);

/* dst[i] = src[i] / 255.0f; src readable up to round_up(n, 32) bytes. */
void mc_unit_float_row_avx2 (const uint8_t *src, int n, float *dst);

/* Pixels [x0, x1) of frame row y as planar bytes (x0 even for subsampled
 * chroma), and of row y + 1 when rows is 2 and the format lets the two rows
 * share work (4:2:0 with y even: one chroma row).  Returns the rows
 * converted, 1 or 2; row i goes to scratch[i][0..2], which must hold
 * x1 - x0 + 32 bytes each.  planes[i][] is set to the rows to read (GRAY8
 * points all three at one).  YUV uses the constants of mc_unpacker_begin. */
int mc_unpack_planar_avx2 (const mc_unpacker *up, const mc_image *img, int y,
    int x0, int x1, int rows, uint8_t *const scratch[2][3],
    const uint8_t *planes[2][3]);

#endif
