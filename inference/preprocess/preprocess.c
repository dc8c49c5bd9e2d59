/* preprocess.c — mc_preprocess: a frame (or a region of it) to model input.
 *
 * The pipeline is torchvision's Resize(S, BILINEAR) + CenterCrop(S) +
 * ToTensor() on a PIL image, computed only where the crop keeps it:
 *
 *   source row ──unpack the needed columns (ORC; YUV converted here)──>
 *   rg/b words ──horizontal pass (C, only the S crop columns)──> uint8 row
 *   in a ring ──vertical pass (ORC, int32 MAC)──> clamp, /255 ──> NHWC floats
 *
 * Each source row the crop needs is converted and filtered once; nothing the
 * crop discards is computed, and the arithmetic per kept sample is Pillow's,
 * so the result is identical to resizing the whole image and cropping.
 *
 * The AVX2 variant (variant.h) runs the same stages with its own kernels:
 * unpack to planar R, G, B byte rows, the horizontal pass on those, and the
 * vertical pass, one source row at a time; the ring and this driver are
 * shared, and the bytes are the same.
 */
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "mc-preprocess-orc.h"
#include "preprocess/resample.h"
#include "preprocess/unpack.h"
#include "preprocess/variant.h"
#include "runtime/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "preprocess/x86/kernels_avx2.h"
#ifdef MC_HAVE_PREPROCESS_AVX512
#include "preprocess/x86/kernels_avx512.h"
#endif
#define MC_PREPROCESS_HAVE_X86 1

typedef void (*hpass_fn) (const mc_hplan *plan, const uint8_t *r, const uint8_t *g,
    const uint8_t *b, int origin, uint8_t *dst);
typedef void (*vpass_fn) (const uint8_t *const *rows, const int32_t *k, int count, int n,
    float *dst);
typedef int (*unpack_planar_fn) (const mc_unpacker *up, const mc_image *img, int y,
    int x0, int x1, int rows, uint8_t *const scratch[2][3], const uint8_t *planes[2][3]);

/* The x86 variants share the ring and the driver; each stage's kernels are
 * chosen with the geometry: the avx2 ones, avx-vnni's passes where the
 * variant and the CPU have AVX-VNNI, and the avx512 variant's own unpacker
 * and vertical pass (its horizontal pass is chosen with its plan). */
static int
use_avx_vnni (mc_preprocess_variant v)
{
#ifdef MC_HAVE_PREPROCESS_AVX_VNNI
  return v == MC_PREPROCESS_AVX_VNNI
      || (v == MC_PREPROCESS_AVX512 && mc_preprocess_variant_supported (MC_PREPROCESS_AVX_VNNI));
#else
  return 0;
#endif
}

static hpass_fn
hpass_for (mc_preprocess_variant v)
{
#ifdef MC_HAVE_PREPROCESS_AVX_VNNI
  if (use_avx_vnni (v))
    return mc_hpass_row_avxvnni;
#endif
  return mc_hpass_row_avx2;
}

static vpass_fn
vpass_for (mc_preprocess_variant v)
{
#ifdef MC_HAVE_PREPROCESS_AVX512
  if (v == MC_PREPROCESS_AVX512)
    return mc_vpass_row_avx512;
#endif
#ifdef MC_HAVE_PREPROCESS_AVX_VNNI
  if (use_avx_vnni (v))
    return mc_vpass_row_avxvnni;
#endif
  return mc_vpass_row_avx2;
}

static unpack_planar_fn
unpack_planar_for (mc_preprocess_variant v)
{
#ifdef MC_HAVE_PREPROCESS_AVX512
  if (v == MC_PREPROCESS_AVX512)
    return mc_unpack_planar_avx512;
#endif
  (void) v;
  return mc_unpack_planar_avx2;
}
#endif

/* Output sides beyond this are certainly a caller's mistake (and keep every
 * size computation far from overflow). */
#define MAX_OUTPUT_SIZE 8192

struct mc_preprocessor {
  /* the geometry (and kernel variant) the tables below were built for */
  int have_geometry;
  int roi_w, roi_h, size;
  mc_preprocess_variant variant;
  mc_crop_geometry geo;
  int need_h, need_v;         /* a pass is skipped when its side is unchanged */
  mc_filter_table hf, vf;     /* the crop's columns and rows */
  int col_lo, col_hi;         /* ROI columns the horizontal stage reads */
  int row_lo, row_hi;         /* ROI rows it runs on */

