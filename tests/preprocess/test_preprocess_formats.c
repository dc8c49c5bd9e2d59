/* test_preprocess_formats.c — YUV and GRAY8 front-ends, regions, odd sizes,
 * and argument checking of mc_preprocess.
 *
 * YUV references are built the slow way: the frame is converted to RGB in
 * double precision (same matrix and range, chroma replicated from the sample
 * at (x/2, y/2) for 4:2:0 or (x/2, y) for 4:2:2, rounded to nearest), and
 * that RGB image goes through mc_preprocess.  The fused path must stay within
 * 2/255 of it (the brief's bound; the 16-bit conversion is within one unit per
 * pixel and each resampling pass can turn that into at most one more).
 * Formats that carry the same samples (I420/YV12/NV12/NV21, YUY2/UYVY/Y42B)
 * must agree bit for bit.  Y444 has a chroma sample per pixel; I420_10LE
 * gets 10-bit samples (with junk in the 6 unused high bits, which must be
 * ignored) and a 10-bit reference.
 *
 * The test runs on the kernel variant the machine picks, or the one
 * MC_PREPROCESS_VARIANT names (SKIP when the CPU cannot run it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "preprocess_test_variant.h"
#include "test_util.h"

static uint32_t rng = 4242;

static uint8_t
rand_u8 (void)
{
  rng = rng * 1664525u + 1013904223u;
  return (uint8_t) (rng >> 24);
}

/* Y'CbCr samples of a frame: luma w×h, chroma at 4:2:0, 4:2:2 and 4:4:4,
 * and a 10-bit 4:2:0 version (its own samples). */
typedef struct {
  int w, h, cw, ch;
  uint8_t *y, *u420, *v420, *u422, *v422, *u444, *v444;
  uint16_t *y10, *u10, *v10;   /* 10 bits, high bits junk */
} yuv_frame;

/* The chroma sampling a format uses (and the reference must use). */
typedef enum { SUB_420, SUB_422, SUB_444, SUB_420_10, N_SUB } subsampling;

static uint16_t
rand_u16 (void)
{
  return (uint16_t) (rand_u8 () << 8 | rand_u8 ());
}

/* Smooth ramps with noise; chroma spans the whole 0..255 range so that
 * out-of-gamut colours exercise the clamping. */
static void
yuv_frame_make (yuv_frame *f, int w, int h)
{
  f->w = w; f->h = h; f->cw = (w + 1) / 2; f->ch = (h + 1) / 2;
  f->y = malloc ((size_t) w * h);
  f->u420 = malloc ((size_t) f->cw * f->ch);
  f->v420 = malloc ((size_t) f->cw * f->ch);
  f->u422 = malloc ((size_t) f->cw * h);
  f->v422 = malloc ((size_t) f->cw * h);
  f->u444 = malloc ((size_t) w * h);
  f->v444 = malloc ((size_t) w * h);
  f->y10 = malloc (sizeof (uint16_t) * w * h);
  f->u10 = malloc (sizeof (uint16_t) * f->cw * f->ch);
  f->v10 = malloc (sizeof (uint16_t) * f->cw * f->ch);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      f->y[(size_t) y * w + x] = (x / 3 + y / 4) % 5 == 0 ? rand_u8 ()
          : (uint8_t) ((x * 251 / (w > 1 ? w : 1) + y) & 255);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < f->cw; x++) {
      uint8_t u = (x + y) % 7 == 0 ? rand_u8 () : (uint8_t) (x * 255 / f->cw);
      uint8_t v = (x * y) % 11 == 0 ? rand_u8 () : (uint8_t) (255 - y * 255 / h);
      f->u422[(size_t) y * f->cw + x] = u;
      f->v422[(size_t) y * f->cw + x] = v;
      if (y < f->ch) {
        f->u420[(size_t) y * f->cw + x] = v ^ 0x5a;
        f->v420[(size_t) y * f->cw + x] = u ^ 0x33;
        /* 10 bits: the 8-bit pattern, random low bits, junk above bit 9 */
        f->u10[(size_t) y * f->cw + x] = (uint16_t) ((u << 2 | (rand_u8 () & 3)) | (rand_u16 () & 0xfc00));
        f->v10[(size_t) y * f->cw + x] = (uint16_t) ((v << 2 | (rand_u8 () & 3)) | (rand_u16 () & 0xfc00));
      }
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t) y * w + x;
      f->u444[i] = (x + 2 * y) % 9 == 0 ? rand_u8 () : (uint8_t) (x * 255 / w);
      f->v444[i] = (x ^ y) % 13 == 0 ? rand_u8 () : (uint8_t) (y * 255 / h);
      f->y10[i] = (uint16_t) ((f->y[i] << 2 | (rand_u8 () & 3)) | (rand_u16 () & 0xfc00));
    }
}

