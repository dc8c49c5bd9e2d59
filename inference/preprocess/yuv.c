/* yuv.c — the YUV front-end: matrix coefficients and row conversion. */
#include "yuv.h"

#include <math.h>
#include <string.h>

#include "mc-preprocess-orc.h"

int
mc_pixel_format_is_yuv (mc_pixel_format format)
{
  switch (format) {
    case MC_PIXEL_I420: case MC_PIXEL_YV12: case MC_PIXEL_NV12:
    case MC_PIXEL_NV21: case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
      return 1;
    default:
      return 0;
  }
}

/* Four 16-bit lanes, lane 0 in the low bits (the lowest-addressed word of an
 * ORC 64-bit element on a little-endian machine, and in the backup C). */
static int64_t
pack_lanes (int l0, int l1, int l2, int l3)
{
  uint64_t v = (uint64_t) (uint16_t) l0 | (uint64_t) (uint16_t) l1 << 16
      | (uint64_t) (uint16_t) l2 << 32 | (uint64_t) (uint16_t) l3 << 48;
  return (int64_t) v;
}

void
mc_yuv_coefs_compute (mc_yuv_matrix matrix, int full_range, mc_yuv_coefs *coefs)
{
  double kr, kb;
  switch (matrix) {
    case MC_YUV_BT709: kr = 0.2126; kb = 0.0722; break;
    case MC_YUV_BT2020: kr = 0.2627; kb = 0.0593; break;
    case MC_YUV_BT601:
    default: kr = 0.299; kb = 0.114; break;
  }
  double kg = 1.0 - kr - kb;
  /* Video range stretches 219 luma and 224 chroma steps over 255. */
  double ys = full_range ? 1.0 : 255.0 / 219.0;
  double cs = full_range ? 1.0 : 255.0 / 224.0;
  double rv = 2.0 * (1.0 - kr) * cs;
  double bu = 2.0 * (1.0 - kb) * cs;
  double gu = -2.0 * kb * (1.0 - kb) / kg * cs;
  double gv = -2.0 * kr * (1.0 - kr) / kg * cs;

  coefs->yoff = full_range ? 0 : 16;
  coefs->ycoef = (int) lrint (ys * 16384.0);
  /* ORC lanes: T = (v,u,v,u)·kc1 + (u,v,u,v)·kc2 → (R, G, B, 0). */
  coefs->kc1 = pack_lanes ((int) lrint (rv * 8192.0), (int) lrint (gu * 8192.0), 0, 0);
  coefs->kc2 = pack_lanes (0, (int) lrint (gv * 8192.0), (int) lrint (bu * 8192.0), 0);
}

/* n pixel pairs through the format's ORC kernel.  `luma` points at the first
 * pair (for YUY2/UYVY: its macropixel), `ca`/`cb` at its chroma: the U and V
 * samples for I420/YV12, the interleaved pair for NV12/NV21. */
static void
convert_pairs (mc_pixel_format format, const mc_yuv_coefs *c,
    const uint8_t *luma, const uint8_t *ca, const uint8_t *cb, int n,
    uint8_t *dst)
{
  switch (format) {
    case MC_PIXEL_I420:
    case MC_PIXEL_YV12:
      mc_orc_i420_to_rgbx (dst, luma, ca, cb, c->yoff, c->ycoef, c->kc1, c->kc2, n);
      break;
    case MC_PIXEL_NV12:
      mc_orc_nv12_to_rgbx (dst, luma, ca, c->yoff, c->ycoef, c->kc1, c->kc2, n);
      break;
    case MC_PIXEL_NV21:
      mc_orc_nv21_to_rgbx (dst, luma, ca, c->yoff, c->ycoef, c->kc1, c->kc2, n);
      break;
    case MC_PIXEL_YUY2:
      mc_orc_yuy2_to_rgbx (dst, luma, c->yoff, c->ycoef, c->kc1, c->kc2, n);
      break;
    case MC_PIXEL_UYVY:
      mc_orc_uyvy_to_rgbx (dst, luma, c->yoff, c->ycoef, c->kc1, c->kc2, n);
      break;
    default:
      break;
  }
}

void
mc_yuv_row_to_rgbx (const mc_image *img, const mc_yuv_coefs *coefs, int y,
    int x0, int x1, uint8_t *dst)
{
  const mc_pixel_format f = img->format;
  const int p0 = x0 / 2;
  const int pairs = (x1 - x0 + 1) / 2;
  const uint8_t *row = img->planes[0] + (size_t) y * img->strides[0];
  const uint8_t *luma, *ca = NULL, *cb = NULL;
  int chroma_step;   /* bytes of chroma per pair in ca */

  if (f == MC_PIXEL_YUY2 || f == MC_PIXEL_UYVY) {
    /* Packed rows always hold whole macropixels, even for odd widths. */
    convert_pairs (f, coefs, row + 4 * (size_t) p0, NULL, NULL, pairs, dst);
    return;
  }

  const int cy = y >> 1;   /* 4:2:0: one chroma row per two luma rows */
  luma = row + 2 * (size_t) p0;
  if (f == MC_PIXEL_I420 || f == MC_PIXEL_YV12) {
    /* planes are in memory order: I420 is Y,U,V and YV12 is Y,V,U */
    const int ui = f == MC_PIXEL_I420 ? 1 : 2, vi = 3 - ui;
    ca = img->planes[ui] + (size_t) cy * img->strides[ui] + p0;
    cb = img->planes[vi] + (size_t) cy * img->strides[vi] + p0;
    chroma_step = 1;
  } else {
    ca = img->planes[1] + (size_t) cy * img->strides[1] + 2 * (size_t) p0;
    chroma_step = 2;
  }

  /* An odd-width planar frame has no luma byte after its last pixel, so the
   * last pair is converted from a copy that repeats it. */
  if ((x1 & 1) && x1 == img->width) {
    const int whole = pairs - 1;
    if (whole > 0)
      convert_pairs (f, coefs, luma, ca, cb, whole, dst);
    const uint8_t last[2] = { row[x1 - 1], row[x1 - 1] };
    convert_pairs (f, coefs, last, ca + (size_t) whole * chroma_step,
        cb ? cb + whole : NULL, 1, dst + 8 * (size_t) whole);
    return;
  }
  convert_pairs (f, coefs, luma, ca, cb, pairs, dst);
}
