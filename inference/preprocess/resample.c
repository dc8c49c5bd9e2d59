/* resample.c — Pillow's BILINEAR resize tables and the horizontal pass. */
#include "resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

/* Pillow takes box coordinates as float; beyond 2^24 they stop being exact
 * and the weights would drift, so larger sides are refused. */
#define MAX_SIDE (1 << 24)

void
mc_crop_geometry_compute (int width, int height, int size,
    mc_crop_geometry *geo)
{
  /* torchvision: short, long = (w, h) if w <= h else (h, w);
   * new_long = int(size * long / short), a true division then truncation. */
  int w_is_short = width <= height;
  int64_t shorter = w_is_short ? width : height;
  int64_t longer = w_is_short ? height : width;
  int new_long = (int) ((double) ((int64_t) size * longer) / (double) shorter);

  geo->resized_w = w_is_short ? size : new_long;
  geo->resized_h = w_is_short ? new_long : size;

  /* round(d / 2) with ties to even: d odd means a tie between d/2 and d/2+1. */
  int dx = geo->resized_w - size, dy = geo->resized_h - size;
  geo->left = dx / 2 + ((dx & 1) && ((dx / 2) & 1));
  geo->top = dy / 2 + ((dy & 1) && ((dy / 2) & 1));
}

static double
triangle (double x)
{
  if (x < 0.0)
    x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

void
mc_filter_table_clear (mc_filter_table *table)
{
  free (table->first);
  free (table->count);
  free (table->coef);
  memset (table, 0, sizeof *table);
}

mc_status
mc_filter_table_build (mc_filter_table *table, int in_size, int out_size,
    int out_first, int n_out, mc_error *err)
{
  mc_filter_table_clear (table);
  if (in_size <= 0 || out_size <= 0 || in_size >= MAX_SIDE || out_size >= MAX_SIDE
      || out_first < 0 || n_out <= 0 || out_first + n_out > out_size)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "resample: bad geometry (in %d, out %d, outputs %d..%d)", in_size,
        out_size, out_first, out_first + n_out);

  /* The same expressions as Pillow's precompute_coeffs, in the same order:
   * any change of association would move some weights by one unit. */
  double scale = (double) in_size / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filterscale;
  double inv_filterscale = 1.0 / filterscale;
  int taps = (int) ceil (support) * 2 + 1;

  table->in_size = in_size;
  table->out_size = out_size;
  table->out_first = out_first;
  table->n_out = n_out;
  table->taps = taps;
  table->first = malloc (sizeof (int) * n_out);
  table->count = malloc (sizeof (int) * n_out);
  table->coef = calloc ((size_t) n_out * taps, sizeof (int32_t));
  double *w = malloc (sizeof (double) * taps);
  if (!table->first || !table->count || !table->coef || !w) {
    free (w);
    mc_filter_table_clear (table);
    return mc_err (err, MC_ERR_NOMEM, "resample: out of memory for %d×%d weights",
        n_out, taps);
  }

  table->in_lo = in_size;
  table->in_hi = 0;
  for (int i = 0; i < n_out; i++) {
    int xx = out_first + i;
    double center = (xx + 0.5) * scale;
    int xmin = (int) (center - support + 0.5);
    if (xmin < 0)
      xmin = 0;
    int xmax = (int) (center + support + 0.5);
    if (xmax > in_size)
      xmax = in_size;
    int n = xmax - xmin;

    double sum = 0.0;
    for (int x = 0; x < n; x++) {
      w[x] = triangle (((double) (x + xmin) - center + 0.5) * inv_filterscale);
      sum += w[x];
    }
    int32_t *k = table->coef + (size_t) i * taps;
    for (int x = 0; x < n; x++) {
      double v = sum != 0.0 ? w[x] / sum : w[x];
      /* To fixed point, halves away from zero, as normalize_coeffs_8bpc. */
      k[x] = v < 0 ? (int32_t) (-0.5 + v * (1 << MC_RESAMPLE_BITS))
          : (int32_t) (0.5 + v * (1 << MC_RESAMPLE_BITS));
    }
    table->first[i] = xmin;
    table->count[i] = n;
    if (xmin < table->in_lo)
      table->in_lo = xmin;
    if (xmax > table->in_hi)
      table->in_hi = xmax;
  }
  free (w);
  return MC_OK;
}