  /* scratch, sized for the geometry */
  mc_unpacker unpacker;       /* format front-end and its row scratch */
  uint64_t *rg[2];            /* two unpacked rows: R | G << 32 ... */
  uint32_t *b[2];             /* ... and B */
  uint8_t *ring;              /* ring_rows horizontal-pass rows of size·3 */
  size_t ring_stride;         /* bytes per ring row: size·3 plus the slack
                                 the AVX2 kernels' whole-vector access needs */
  int *ring_row;              /* ROI row held by each ring slot, -1 none */
  int ring_rows;
  int32_t *acc;               /* size·3 vertical accumulators */

#ifdef MC_PREPROCESS_HAVE_X86
  /* the x86 variants */
  mc_hplan hplan;             /* the horizontal table in the kernel's layout */
#ifdef MC_HAVE_PREPROCESS_AVX512
  mc_hplan512 hplan512;       /* the avx512 variant's, when its window fits */
#endif
  unpack_planar_fn unpack;
  hpass_fn hpass;
  vpass_fn vpass;
  uint8_t *planar[2][3];      /* two unpacked rows as R, G, B bytes */
  const uint8_t **vrows;      /* the ring rows one output row reads */
#endif
};

/* Bytes per pixel of the RGB family and GRAY8; 0 for the YUV formats. */
static int
rgb_bytes_per_pixel (mc_pixel_format format)
{
  switch (format) {
    case MC_PIXEL_RGB: case MC_PIXEL_BGR:
      return 3;
    case MC_PIXEL_RGBX: case MC_PIXEL_BGRX: case MC_PIXEL_XRGB: case MC_PIXEL_XBGR:
    case MC_PIXEL_RGBA: case MC_PIXEL_BGRA: case MC_PIXEL_ARGB: case MC_PIXEL_ABGR:
      return 4;
    case MC_PIXEL_GRAY8:
      return 1;
    default:
      return 0;
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
  mc_unpacker_clear (&pp->unpacker);
  for (int i = 0; i < 2; i++) {
    free (pp->rg[i]);
    free (pp->b[i]);
    pp->rg[i] = NULL;
    pp->b[i] = NULL;
  }
  free (pp->ring);
  free (pp->ring_row);
  free (pp->acc);
  pp->ring = NULL;
  pp->ring_row = NULL;
  pp->acc = NULL;
#ifdef MC_PREPROCESS_HAVE_X86
  mc_hplan_clear (&pp->hplan);
#ifdef MC_HAVE_PREPROCESS_AVX512
  mc_hplan512_clear (&pp->hplan512);
#endif
  for (int i = 0; i < 6; i++) {
    free (pp->planar[i / 3][i % 3]);
    pp->planar[i / 3][i % 3] = NULL;
  }
  free (pp->vrows);
  pp->vrows = NULL;
#endif
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
  const int bpp = rgb_bytes_per_pixel (src->format);
  int64_t need[3] = { 0, 0, 0 };
  int n_planes = 1;

  if (w <= 0 || h <= 0 || w >= (1 << 24) || h >= (1 << 24))
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "preprocess: image size %d×%d out of range", w, h);
  if (bpp) {
    need[0] = (int64_t) w * bpp;
  } else {
    switch (src->format) {
      case MC_PIXEL_I420: case MC_PIXEL_YV12:
        n_planes = 3; need[0] = w; need[1] = need[2] = cw; break;
      case MC_PIXEL_NV12: case MC_PIXEL_NV21:
        n_planes = 2; need[0] = w; need[1] = 2 * (int64_t) cw; break;
      case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
        need[0] = 4 * (int64_t) cw; break;
      case MC_PIXEL_Y444:
        n_planes = 3; need[0] = need[1] = need[2] = w; break;
      case MC_PIXEL_Y42B:
        n_planes = 3; need[0] = w; need[1] = need[2] = cw; break;
      case MC_PIXEL_I420_10LE:
        n_planes = 3; need[0] = 2 * (int64_t) w; need[1] = need[2] = 2 * (int64_t) cw; break;
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
    mc_preprocess_variant variant, mc_error *err)
{
  if (pp->have_geometry && pp->roi_w == roi_w && pp->roi_h == roi_h
      && pp->size == size && pp->variant == variant)
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
    /* The rows one output reads never span more than `taps` and the window
     * only moves forward.  Rows are filled in pairs, the second one ahead
     * of need, so one more slot keeps it from evicting a row in use. */
    pp->ring_rows = pp->vf.taps + 1;
    pp->row_lo = pp->vf.in_lo;
    pp->row_hi = pp->vf.in_hi;
  } else {
    pp->ring_rows = 2;
    pp->row_lo = geo->top;
    pp->row_hi = geo->top + size;
  }

  const size_t row_bytes = (size_t) size * 3;
  /* An unpacked row starts on an even frame column (chroma pairs), so it
   * may hold one pixel before the first needed column and one after. */
  const int unpack_width = pp->col_hi - pp->col_lo + 2;
  /* The AVX2 passes read and write whole vectors: 32-byte steps in the
   * vertical pass, 8-pixel blocks (+4 bytes) in the horizontal one.  The
   * slack is zeroed once and only ever multiplied by zero weights. */
  pp->ring_stride = (row_bytes + 31) / 32 * 32 + 32;
  pp->ring = calloc (pp->ring_stride, pp->ring_rows);
  pp->ring_row = malloc (sizeof (int) * pp->ring_rows);
  if (!pp->ring || !pp->ring_row) {
    release_geometry (pp);
    return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for scratch rows");
  }
  if (variant == MC_PREPROCESS_PORTABLE) {
    for (int i = 0; i < 2; i++) {
      pp->rg[i] = malloc (sizeof (uint64_t) * (unpack_width + 1));
      pp->b[i] = malloc (sizeof (uint32_t) * (unpack_width + 1));
    }
    pp->acc = malloc (sizeof (int32_t) * row_bytes);
    if (!pp->rg[0] || !pp->rg[1] || !pp->b[0] || !pp->b[1] || !pp->acc) {
      release_geometry (pp);
      return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for scratch rows");
    }
    st = mc_unpacker_reserve (&pp->unpacker, unpack_width, err);
    if (st != MC_OK) {
      release_geometry (pp);
      return st;
    }
  }
#ifdef MC_PREPROCESS_HAVE_X86
  if (variant != MC_PREPROCESS_PORTABLE) {   /* avx2, avx-vnni or avx512 */
    /* Planar rows start at column origin >= col_lo - 1; the unpacker writes
     * 32-pixel steps and the horizontal windows read up to read_end + 16
     * (AVX2) or read_end (AVX-512). */
    int planar_bytes = unpack_width + 32;
    pp->hpass = hpass_for (variant);
    pp->vpass = vpass_for (variant);
    pp->unpack = unpack_planar_for (variant);
#ifdef MC_HAVE_PREPROCESS_AVX512
    if (pp->need_h && variant == MC_PREPROCESS_AVX512) {
      st = mc_hplan512_build (&pp->hplan512, &pp->hf, err);
      if (st != MC_OK) {
        release_geometry (pp);
        return st;
      }
      if (pp->hplan512.n_out) {
        pp->hpass = NULL;
        if (pp->hplan512.read_end - pp->col_lo + 1 > planar_bytes)
          planar_bytes = pp->hplan512.read_end - pp->col_lo + 1;
      }
    }
#endif
    if (pp->need_h && pp->hpass) {
      st = mc_hplan_build_avx2 (&pp->hplan, &pp->hf, err);
      if (st != MC_OK) {
        release_geometry (pp);
        return st;
      }
      if (pp->hplan.read_end - pp->col_lo + 1 + 16 > planar_bytes)
        planar_bytes = pp->hplan.read_end - pp->col_lo + 1 + 16;
    }
    int missing = 0;
    for (int i = 0; i < 6; i++)
      missing |= !(pp->planar[i / 3][i % 3] = calloc (planar_bytes, 1));
    pp->vrows = malloc (sizeof (const uint8_t *) * (pp->need_v ? pp->vf.taps : 1));
    if (missing || !pp->vrows) {
      release_geometry (pp);
      return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for scratch rows");
    }
  }
#endif
  pp->roi_w = roi_w;
  pp->roi_h = roi_h;
  pp->size = size;
  pp->variant = variant;
  pp->have_geometry = 1;
  return MC_OK;
}

/* Unpacks the frame columns the filter reads of ROI row r into rg[i]/b[i],
 * from an even column so that chroma pairs stay whole; returns the ROI column
 * at index 0. */
static int
unpack (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi, int r, int i)
{
  const int x0_even = (roi->x + pp->col_lo) & ~1;
  mc_unpack_row (&pp->unpacker, src, roi->y + r, x0_even, roi->x + pp->col_hi,
      pp->rg[i], pp->b[i]);
  return x0_even - roi->x;
}

/* Runs the horizontal stage on ROI row r (and r + 1 when the vertical stage
 * will want it too) into their ring slots. */
static void
fill_ring (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi, int r)
{
#ifdef MC_PREPROCESS_HAVE_X86
  if (pp->variant != MC_PREPROCESS_PORTABLE) {
    /* Row r, and r + 1 too when the unpacker can share work between them
     * (4:2:0 chroma); the second is ahead of need, as below. */
    const int x0_even = (roi->x + pp->col_lo) & ~1, origin = x0_even - roi->x;
    const uint8_t *planes[2][3];
    const int rows = pp->unpack (&pp->unpacker, src, roi->y + r, x0_even,
        roi->x + pp->col_hi, r + 1 < pp->row_hi ? 2 : 1, pp->planar, planes);
    for (int i = 0; i < rows; i++) {
      const int slot = (r + i) % pp->ring_rows;
      uint8_t *dst = pp->ring + slot * pp->ring_stride;
      if (pp->need_h && pp->hpass)
        pp->hpass (&pp->hplan, planes[i][0], planes[i][1], planes[i][2], origin, dst);
#ifdef MC_HAVE_PREPROCESS_AVX512
      else if (pp->need_h)
        mc_hpass_row_avx512 (&pp->hplan512, planes[i][0], planes[i][1], planes[i][2], origin, dst);
#endif
      else
        mc_interleave_row_avx2 (planes[i][0], planes[i][1], planes[i][2],
            pp->geo.left - origin, pp->size, dst);
      pp->ring_row[slot] = r + i;
    }
    return;
  }
#endif
  const int pair = r + 1 < pp->row_hi;
  int slot[2] = { r % pp->ring_rows, (r + 1) % pp->ring_rows };
  uint8_t *dst[2] = { pp->ring + slot[0] * pp->ring_stride,
    pp->ring + slot[1] * pp->ring_stride };

  const int origin = unpack (pp, src, roi, r, 0);
  if (pair)
    unpack (pp, src, roi, r + 1, 1);
  for (int i = 0; i <= pair; i++)
    pp->ring_row[slot[i]] = r + i;

  if (!pp->need_h) {
    for (int i = 0; i <= pair; i++)
      mc_copy_row_h (pp->rg[i], pp->b[i], pp->geo.left - origin, pp->size, dst[i]);
  } else if (pair) {
    mc_resample_rows_h2 (&pp->hf, pp->rg[0], pp->b[0], pp->rg[1], pp->b[1], origin,
        dst[0], dst[1]);
  } else {
    mc_resample_row_h (&pp->hf, pp->rg[0], pp->b[0], origin, dst[0]);
  }
}

/* The ring slot holding ROI row r, filling it first if needed. */
static const uint8_t *
ring_get (mc_preprocessor *pp, const mc_image *src, const mc_rect *roi, int r)
{
  int slot = r % pp->ring_rows;
  if (pp->ring_row[slot] != r)
    fill_ring (pp, src, roi, r);
  return pp->ring + (size_t) slot * pp->ring_stride;
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
  st = prepare_geometry (pp, r.width, r.height, size, mc_preprocess_get_variant (), err);
  if (st != MC_OK)
    return st;

  mc_unpacker_begin (&pp->unpacker, src);
  for (int i = 0; i < pp->ring_rows; i++)
    pp->ring_row[i] = -1;

  const int n = size * 3;
#ifdef MC_PREPROCESS_HAVE_X86
  if (pp->variant != MC_PREPROCESS_PORTABLE) {
    for (int i = 0; i < size; i++) {
      float *out = dst + (size_t) i * n;
      if (!pp->need_v) {
        mc_unit_float_row_avx2 (ring_get (pp, src, &r, pp->geo.top + i), n, out);
        continue;
      }
      const int first = pp->vf.first[i], count = pp->vf.count[i];
      /* fetched in order: ring_get may fill a slot, never one of these */
      for (int t = 0; t < count; t++)
        pp->vrows[t] = ring_get (pp, src, &r, first + t);
      pp->vpass (pp->vrows, pp->vf.coef + (size_t) i * pp->vf.taps, count, n, out);
    }
    return MC_OK;
  }
#endif
  for (int i = 0; i < size; i++) {
    float *out = dst + (size_t) i * n;
    if (!pp->need_v) {
      mc_orc_u8_to_unit_float (out, ring_get (pp, src, &r, pp->geo.top + i), n);
      continue;
    }
    const int first = pp->vf.first[i], count = pp->vf.count[i];
    const int32_t *k = pp->vf.coef + (size_t) i * pp->vf.taps;
    mc_orc_vfilter_first (pp->acc, ring_get (pp, src, &r, first), k[0], n);
    int t = 1;
    for (; t + 1 < count; t += 2) {
      /* fetch in order: ring_get may fill a slot */
      const uint8_t *a = ring_get (pp, src, &r, first + t);
      const uint8_t *b = ring_get (pp, src, &r, first + t + 1);
      mc_orc_vfilter_add2 (pp->acc, a, b, k[t], k[t + 1], n);
    }
    if (t < count)
      mc_orc_vfilter_add (pp->acc, ring_get (pp, src, &r, first + t), k[t], n);
    mc_orc_vfilter_finish (out, pp->acc, n);
  }
  return MC_OK;
}
