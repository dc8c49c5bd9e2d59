/* preprocess.c — mc_preprocess: a frame (or a region of it) to model input.
 *
 * The pipeline is torchvision's Resize(S, BILINEAR) + CenterCrop(S) +
 * ToTensor() on a PIL image, computed only where the crop keeps it:
 *
 *   source row ──(YUV: convert the needed columns to RGBx, ORC)──┐
 *   ──horizontal pass (C, only the S crop columns)──> uint8 row in a ring
 *   ring rows ──vertical pass (ORC, int32 MAC)──> clamp, /255 ──> NHWC floats
 *
 * Each source row the crop needs is converted and filtered once; nothing the
 * crop discards is computed, and the arithmetic per kept sample is Pillow's,
 * so the result is identical to resizing the whole image and cropping.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "mc-preprocess-orc.h"
#include "preprocess/resample.h"
#include "preprocess/yuv.h"
#include "runtime/error.h"

/* Output sides beyond this are certainly a caller's mistake (and keep every
 * size computation far from overflow). */
#define MAX_OUTPUT_SIZE 8192

struct mc_preprocessor {
  /* the geometry the tables below were built for */
  int have_geometry;
  int roi_w, roi_h, size;
  mc_crop_geometry geo;
  int need_h, need_v;         /* a pass is skipped when its side is unchanged */
  mc_filter_table hf, vf;     /* the crop's columns and rows */
  int col_lo, col_hi;         /* ROI columns the horizontal stage reads */

  /* scratch, sized for the geometry */
  uint8_t *rgbx;              /* one converted YUV row, RGBx */
  uint8_t *ring;              /* ring_rows horizontal-pass rows of size·3 */
  int *ring_row;              /* ROI row held by each ring slot, -1 none */
  int ring_rows;
  int32_t *acc;               /* size·3 vertical accumulators */
};

typedef struct {
  int bpp, r, g, b;
} packed_layout;

/* Byte layout of the packed RGB formats and GRAY8; alpha/padding ignored. */
static int
packed_layout_of (mc_pixel_format format, packed_layout *l)
{
  switch (format) {
    case MC_PIXEL_RGB: *l = (packed_layout) { 3, 0, 1, 2 }; return 1;
    case MC_PIXEL_BGR: *l = (packed_layout) { 3, 2, 1, 0 }; return 1;
    case MC_PIXEL_RGBX: case MC_PIXEL_RGBA: *l = (packed_layout) { 4, 0, 1, 2 }; return 1;
    case MC_PIXEL_BGRX: case MC_PIXEL_BGRA: *l = (packed_layout) { 4, 2, 1, 0 }; return 1;
    case MC_PIXEL_XRGB: case MC_PIXEL_ARGB: *l = (packed_layout) { 4, 1, 2, 3 }; return 1;
    case MC_PIXEL_XBGR: case MC_PIXEL_ABGR: *l = (packed_layout) { 4, 3, 2, 1 }; return 1;
    case MC_PIXEL_GRAY8: *l = (packed_layout) { 1, 0, 0, 0 }; return 1;
    default: return 0;
  }
}

mc_preprocessor *
mc_preprocessor_new (void)
{
  return calloc (1, sizeof (mc_preprocessor));
}

static void
release_geometry (mc_preprocessor *pp)
{
  mc_filter_table_clear (&pp->hf);
  mc_filter_table_clear (&pp->vf);
  free (pp->rgbx);
  free (pp->ring);
  free (pp->ring_row);
  free (pp->acc);
  pp->rgbx = pp->ring = NULL;
  pp->ring_row = NULL;
  pp->acc = NULL;
  pp->have_geometry = 0;
}

void
mc_preprocessor_free (mc_preprocessor *pp)
{
  if (!pp)
    return;
  release_geometry (pp);
  free (pp);
}