static inline uint8_t
clip8 (uint32_t acc)
{
  /* Non-negative weights: only the upper clamp can apply. */
  uint32_t v = acc >> MC_RESAMPLE_BITS;
  return v > 255 ? 255 : (uint8_t) v;
}

void
mc_resample_row_h (const mc_filter_table *table, const uint64_t *rg,
    const uint32_t *b, int origin, uint8_t *dst)
{
  const int taps = table->taps;
  const uint64_t half2 = (uint64_t) MC_RESAMPLE_HALF << 32 | MC_RESAMPLE_HALF;
  for (int i = 0; i < table->n_out; i++) {
    const int at = table->first[i] - origin, n = table->count[i];
    const uint64_t *prg = rg + at;
    const uint32_t *pb = b + at;
    const int32_t *k = table->coef + (size_t) i * taps;
    uint64_t acc_rg = half2, acc_rg2 = 0;
    uint32_t acc_b = MC_RESAMPLE_HALF, acc_b2 = 0;
    int t = 0;
    /* two chains, for instruction-level parallelism */
    for (; t + 1 < n; t += 2) {
      acc_rg += prg[t] * (uint32_t) k[t];
      acc_b += pb[t] * (uint32_t) k[t];
      acc_rg2 += prg[t + 1] * (uint32_t) k[t + 1];
      acc_b2 += pb[t + 1] * (uint32_t) k[t + 1];
    }
    if (t < n) {
      acc_rg += prg[t] * (uint32_t) k[t];
      acc_b += pb[t] * (uint32_t) k[t];
    }
    acc_rg += acc_rg2;
    acc_b += acc_b2;
    dst[3 * i + 0] = clip8 ((uint32_t) acc_rg);
    dst[3 * i + 1] = clip8 ((uint32_t) (acc_rg >> 32));
    dst[3 * i + 2] = clip8 (acc_b);
  }
}

void
mc_resample_rows_h2 (const mc_filter_table *table,
    const uint64_t *rg0, const uint32_t *b0, const uint64_t *rg1,
    const uint32_t *b1, int origin, uint8_t *dst0, uint8_t *dst1)
{
  const int taps = table->taps;
  const uint64_t half2 = (uint64_t) MC_RESAMPLE_HALF << 32 | MC_RESAMPLE_HALF;
  for (int i = 0; i < table->n_out; i++) {
    const int at = table->first[i] - origin, n = table->count[i];
    const uint64_t *p0 = rg0 + at, *p1 = rg1 + at;
    const uint32_t *q0 = b0 + at, *q1 = b1 + at;
    const int32_t *k = table->coef + (size_t) i * taps;
    uint64_t acc0 = half2, acc1 = half2, acc_b = half2;
    for (int t = 0; t < n; t++) {
      const uint64_t w = (uint32_t) k[t];
      acc0 += p0[t] * w;
      acc1 += p1[t] * w;
      acc_b += (q0[t] | (uint64_t) q1[t] << 32) * w;
    }
    dst0[3 * i + 0] = clip8 ((uint32_t) acc0);
    dst0[3 * i + 1] = clip8 ((uint32_t) (acc0 >> 32));
    dst0[3 * i + 2] = clip8 ((uint32_t) acc_b);
    dst1[3 * i + 0] = clip8 ((uint32_t) acc1);
    dst1[3 * i + 1] = clip8 ((uint32_t) (acc1 >> 32));
    dst1[3 * i + 2] = clip8 ((uint32_t) (acc_b >> 32));
  }
}

void
mc_copy_row_h (const uint64_t *rg, const uint32_t *b, int first, int n,
    uint8_t *dst)
{
  for (int i = 0; i < n; i++) {
    dst[3 * i + 0] = (uint8_t) rg[first + i];
    dst[3 * i + 1] = (uint8_t) (rg[first + i] >> 32);
    dst[3 * i + 2] = (uint8_t) b[first + i];
  }
}