static void
yuv_frame_free (yuv_frame *f)
{
  free (f->y); free (f->u420); free (f->v420); free (f->u422); free (f->v422);
  free (f->u444); free (f->v444); free (f->y10); free (f->u10); free (f->v10);
}

static subsampling
subsampling_of (mc_pixel_format fmt)
{
  switch (fmt) {
    case MC_PIXEL_YUY2: case MC_PIXEL_UYVY: case MC_PIXEL_Y42B: return SUB_422;
    case MC_PIXEL_Y444: return SUB_444;
    case MC_PIXEL_I420_10LE: return SUB_420_10;
    default: return SUB_420;
  }
}

/* A plane of rows × bytes with `pad` bytes of noise after each row. */
static uint8_t *
plane_copy (const uint8_t *src, int rows, int bytes, int pad, int *stride)
{
  *stride = bytes + pad;
  uint8_t *p = malloc ((size_t) *stride * rows);
  for (int y = 0; y < rows; y++) {
    memcpy (p + (size_t) y * *stride, src + (size_t) y * bytes, bytes);
    for (int i = 0; i < pad; i++)
      p[(size_t) y * *stride + bytes + i] = rand_u8 ();
  }
  return p;
}

/* uint16 samples as little-endian bytes. */
static uint8_t *
le16_bytes (const uint16_t *s, size_t n)
{
  uint8_t *b = malloc (2 * n);
  for (size_t i = 0; i < n; i++) {
    b[2 * i] = (uint8_t) s[i];
    b[2 * i + 1] = (uint8_t) (s[i] >> 8);
  }
  return b;
}

/* Packs the frame's samples in a format; rows get a few padding bytes of
 * noise.  Returns the buffers to free in bufs[]. */
