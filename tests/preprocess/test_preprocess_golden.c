/* test_preprocess_golden.c — mc_preprocess against torchvision + Pillow.
 *
 * Every rgb_K of golden/preprocess/io.safetensors goes through mc_preprocess at
 * 256 (vs pre_K) and 224 (vs pre224_K); the golden tensors are planar CHW,
 * mc_preprocess writes NHWC.  The brief allows 1/255; the implementation
 * reproduces Pillow's integer arithmetic, so every value is expected equal and
 * the test fails on any difference (the measured error is 0).
 *
 * The same images in every RGB-family layout (BGR, RGBx, xBGR, RGBA with
 * random alpha, row padding, ...) must give bit-identical output, and
 * cropping to a region must equal preprocessing a copy of that region.
 * Runs on the kernel variant MC_PREPROCESS_VARIANT names (or the default).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tensor_file.h"
#include "mobileclip.h"
#include "preprocess_test_variant.h"
#include "test_util.h"

static const struct {
  mc_pixel_format format;
  const char *name;
  int bpp, r, g, b;   /* byte offsets; -1 = byte not a colour (alpha/pad) */
} layouts[] = {
  { MC_PIXEL_RGB, "RGB", 3, 0, 1, 2 },
  { MC_PIXEL_BGR, "BGR", 3, 2, 1, 0 },
  { MC_PIXEL_RGBX, "RGBx", 4, 0, 1, 2 },
  { MC_PIXEL_BGRX, "BGRx", 4, 2, 1, 0 },
  { MC_PIXEL_XRGB, "xRGB", 4, 1, 2, 3 },
  { MC_PIXEL_XBGR, "xBGR", 4, 3, 2, 1 },
  { MC_PIXEL_RGBA, "RGBA", 4, 0, 1, 2 },
  { MC_PIXEL_BGRA, "BGRA", 4, 2, 1, 0 },
  { MC_PIXEL_ARGB, "ARGB", 4, 1, 2, 3 },
  { MC_PIXEL_ABGR, "ABGR", 4, 3, 2, 1 },
};

static uint32_t rng = 777;

static uint8_t
rand_u8 (void)
{
  rng = rng * 1664525u + 1013904223u;
  return (uint8_t) (rng >> 24);
}

/* Repacks an RGB image into a layout; pad/alpha bytes and the row padding
 * get random values so that any read of them shows. */
static uint8_t *
repack (const uint8_t *rgb, int w, int h, int li, int *stride)
{
  int bpp = layouts[li].bpp;
  *stride = w * bpp + 13;
  uint8_t *out = malloc ((size_t) *stride * h);
  for (size_t i = 0; i < (size_t) *stride * h; i++)
    out[i] = rand_u8 ();
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = out + (size_t) y * *stride + (size_t) x * bpp;
      const uint8_t *s = rgb + ((size_t) y * w + x) * 3;
      p[layouts[li].r] = s[0];
      p[layouts[li].g] = s[1];
      p[layouts[li].b] = s[2];
    }
  return out;
}

static int
run (mc_preprocessor *pp, const mc_image *im, const mc_rect *roi, int size, float *out)
{
  mc_error err = { 0 };
  mc_status st = mc_preprocess (pp, im, roi, size, out, &err);
  CHECK (st == MC_OK, "mc_preprocess: %s", err.message);
  return st == MC_OK;
}

static int
count_different (const float *a, const float *b, size_t n)
{
  int d = 0;
  for (size_t i = 0; i < n; i++)
    d += a[i] != b[i];
  return d;
}