/* Checks what the planes must hold for the format and size. */
static mc_status
check_image (const mc_image *src, mc_error *err)
{
  const int w = src->width, h = src->height;
  const int cw = (w + 1) / 2;   /* chroma width, rounded up */
  packed_layout l;
  int64_t need[3] = { 0, 0, 0 };
  int n_planes = 1;

  if (w <= 0 || h <= 0 || w >= (1 << 24) || h >= (1 << 24))
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: image size %d×%d out of range", w, h);
  if (packed_layout_of (src->format, &l)) {
    need[0] = (int64_t) w * l.bpp;
  } else {
    switch (src->format) {
      case MC_PIXEL_I420: case MC_PIXEL_YV12:
        n_planes = 3; need[0] = w; need[1] = need[2] = cw; break;
      case MC_PIXEL_NV12: case MC_PIXEL_NV21:
        n_planes = 2; need[0] = w; need[1] = 2 * (int64_t) cw; break;
      case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
        need[0] = 4 * (int64_t) cw; break;
      default:
        return mc_err (err, MC_ERR_INVALID_ARGUMENT,
            "preprocess: unknown pixel format %d", (int) src->format);
    }
    if (src->matrix != MC_YUV_BT601 && src->matrix != MC_YUV_BT709
        && src->matrix != MC_YUV_BT2020)
      return mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "preprocess: unknown YUV matrix %d", (int) src->matrix);
  }
  for (int i = 0; i < n_planes; i++) {
    if (!src->planes[i])
      return mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "preprocess: plane %d of the image is NULL", i);
    if (src->strides[i] < need[i])
      return mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "preprocess: plane %d stride %d is below the %lld bytes a row needs",
          i, src->strides[i], (long long) need[i]);
  }
  return MC_OK;
}

/* The region to process, clamped to the frame; a region with nothing inside
 * the frame is an error. */
static mc_status
resolve_roi (const mc_image *src, const mc_rect *roi, mc_rect *out,
    mc_error *err)
{
  if (!roi || roi->width == 0) {
    *out = (mc_rect) { 0, 0, src->width, src->height };
    return MC_OK;
  }
  if (roi->width < 0 || roi->height <= 0)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: empty region %d×%d", roi->width, roi->height);
  int64_t x0 = roi->x, y0 = roi->y;
  int64_t x1 = x0 + roi->width, y1 = y0 + roi->height;
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > src->width) x1 = src->width;
  if (y1 > src->height) y1 = src->height;
  if (x1 <= x0 || y1 <= y0)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: region (%d,%d) %d×%d lies outside the %d×%d frame",
        roi->x, roi->y, roi->width, roi->height, src->width, src->height);
  *out = (mc_rect) { (int) x0, (int) y0, (int) (x1 - x0), (int) (y1 - y0) };
  return MC_OK;
}

/* Builds tables and scratch for a region size and output side, unless the
 * last call already did. */
static mc_status
prepare_geometry (mc_preprocessor *pp, int roi_w, int roi_h, int size,
    mc_error *err)
{
  if (pp->have_geometry && pp->roi_w == roi_w && pp->roi_h == roi_h
      && pp->size == size)
    return MC_OK;
  release_geometry (pp);

  mc_crop_geometry *geo = &pp->geo;
  mc_crop_geometry_compute (roi_w, roi_h, size, geo);
  pp->need_h = geo->resized_w != roi_w;
  pp->need_v = geo->resized_h != roi_h;

  mc_status st;
  if (pp->need_h) {
    st = mc_filter_table_build (&pp->hf, roi_w, geo->resized_w, geo->left, size, err);
    if (st != MC_OK)
      return st;
    pp->col_lo = pp->hf.in_lo;
    pp->col_hi = pp->hf.in_hi;
  } else {
    pp->col_lo = geo->left;
    pp->col_hi = geo->left + size;
  }
  if (pp->need_v) {
    st = mc_filter_table_build (&pp->vf, roi_h, geo->resized_h, geo->top, size, err);
    if (st != MC_OK) {
      release_geometry (pp);
      return st;
    }
    /* The rows one output reads never span more than `taps`, and the window
     * only moves forward, so a ring of that many rows suffices. */
    pp->ring_rows = pp->vf.taps;
  } else {
    pp->ring_rows = 1;
  }

  const size_t row_bytes = (size_t) size * 3;
  /* A converted row starts on an even frame column, so it may hold one
   * pixel before the first needed column and one after the last. */
  pp->rgbx = malloc ((size_t) (pp->col_hi - pp->col_lo + 2) * 4);
  pp->ring = malloc (row_bytes * pp->ring_rows);
  pp->ring_row = malloc (sizeof (int) * pp->ring_rows);
  pp->acc = malloc (sizeof (int32_t) * row_bytes);
  if (!pp->rgbx || !pp->ring || !pp->ring_row || !pp->acc) {
    release_geometry (pp);
    return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for scratch rows");
  }
  pp->roi_w = roi_w;
  pp->roi_h = roi_h;
  pp->size = size;
  pp->have_geometry = 1;
  return MC_OK;
}