static mc_image
pack (const yuv_frame *f, mc_pixel_format fmt, mc_yuv_matrix m, int full,
    uint8_t *bufs[3])
{
  mc_image im = { .format = fmt, .width = f->w, .height = f->h, .matrix = m,
    .full_range = full };
  const int pad = 5;
  bufs[0] = bufs[1] = bufs[2] = NULL;
  if (fmt == MC_PIXEL_Y444 || fmt == MC_PIXEL_Y42B) {
    const int cw = fmt == MC_PIXEL_Y444 ? f->w : f->cw;
    bufs[0] = plane_copy (f->y, f->h, f->w, pad, &im.strides[0]);
    bufs[1] = plane_copy (fmt == MC_PIXEL_Y444 ? f->u444 : f->u422, f->h, cw, pad, &im.strides[1]);
    bufs[2] = plane_copy (fmt == MC_PIXEL_Y444 ? f->v444 : f->v422, f->h, cw, pad, &im.strides[2]);
    for (int i = 0; i < 3; i++)
      im.planes[i] = bufs[i];
    return im;
  }
  if (fmt == MC_PIXEL_I420_10LE) {
    /* odd pads: rows start at odd addresses (unaligned uint16) */
    uint8_t *y = le16_bytes (f->y10, (size_t) f->w * f->h);
    uint8_t *u = le16_bytes (f->u10, (size_t) f->cw * f->ch);
    uint8_t *v = le16_bytes (f->v10, (size_t) f->cw * f->ch);
    bufs[0] = plane_copy (y, f->h, 2 * f->w, pad, &im.strides[0]);
    bufs[1] = plane_copy (u, f->ch, 2 * f->cw, pad + 2, &im.strides[1]);
    bufs[2] = plane_copy (v, f->ch, 2 * f->cw, pad, &im.strides[2]);
    free (y); free (u); free (v);
    for (int i = 0; i < 3; i++)
      im.planes[i] = bufs[i];
    return im;
  }
  if (fmt == MC_PIXEL_YUY2 || fmt == MC_PIXEL_UYVY) {
    int stride = 4 * f->cw + pad;
    uint8_t *p = malloc ((size_t) stride * f->h);
    for (size_t i = 0; i < (size_t) stride * f->h; i++)
      p[i] = rand_u8 ();
    for (int y = 0; y < f->h; y++)
      for (int c = 0; c < f->cw; c++) {
        uint8_t *q = p + (size_t) y * stride + 4 * c;
        uint8_t y0 = f->y[(size_t) y * f->w + 2 * c];
        /* the pad luma of an odd-width row is noise: it must not matter */
        uint8_t y1 = 2 * c + 1 < f->w ? f->y[(size_t) y * f->w + 2 * c + 1] : rand_u8 ();
        uint8_t u = f->u422[(size_t) y * f->cw + c], v = f->v422[(size_t) y * f->cw + c];
        if (fmt == MC_PIXEL_YUY2) { q[0] = y0; q[1] = u; q[2] = y1; q[3] = v; }
        else { q[0] = u; q[1] = y0; q[2] = v; q[3] = y1; }
      }
    bufs[0] = p;
    im.planes[0] = p;
    im.strides[0] = stride;
    return im;
  }
  int ystride = f->w + pad;
  uint8_t *yp = malloc ((size_t) ystride * f->h);
  for (int y = 0; y < f->h; y++) {
    memcpy (yp + (size_t) y * ystride, f->y + (size_t) y * f->w, f->w);
    for (int i = 0; i < pad; i++)
      yp[(size_t) y * ystride + f->w + i] = rand_u8 ();
  }
  bufs[0] = yp;
  im.planes[0] = yp;
  im.strides[0] = ystride;
  if (fmt == MC_PIXEL_I420 || fmt == MC_PIXEL_YV12) {
    int cs = f->cw + pad;
    uint8_t *up = calloc ((size_t) cs * f->ch, 1), *vp = calloc ((size_t) cs * f->ch, 1);
    for (int y = 0; y < f->ch; y++) {
      memcpy (up + (size_t) y * cs, f->u420 + (size_t) y * f->cw, f->cw);
      memcpy (vp + (size_t) y * cs, f->v420 + (size_t) y * f->cw, f->cw);
    }
    bufs[1] = up; bufs[2] = vp;
    /* memory order: I420 Y,U,V; YV12 Y,V,U */
    im.planes[1] = fmt == MC_PIXEL_I420 ? up : vp;
    im.planes[2] = fmt == MC_PIXEL_I420 ? vp : up;
    im.strides[1] = im.strides[2] = cs;
  } else {
    int cs = 2 * f->cw + pad;
    uint8_t *cp = calloc ((size_t) cs * f->ch, 1);
    for (int y = 0; y < f->ch; y++)
      for (int x = 0; x < f->cw; x++) {
        uint8_t u = f->u420[(size_t) y * f->cw + x], v = f->v420[(size_t) y * f->cw + x];
        cp[(size_t) y * cs + 2 * x] = fmt == MC_PIXEL_NV12 ? u : v;
        cp[(size_t) y * cs + 2 * x + 1] = fmt == MC_PIXEL_NV12 ? v : u;
      }
    bufs[1] = cp;
    im.planes[1] = cp;
    im.strides[1] = cs;
  }
  return im;
}

