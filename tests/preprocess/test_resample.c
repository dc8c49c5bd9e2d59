/* test_resample.c — the resize/crop geometry and the crop-only computation.
 *
 * mc_preprocess computes only the columns and rows the centre crop keeps.  A
 * naive reference here resizes the WHOLE image (every output column of every
 * row Pillow's vertical pass reads, into a full uint8 intermediate, then every
 * output row) and crops afterwards; the two must agree bit for bit on sizes
 * that exercise edges: 1×1, thin strips, odd sides, no-op passes, upscaling,
 * 1921×1081 and 4K.  The weights themselves are checked against Pillow by
 * test_preprocess_golden.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "preprocess/resample.h"
#include "preprocess_test_variant.h"
#include "test_util.h"

static uint32_t rng_state = 12345;

static uint8_t
rand_u8 (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (uint8_t) (rng_state >> 24);
}

/* Mixed content: smooth ramps (rounding ties matter there) and noise. */
static uint8_t *
make_image (int w, int h)
{
  uint8_t *img = malloc ((size_t) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        uint8_t v;
        if ((x / 7 + y / 5) % 3 == 0)
          v = rand_u8 ();
        else
          v = (uint8_t) ((x * (c + 1) * 255 / (w > 1 ? w - 1 : 1) + y * 3) & 255);
        img[((size_t) y * w + x) * 3 + c] = v;
      }
  return img;
}

static uint8_t
clip_acc (int32_t acc)
{
  int32_t v = acc >> MC_RESAMPLE_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t) v;
}

/* Whole-image two-pass resize (horizontal into a full uint8 image, then
 * vertical), then the crop, then /255: what torchvision does. */
static float *
reference (const uint8_t *img, int w, int h, int size)
{
  mc_crop_geometry g;
  mc_crop_geometry_compute (w, h, size, &g);
  int W = g.resized_w, H = g.resized_h;
  uint8_t *tmp = malloc ((size_t) W * h * 3);
  uint8_t *full = malloc ((size_t) W * H * 3);
  mc_filter_table hf = { 0 }, vf = { 0 };

  if (W != w) {
    if (mc_filter_table_build (&hf, w, W, 0, W, NULL) != MC_OK)
      abort ();
    for (int y = 0; y < h; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < 3; c++) {
          int32_t acc = MC_RESAMPLE_HALF;
          for (int t = 0; t < hf.count[x]; t++)
            acc += img[((size_t) y * w + hf.first[x] + t) * 3 + c] * hf.coef[(size_t) x * hf.taps + t];
          tmp[((size_t) y * W + x) * 3 + c] = clip_acc (acc);
        }
  } else {
    memcpy (tmp, img, (size_t) w * h * 3);
  }
  if (H != h) {
    if (mc_filter_table_build (&vf, h, H, 0, H, NULL) != MC_OK)
      abort ();
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < 3; c++) {
          int32_t acc = MC_RESAMPLE_HALF;
          for (int t = 0; t < vf.count[y]; t++)
            acc += tmp[((size_t) (vf.first[y] + t) * W + x) * 3 + c] * vf.coef[(size_t) y * vf.taps + t];
          full[((size_t) y * W + x) * 3 + c] = clip_acc (acc);
        }
  } else {
    memcpy (full, tmp, (size_t) W * H * 3);
  }
  float *out = malloc (sizeof (float) * size * size * 3);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      for (int c = 0; c < 3; c++)
        out[((size_t) y * size + x) * 3 + c] =
            full[((size_t) (y + g.top) * W + x + g.left) * 3 + c] / 255.0f;
  mc_filter_table_clear (&hf);
  mc_filter_table_clear (&vf);
  free (tmp);
  free (full);
  return out;
}

static void
check_geometry (int w, int h, int size, int rw, int rh, int left, int top)
{
  mc_crop_geometry g;
  mc_crop_geometry_compute (w, h, size, &g);
  int ok = g.resized_w == rw && g.resized_h == rh && g.left == left && g.top == top;
  printf ("  geometry %4d×%-4d S=%-3d -> %d×%d crop (%d,%d) %s\n", w, h, size,
      g.resized_w, g.resized_h, g.left, g.top, ok ? "ok" : "FAIL");
  CHECK (ok, "expected %d×%d crop (%d,%d)", rw, rh, left, top);
}

static void
check_size (mc_preprocessor *pp, int w, int h, int size)
{
  uint8_t *img = make_image (w, h);
  float *ref = reference (img, w, h, size);
  float *got = malloc (sizeof (float) * size * size * 3);
  mc_image im = { .format = MC_PIXEL_RGB, .width = w, .height = h,
    .planes = { img }, .strides = { w * 3 } };
  mc_error err = { 0 };
  mc_status st = mc_preprocess (pp, &im, NULL, size, got, &err);
  CHECK (st == MC_OK, "%d×%d S=%d: %s", w, h, size, err.message);
  size_t n = (size_t) size * size * 3, differ = 0;
  for (size_t i = 0; i < n; i++)
    differ += got[i] != ref[i];
  char what[64];
  snprintf (what, sizeof what, "%d×%d S=%d (%zu values differ)", w, h, size, differ);
  mc_check_close (what, got, ref, n, 0, 0);
  free (img);
  free (ref);
  free (got);
}

int
main (void)
{
  if (!mc_test_preprocess_variant ())
    return MC_TEST_SKIP;
  /* The golden table (README "preprocess/io.safetensors"). */
  check_geometry (640, 480, 256, 341, 256, 42, 0);
  check_geometry (480, 640, 256, 256, 341, 0, 42);
  check_geometry (300, 200, 256, 384, 256, 64, 0);
  check_geometry (256, 256, 256, 256, 256, 0, 0);
  check_geometry (100, 80, 256, 320, 256, 32, 0);
  check_geometry (203, 200, 256, 259, 256, 2, 0);
  check_geometry (640, 480, 224, 298, 224, 37, 0);
  check_geometry (203, 200, 224, 227, 224, 2, 0);
  /* Round half to even: 1.5 -> 2, 99.5 -> 100, 42.5 -> 42. */
  check_geometry (259, 256, 256, 259, 256, 2, 0);
  check_geometry (455, 256, 256, 455, 256, 100, 0);
  check_geometry (256, 341, 256, 256, 341, 0, 42);
  /* Truncation of the long side: 1920·256/1080 = 455.1. */
  check_geometry (1920, 1080, 256, 455, 256, 100, 0);

  mc_preprocessor *pp = mc_preprocessor_new ();
  static const int cases[][3] = {
    { 1, 1, 256 }, { 1, 1, 1 }, { 3, 5, 256 }, { 5, 3, 7 }, { 2, 1000, 16 },
    { 1000, 2, 16 }, { 33, 17, 32 }, { 256, 256, 256 }, { 300, 256, 256 },
    { 256, 300, 256 }, { 100, 80, 256 }, { 203, 200, 224 }, { 640, 480, 224 },
    { 1921, 1081, 256 }, { 1920, 1080, 256 }, { 3840, 2160, 256 }, { 7, 7, 3 },
    { 1000, 999, 998 },
    /* horizontal scales 5.0 and 15.6: the AVX2 pass puts 2 and 1 outputs
     * in a vector lane there (4 at the scales above) */
    { 1300, 100, 20 }, { 4000, 250, 16 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_size (pp, cases[i][0], cases[i][1], cases[i][2]);
  /* The cached tables are rebuilt when the geometry comes back. */
  check_size (pp, 33, 17, 32);
  mc_preprocessor_free (pp);
  return mc_test_finish ("preprocess-resample");
}
