/* resample.h — torchvision's Resize(S) + CenterCrop(S) geometry and Pillow's
 * antialiased BILINEAR filter, bit for bit.
 *
 * Pillow (9.4, the version the golden data was made with) resizes in two
 * separable passes, each with a table of integer weights per output sample.
 * The tables here are built with the same double arithmetic, in the same
 * order, so the weights are the same integers; the passes then produce the
 * same bytes.  Only the outputs inside the centre crop are described, which
 * is what lets preprocessing skip the columns and rows the crop throws away
 * while staying identical to "resize everything, then crop".
 */
#ifndef MC_PREPROCESS_RESAMPLE_H
#define MC_PREPROCESS_RESAMPLE_H

#include <stdint.h>

#include "mobileclip.h"

/* Fixed-point weights carry 22 fractional bits (Pillow's PRECISION_BITS for
 * 8-bit images); accumulators start at half a unit so >> rounds. */
#define MC_RESAMPLE_BITS 22
#define MC_RESAMPLE_HALF (1 << (MC_RESAMPLE_BITS - 1))

/* Where the crop lands in the resized image. */
typedef struct {
  int resized_w, resized_h;   /* torchvision's Resize(size) output */
  int left, top;              /* CenterCrop(size) offsets into it */
} mc_crop_geometry;

/* Shorter side to `size`, longer side int(size·long/short); crop offsets
 * round((resized − size)/2), halves to even (Python's round). */
void mc_crop_geometry_compute (int width, int height, int size,
    mc_crop_geometry *geo);

/* One axis of the resize, for the outputs [out_first, out_first + n_out). */
typedef struct {
  int in_size, out_size;      /* the whole resize, as Pillow sees it */
  int out_first, n_out;       /* the outputs described */
  int taps;                   /* weights stored per output (Pillow's ksize) */
  int *first;                 /* [n_out] first input sample read */
  int *count;                 /* [n_out] inputs read, <= taps */
  int32_t *coef;              /* [n_out × taps] weights; unused slots are 0 */
  int in_lo, in_hi;           /* union of the inputs read: [in_lo, in_hi) */
} mc_filter_table;

/* Builds the table; the previous contents (if any) are freed first.  A zeroed
 * struct is a valid empty table. */
mc_status mc_filter_table_build (mc_filter_table *table, int in_size,
    int out_size, int out_first, int n_out, mc_error *err);
void mc_filter_table_clear (mc_filter_table *table);

/* Horizontal pass over one row: dst receives n_out RGB triples.  The row is
 * given as rg[] (R in bits 0..31, G in bits 32..63) and b[], holding input
 * samples from index `origin` on (at least [in_lo, in_hi)).
 *
 * Plain C: every output reads its own window of the row, a gather ORC cannot
 * express.  One 64-bit multiply filters R and G together; that is exact
 * because BILINEAR weights are never negative and sum to 2^22 (± a few
 * units), so each 32-bit lane stays below 2^31 and never carries. */
void mc_resample_row_h (const mc_filter_table *table, const uint64_t *rg,
    const uint32_t *b, int origin, uint8_t *dst);

/* Two rows at once (same table, same origin): the B channels of both rows
 * share one 64-bit multiply and the weights are loaded once, so a row costs
 * 1.5 multiplies per tap instead of 2. */
void mc_resample_rows_h2 (const mc_filter_table *table,
    const uint64_t *rg0, const uint32_t *b0, const uint64_t *rg1,
    const uint32_t *b1, int origin, uint8_t *dst0, uint8_t *dst1);

/* The same row when the width is unchanged: outputs are the inputs
 * [first, first + n) as bytes. */
void mc_copy_row_h (const uint64_t *rg, const uint32_t *b, int first, int n,
    uint8_t *dst);

#endif