/* The double-precision conversion of the whole frame to packed RGB. */
static uint8_t *
reference_rgb (const yuv_frame *f, subsampling sub, mc_yuv_matrix m, int full)
{
  double kr = m == MC_YUV_BT709 ? 0.2126 : m == MC_YUV_BT2020 ? 0.2627 : 0.299;
  double kb = m == MC_YUV_BT709 ? 0.0722 : m == MC_YUV_BT2020 ? 0.0593 : 0.114;
  double kg = 1 - kr - kb;
  uint8_t *rgb = malloc ((size_t) f->w * f->h * 3);
  for (int y = 0; y < f->h; y++)
    for (int x = 0; x < f->w; x++) {
      const size_t li = (size_t) y * f->w + x;
      const size_t c420 = (size_t) (y / 2) * f->cw + x / 2, c422 = (size_t) y * f->cw + x / 2;
      double Y, U, V, yn, cb, cr;
      switch (sub) {
        case SUB_422: Y = f->y[li]; U = f->u422[c422]; V = f->v422[c422]; break;
        case SUB_444: Y = f->y[li]; U = f->u444[li]; V = f->v444[li]; break;
        case SUB_420_10:
          Y = f->y10[li] & 1023; U = f->u10[c420] & 1023; V = f->v10[c420] & 1023; break;
        default: Y = f->y[li]; U = f->u420[c420]; V = f->v420[c420]; break;
      }
      /* normalized: Y in 0..1, Cb/Cr in -0.5..0.5 */
      if (sub == SUB_420_10) {
        yn = full ? Y / 1023.0 : (Y - 64) / 876.0;
        cb = full ? (U - 512) / 1023.0 : (U - 512) / 896.0;
        cr = full ? (V - 512) / 1023.0 : (V - 512) / 896.0;
      } else {
        yn = full ? Y / 255.0 : (Y - 16) / 219.0;
        cb = full ? (U - 128) / 255.0 : (U - 128) / 224.0;
        cr = full ? (V - 128) / 255.0 : (V - 128) / 224.0;
      }
      double rgbn[3] = {
        yn + 2 * (1 - kr) * cr,
        yn - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr,
        yn + 2 * (1 - kb) * cb,
      };
      for (int c = 0; c < 3; c++) {
        double v = rgbn[c] * 255.0 + 0.5;
        rgb[((size_t) y * f->w + x) * 3 + c] = v < 0 ? 0 : v >= 255 ? 255 : (uint8_t) v;
      }
    }
  return rgb;
}

static mc_status
run (mc_preprocessor *pp, const mc_image *im, const mc_rect *roi, int size,
    float *out)
{
  mc_error err = { 0 };
  mc_status st = mc_preprocess (pp, im, roi, size, out, &err);
  CHECK (st == MC_OK, "mc_preprocess: %s", err.message);
  return st;
}

static int
count_different (const float *a, const float *b, size_t n)
{
  int d = 0;
  for (size_t i = 0; i < n; i++)
    d += a[i] != b[i];
  return d;
}

static const struct {
  mc_pixel_format fmt;
  const char *name;
} yuv_formats[] = {
  { MC_PIXEL_I420, "I420" }, { MC_PIXEL_YV12, "YV12" }, { MC_PIXEL_NV12, "NV12" },
  { MC_PIXEL_NV21, "NV21" }, { MC_PIXEL_YUY2, "YUY2" }, { MC_PIXEL_UYVY, "UYVY" },
  { MC_PIXEL_Y42B, "Y42B" }, { MC_PIXEL_Y444, "Y444" }, { MC_PIXEL_I420_10LE, "I420_10LE" },
};
#define N_YUV (sizeof yuv_formats / sizeof yuv_formats[0])

static double worst_fused = 0;   /* over all YUV comparisons, in 1/255 */

/* Every YUV format of one frame at one output size vs the RGB reference. */
static void
check_yuv_frame (mc_preprocessor *pp, int w, int h, int size, mc_yuv_matrix m,
    int full)
{
  yuv_frame f;
  yuv_frame_make (&f, w, h);
  const size_t n = (size_t) size * size * 3;
  float *ref = malloc (n * sizeof (float)), *got = malloc (n * sizeof (float));
  float *first = malloc (n * sizeof (float));
  static const char *matrices[] = { "BT.601", "BT.709", "BT.2020" };

  for (int sub = 0; sub < N_SUB; sub++) {
    uint8_t *rgb = reference_rgb (&f, sub, m, full);
    mc_image rim = { .format = MC_PIXEL_RGB, .width = w, .height = h,
      .planes = { rgb }, .strides = { 3 * w } };
    run (pp, &rim, NULL, size, ref);
    const char *first_name = NULL;
    for (size_t i = 0; i < N_YUV; i++) {
      if (subsampling_of (yuv_formats[i].fmt) != (subsampling) sub)
        continue;
      uint8_t *bufs[3];
      mc_image im = pack (&f, yuv_formats[i].fmt, m, full, bufs);
      if (run (pp, &im, NULL, size, got) == MC_OK) {
        char what[96];
        snprintf (what, sizeof what, "%s %s %s %d×%d S=%d (%d values differ)",
            yuv_formats[i].name, matrices[m], full ? "full" : "video", w, h, size,
            count_different (got, ref, n));
        double d = mc_check_close (what, got, ref, n, 2.0 / 255 + 1e-7, 0);
        if (d * 255 > worst_fused)
          worst_fused = d * 255;
        /* same samples, other packing: the same bytes */
        if (!first_name) {
          memcpy (first, got, n * sizeof (float));
          first_name = yuv_formats[i].name;
        } else {
          CHECK (count_different (got, first, n) == 0, "%s differs from %s on the same samples",
              yuv_formats[i].name, first_name);
        }
      }
      free (bufs[0]); free (bufs[1]); free (bufs[2]);
    }
    free (rgb);
  }
  yuv_frame_free (&f);
  free (ref); free (got); free (first);
}