/* Horizontal stage for ROI row r into dst (size RGB triples). */
static void
horizontal_row (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi,
    const mc_yuv_coefs *coefs, int r, uint8_t *dst)
{
  const int y = roi->y + r;
  const uint8_t *row;
  int origin;
  packed_layout l;

  if (packed_layout_of (src->format, &l)) {
    row = src->planes[0] + (size_t) y * src->strides[0] + (size_t) roi->x * l.bpp;
    origin = 0;
  } else {
    /* Convert the frame columns the filter reads, from an even column. */
    int x0 = roi->x + pp->col_lo, x1 = roi->x + pp->col_hi;
    int x0_even = x0 & ~1;
    mc_yuv_row_to_rgbx (src, coefs, y, x0_even, x1, pp->rgbx);
    row = pp->rgbx + (size_t) (x0 - x0_even) * 4;
    origin = pp->col_lo;
    l = (packed_layout) { 4, 0, 1, 2 };
  }

  if (pp->need_h) {
    mc_resample_row_h (&pp->hf, row, origin, l.bpp, l.r, l.g, l.b, dst);
    return;
  }
  /* Width unchanged: the crop's columns, reordered to RGB. */
  const uint8_t *p = row + (size_t) (pp->geo.left - origin) * l.bpp;
  for (int i = 0; i < pp->size; i++, p += l.bpp) {
    dst[3 * i + 0] = p[l.r];
    dst[3 * i + 1] = p[l.g];
    dst[3 * i + 2] = p[l.b];
  }
}

/* The ring slot holding ROI row r, filling it first if needed. */
static const uint8_t *
ring_get (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi,
    const mc_yuv_coefs *coefs, int r)
{
  int slot = r % pp->ring_rows;
  uint8_t *row = pp->ring + (size_t) slot * pp->size * 3;
  if (pp->ring_row[slot] != r) {
    horizontal_row (pp, src, roi, coefs, r, row);
    pp->ring_row[slot] = r;
  }
  return row;
}

mc_status
mc_preprocess (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi,
    int size, float *dst, mc_error *err)
{
  if (!pp || !src || !dst)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: NULL %s", !pp ? "preprocessor" : !src ? "image" : "output");
  if (size <= 0 || size > MAX_OUTPUT_SIZE)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: output size %d out of range 1..%d", size, MAX_OUTPUT_SIZE);
  mc_status st = check_image (src, err);
  if (st != MC_OK)
    return st;
  mc_rect r = { 0, 0, 0, 0 };
  st = resolve_roi (src, roi, &r, err);
  if (st != MC_OK)
    return st;
  st = prepare_geometry (pp, r.width, r.height, size, err);
  if (st != MC_OK)
    return st;

  mc_yuv_coefs coefs = { 0 };
  if (mc_pixel_format_is_yuv (src->format))
    mc_yuv_coefs_compute (src->matrix, src->full_range, &coefs);
  for (int i = 0; i < pp->ring_rows; i++)
    pp->ring_row[i] = -1;

  const int n = size * 3;
  for (int i = 0; i < size; i++) {
    float *out = dst + (size_t) i * n;
    if (!pp->need_v) {
      mc_orc_u8_to_unit_float (out, ring_get (pp, src, &r, &coefs, pp->geo.top + i), n);
      continue;
    }
    const int first = pp->vf.first[i], count = pp->vf.count[i];
    const int32_t *k = pp->vf.coef + (size_t) i * pp->vf.taps;
    mc_orc_vfilter_first (pp->acc, ring_get (pp, src, &r, &coefs, first), k[0], n);
    int t = 1;
    for (; t + 1 < count; t += 2) {
      /* fetch in order: ring_get may fill a slot */
      const uint8_t *a = ring_get (pp, src, &r, &coefs, first + t);
      const uint8_t *b = ring_get (pp, src, &r, &coefs, first + t + 1);
      mc_orc_vfilter_add2 (pp->acc, a, b, k[t], k[t + 1], n);
    }
    if (t < count)
      mc_orc_vfilter_add (pp->acc, ring_get (pp, src, &r, &coefs, first + t), k[t], n);
    mc_orc_vfilter_finish (out, pp->acc, n);
  }
  return MC_OK;
}