int
main (void)
{
  if (!mc_test_preprocess_variant ())
    return MC_TEST_SKIP;
  const char *golden = mc_test_golden_dir ();
  if (!golden)
    return MC_TEST_SKIP;
  char path[4096];
  snprintf (path, sizeof path, "%s/preprocess/io.safetensors", golden);
  mc_tensor_file *tf = NULL;
  mc_error err = { 0 };
  if (mc_tensor_file_open (path, &tf, &err) != MC_OK) {
    fprintf (stderr, "FAIL: %s\n", err.message);
    return 1;
  }

  mc_preprocessor *pp = mc_preprocessor_new ();
  int cases = 0, exact = 0;
  for (int k = 0; k < 6; k++) {
    char name[32];
    snprintf (name, sizeof name, "rgb_%d", k);
    const mc_tensor_info *t = mc_tensor_file_find (tf, name);
    CHECK (t && t->dtype == MC_DTYPE_U8 && t->ndim == 3 && t->shape[2] == 3,
        "%s missing or not U8 [H,W,3]", name);
    if (!t || t->dtype != MC_DTYPE_U8 || t->ndim != 3)
      continue;
    const int h = (int) t->shape[0], w = (int) t->shape[1];
    const uint8_t *rgb = t->data;
    mc_image im = { .format = MC_PIXEL_RGB, .width = w, .height = h,
      .planes = { rgb }, .strides = { w * 3 } };

    static const int sizes[] = { 256, 224 };
    for (int si = 0; si < 2; si++) {
      const int S = sizes[si];
      const size_t n = (size_t) S * S * 3;
      snprintf (name, sizeof name, S == 256 ? "pre_%d" : "pre224_%d", k);
      const mc_tensor_info *ref_t = mc_tensor_file_find (tf, name);
      CHECK (ref_t && mc_tensor_numel (ref_t) == (int64_t) n, "%s missing or wrong size", name);
      if (!ref_t || mc_tensor_numel (ref_t) != (int64_t) n)
        continue;
      float *chw = malloc (n * sizeof (float)), *ref = malloc (n * sizeof (float));
      float *got = malloc (n * sizeof (float)), *alt = malloc (n * sizeof (float));
      mc_tensor_to_f32 (ref_t, chw);
      for (int c = 0; c < 3; c++)
        for (int i = 0; i < S * S; i++)
          ref[(size_t) i * 3 + c] = chw[(size_t) c * S * S + i];

      if (run (pp, &im, NULL, S, got)) {
        int differ = count_different (got, ref, n);
        char what[96];
        snprintf (what, sizeof what, "rgb_%d %d×%d -> %s (%d values differ)", k, w, h,
            name, differ);
        double d = mc_check_close (what, got, ref, n, 0, 0);
        cases++;
        exact += d == 0;
      }

      /* Every RGB-family layout gives the same bytes. */
      int layout_failures = 0;
      for (size_t li = 1; li < sizeof layouts / sizeof layouts[0]; li++) {
        int stride;
        uint8_t *buf = repack (rgb, w, h, (int) li, &stride);
        mc_image alt_im = { .format = layouts[li].format, .width = w, .height = h,
          .planes = { buf }, .strides = { stride } };
        if (run (pp, &alt_im, NULL, S, alt)) {
          int differ = count_different (alt, got, n);
          CHECK (differ == 0, "%s layout of rgb_%d at %d: %d values differ from RGB",
              layouts[li].name, k, S, differ);
          layout_failures += differ != 0;
        }
        free (buf);
      }
      printf ("    all %zu RGB-family layouts identical to RGB: %s\n",
          sizeof layouts / sizeof layouts[0] - 1, layout_failures ? "NO" : "yes");

      /* A region equals preprocessing a copy of that region. */
      mc_rect roi = { w / 5, h / 7, w / 2 + 1, h / 2 + 3 };
      uint8_t *crop = malloc ((size_t) roi.width * roi.height * 3);
      for (int y = 0; y < roi.height; y++)
        memcpy (crop + (size_t) y * roi.width * 3,
            rgb + ((size_t) (roi.y + y) * w + roi.x) * 3, (size_t) roi.width * 3);
      mc_image crop_im = { .format = MC_PIXEL_RGB, .width = roi.width,
        .height = roi.height, .planes = { crop }, .strides = { roi.width * 3 } };
      if (run (pp, &im, &roi, S, got) && run (pp, &crop_im, NULL, S, alt)) {
        int differ = count_different (got, alt, n);
        printf ("    region (%d,%d) %d×%d vs its copy: %d values differ\n", roi.x,
            roi.y, roi.width, roi.height, differ);
        CHECK (differ == 0, "region of rgb_%d at %d differs from its copy", k, S);
      }
      free (crop);
      free (chw);
      free (ref);
      free (got);
      free (alt);
    }
  }
  printf ("  bit-exact: %d of %d golden cases\n", exact, cases);
  CHECK (cases == 12, "expected 12 golden cases, ran %d", cases);
  mc_preprocessor_free (pp);
  mc_tensor_file_close (tf);
  return mc_test_finish ("preprocess-golden");
}