/* With a square frame and size = side nothing is resampled: the output is
 * the conversion itself, compared per pixel with the double reference. */
static void
check_conversion_alone (mc_preprocessor *pp)
{
  const int side = 96;
  yuv_frame f;
  yuv_frame_make (&f, side, side);
  const size_t n = (size_t) side * side * 3;
  float *got = malloc (n * sizeof (float)), *ref = malloc (n * sizeof (float));
  double worst = 0;
  for (int m = MC_YUV_BT601; m <= MC_YUV_BT2020; m++)
    for (int full = 0; full < 2; full++)
      for (size_t i = 0; i < N_YUV; i++) {
        uint8_t *rgb = reference_rgb (&f, subsampling_of (yuv_formats[i].fmt), m, full);
        for (size_t k = 0; k < n; k++)
          ref[k] = rgb[k] / 255.0f;
        uint8_t *bufs[3];
        mc_image im = pack (&f, yuv_formats[i].fmt, m, full, bufs);
        if (run (pp, &im, NULL, side, got) == MC_OK) {
          double d = 0;
          int differ = count_different (got, ref, n);
          for (size_t k = 0; k < n; k++)
            if (fabs ((double) got[k] - ref[k]) > d)
              d = fabs ((double) got[k] - ref[k]);
          if (d > worst)
            worst = d;
          CHECK (d <= 1.0 / 255 + 1e-7, "%s matrix %d full %d: conversion off by %g/255",
              yuv_formats[i].name, m, full, d * 255);
          if (i == 0 || yuv_formats[i].fmt == MC_PIXEL_Y444
              || yuv_formats[i].fmt == MC_PIXEL_I420_10LE)
            printf ("  conversion alone, %s matrix %d %s: max %g/255, %d of %zu values differ\n",
                yuv_formats[i].name, m, full ? "full" : "video", d * 255, differ, n);
        }
        free (bufs[0]); free (bufs[1]); free (bufs[2]);
        free (rgb);
      }
  printf ("  conversion alone, all formats/matrices/ranges: max %g/255\n", worst * 255);
  yuv_frame_free (&f);
  free (got); free (ref);
}

/* A region of a YUV frame equals the same region cut from the frame as our
 * own conversion sees it (a square frame preprocessed at its own size). */
static void
check_yuv_region (mc_preprocessor *pp)
{
  const int side = 90, size = 40;
  yuv_frame f;
  yuv_frame_make (&f, side, side);
  float *conv = malloc (sizeof (float) * side * side * 3);
  uint8_t *rgb = malloc ((size_t) side * side * 3);
  float *a = malloc (sizeof (float) * size * size * 3), *b = malloc (sizeof (float) * size * size * 3);
  static const mc_rect rois[] = {
    { 1, 1, 33, 47 }, { 0, 0, 90, 90 }, { 3, 10, 1, 1 }, { 89, 0, 1, 90 },
    { 13, 7, 77, 83 }, { 44, 45, 5, 3 },
  };
  for (size_t fi = 0; fi < N_YUV; fi++) {
    uint8_t *bufs[3];
    mc_image im = pack (&f, yuv_formats[fi].fmt, MC_YUV_BT709, 0, bufs);
    if (run (pp, &im, NULL, side, conv) != MC_OK)
      continue;
    for (int i = 0; i < side * side * 3; i++)
      rgb[i] = (uint8_t) (conv[i] * 255.0f + 0.5f);
    int bad = 0;
    for (size_t r = 0; r < sizeof rois / sizeof rois[0]; r++) {
      const mc_rect *roi = &rois[r];
      uint8_t *crop = malloc ((size_t) roi->width * roi->height * 3);
      for (int y = 0; y < roi->height; y++)
        memcpy (crop + (size_t) y * roi->width * 3,
            rgb + ((size_t) (roi->y + y) * side + roi->x) * 3, (size_t) roi->width * 3);
      mc_image cim = { .format = MC_PIXEL_RGB, .width = roi->width, .height = roi->height,
        .planes = { crop }, .strides = { 3 * roi->width } };
      if (run (pp, &im, roi, size, a) == MC_OK && run (pp, &cim, NULL, size, b) == MC_OK) {
        int differ = count_different (a, b, (size_t) size * size * 3);
        CHECK (differ == 0, "%s region (%d,%d) %d×%d: %d values differ from the cut frame",
            yuv_formats[fi].name, roi->x, roi->y, roi->width, roi->height, differ);
        bad += differ != 0;
      }
      free (crop);
    }
    printf ("  %s regions at odd/even offsets equal the cut converted frame: %s\n",
        yuv_formats[fi].name, bad ? "NO" : "yes");
    free (bufs[0]); free (bufs[1]); free (bufs[2]);
  }
  yuv_frame_free (&f);
  free (conv); free (rgb); free (a); free (b);
}

