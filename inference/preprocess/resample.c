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
clip8 (int32_t acc)
{
  int32_t v = acc >> MC_RESAMPLE_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t) v;
}

/* The pass for one sample layout; inlined with constant bpp and offsets so
 * the compiler sees fixed strides. */
static inline void
resample_row_h_layout (const mc_filter_table *table, const uint8_t *src,
    const int origin, const int bpp, const int ro, const int go, const int bo, uint8_t *dst)
{
  const int taps = table->taps;
  for (int i = 0; i < table->n_out; i++) {
    const uint8_t *p = src + (size_t) (table->first[i] - origin) * bpp;
    const int32_t *k = table->coef + (size_t) i * taps;
    int32_t r = MC_RESAMPLE_HALF, g = MC_RESAMPLE_HALF, b = MC_RESAMPLE_HALF;
    for (int t = 0, n = table->count[i]; t < n; t++, p += bpp) {
      r += p[ro] * k[t];
      g += p[go] * k[t];
      b += p[bo] * k[t];
    }
    dst[3 * i + 0] = clip8 (r);
    dst[3 * i + 1] = clip8 (g);
    dst[3 * i + 2] = clip8 (b);
  }
}

void
mc_resample_row_h (const mc_filter_table *table, const uint8_t *src,
    int origin, int bpp, int r_off, int g_off, int b_off, uint8_t *dst)
{
  /* The layouts preprocessing produces get their own copy of the loop. */
  if (bpp == 4 && r_off == 0 && g_off == 1 && b_off == 2)
    resample_row_h_layout (table, src, origin, 4, 0, 1, 2, dst);
  else if (bpp == 3 && r_off == 0 && g_off == 1 && b_off == 2)
    resample_row_h_layout (table, src, origin, 3, 0, 1, 2, dst);
  else if (bpp == 1)
    resample_row_h_layout (table, src, origin, 1, 0, 0, 0, dst);
  else
    resample_row_h_layout (table, src, origin, bpp, r_off, g_off, b_off, dst);
}