static void
check_gray (mc_preprocessor *pp)
{
  static const int sizes[][3] = { { 640, 480, 256 }, { 1, 1, 5 }, { 37, 91, 32 } };
  for (size_t s = 0; s < 3; s++) {
    int w = sizes[s][0], h = sizes[s][1], size = sizes[s][2];
    uint8_t *g = malloc ((size_t) w * h), *rgb = malloc ((size_t) w * h * 3);
    for (int i = 0; i < w * h; i++)
      g[i] = rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = rand_u8 ();
    size_t n = (size_t) size * size * 3;
    float *a = malloc (n * sizeof (float)), *b = malloc (n * sizeof (float));
    mc_image gim = { .format = MC_PIXEL_GRAY8, .width = w, .height = h,
      .planes = { g }, .strides = { w } };
    mc_image rim = { .format = MC_PIXEL_RGB, .width = w, .height = h,
      .planes = { rgb }, .strides = { 3 * w } };
    if (run (pp, &gim, NULL, size, a) == MC_OK && run (pp, &rim, NULL, size, b) == MC_OK) {
      int differ = count_different (a, b, n);
      printf ("  GRAY8 %d×%d S=%d vs RGB with R=G=B: %d values differ\n", w, h, size, differ);
      CHECK (differ == 0, "GRAY8 differs from grey RGB");
    }
    free (g); free (rgb); free (a); free (b);
  }
}

static void
expect_invalid (mc_preprocessor *pp, const mc_image *im, const mc_rect *roi,
    int size, float *out, const char *what)
{
  mc_error err = { 0 };
  mc_status st = mc_preprocess (pp, im, roi, size, out, &err);
  printf ("  rejects %-34s -> %s: %s\n", what, mc_status_name (st), err.message);
  CHECK (st == MC_ERR_INVALID_ARGUMENT && err.message[0], "%s accepted", what);
}

static void
check_arguments (mc_preprocessor *pp)
{
  uint8_t pix[4 * 4 * 3] = { 0 };
  float out[8 * 8 * 3];
  const mc_image ok = { .format = MC_PIXEL_RGB, .width = 4, .height = 4,
    .planes = { pix }, .strides = { 12 } };
  mc_image im;

  expect_invalid (NULL, &ok, NULL, 8, out, "NULL preprocessor");
  expect_invalid (pp, NULL, NULL, 8, out, "NULL image");
  expect_invalid (pp, &ok, NULL, 8, NULL, "NULL output");
  expect_invalid (pp, &ok, NULL, 0, out, "size 0");
  expect_invalid (pp, &ok, NULL, -3, out, "negative size");
  im = ok; im.width = 0;
  expect_invalid (pp, &im, NULL, 8, out, "zero width");
  im = ok; im.height = -1;
  expect_invalid (pp, &im, NULL, 8, out, "negative height");
  im = ok; im.format = (mc_pixel_format) 99;
  expect_invalid (pp, &im, NULL, 8, out, "unknown format");
  im = ok; im.planes[0] = NULL;
  expect_invalid (pp, &im, NULL, 8, out, "NULL plane");
  im = ok; im.strides[0] = 11;
  expect_invalid (pp, &im, NULL, 8, out, "stride below the row");
  im = ok; im.format = MC_PIXEL_NV12; im.strides[0] = 4; im.planes[1] = NULL; im.strides[1] = 4;
  expect_invalid (pp, &im, NULL, 8, out, "NV12 without chroma plane");
  im = ok; im.format = MC_PIXEL_I420; im.strides[0] = 4; im.planes[1] = pix;
  im.planes[2] = pix; im.strides[1] = 2; im.strides[2] = 2; im.matrix = (mc_yuv_matrix) 7;
  expect_invalid (pp, &im, NULL, 8, out, "unknown YUV matrix");
  im = ok; im.format = MC_PIXEL_I420_10LE; im.strides[0] = 7; im.planes[1] = pix;
  im.planes[2] = pix; im.strides[1] = 4; im.strides[2] = 4;
  expect_invalid (pp, &im, NULL, 8, out, "I420_10LE luma stride below 2·w");
  im = ok; im.format = MC_PIXEL_Y444; im.strides[0] = 4; im.planes[1] = pix;
  im.planes[2] = NULL; im.strides[1] = 4; im.strides[2] = 4;
  expect_invalid (pp, &im, NULL, 8, out, "Y444 without V plane");
  expect_invalid (pp, &ok, &(mc_rect) { 0, 0, 2, 0 }, 8, out, "region of height 0");
  expect_invalid (pp, &ok, &(mc_rect) { 0, 0, -2, 2 }, 8, out, "region of negative width");
  expect_invalid (pp, &ok, &(mc_rect) { 4, 0, 2, 2 }, 8, out, "region right of the frame");
  expect_invalid (pp, &ok, &(mc_rect) { -5, 1, 5, 2 }, 8, out, "region left of the frame");
  expect_invalid (pp, &ok, &(mc_rect) { 1, 9, 2, 2 }, 8, out, "region below the frame");

  /* A region sticking out is clamped: the same as the clamped region. */
  float a[8 * 8 * 3], b[8 * 8 * 3];
  for (int i = 0; i < 48; i++)
    pix[i] = (uint8_t) (i * 5);
  if (run (pp, &ok, &(mc_rect) { -2, 1, 5, 10 }, 8, a) == MC_OK
      && run (pp, &ok, &(mc_rect) { 0, 1, 3, 3 }, 8, b) == MC_OK) {
    int differ = count_different (a, b, 8 * 8 * 3);
    printf ("  region (-2,1) 5×10 clamped to (0,1) 3×3: %d values differ\n", differ);
    CHECK (differ == 0, "clamped region differs");
  }
  /* width 0 means the whole image */
  if (run (pp, &ok, &(mc_rect) { 1, 1, 0, 0 }, 8, a) == MC_OK
      && run (pp, &ok, NULL, 8, b) == MC_OK)
    CHECK (count_different (a, b, 8 * 8 * 3) == 0, "width-0 region is not the whole image");
}

int
main (void)
{
  if (!mc_test_preprocess_variant ())
    return MC_TEST_SKIP;
  mc_preprocessor *pp = mc_preprocessor_new ();

  check_conversion_alone (pp);
  /* Odd sides, thin frames, a portrait frame whose every column is used (the
   * odd last column of planar formats), 1080p, 4K. */
  static const int frames[][3] = {
    { 640, 480, 256 }, { 1, 1, 4 }, { 3, 5, 256 }, { 255, 301, 224 }, { 33, 17, 32 },
    { 1081, 1921, 256 }, { 1921, 1081, 256 }, { 1920, 1080, 256 }, { 3840, 2160, 256 },
  };
  for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
    check_yuv_frame (pp, frames[i][0], frames[i][1], frames[i][2], MC_YUV_BT709, 0);
  for (int m = MC_YUV_BT601; m <= MC_YUV_BT2020; m++)
    for (int full = 0; full < 2; full++)
      check_yuv_frame (pp, 321, 243, 64, (mc_yuv_matrix) m, full);
  printf ("  fused YUV vs convert-then-preprocess: max %g/255 (bound 2/255)\n", worst_fused);

  check_yuv_region (pp);
  check_gray (pp);
  check_arguments (pp);
  mc_preprocessor_free (pp);
  return mc_test_finish ("preprocess-formats");
}
