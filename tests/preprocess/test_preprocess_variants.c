/* test_preprocess_variants.c — every kernel variant gives the portable
 * variant's bytes.
 *
 * The portable variant (ORC + C) is the reference: it matches Pillow on the
 * golden images (test_preprocess_golden) and the whole-image resize
 * (test_resample).  Every other variant this CPU can run (avx2, avx-vnni,
 * avx512) must produce identical floats, not merely close ones, for every
 * pixel format, YUV matrix and range, on random bytes (so out-of-gamut YUV
 * and clamping are exercised) and on geometries that reach each code path:
 * the three lane layouts of the AVX2 horizontal pass (scales below ~4.5, up
 * to ~12, beyond, and far beyond: scale 25), the AVX-512 pass (up to ~8.2)
 * and the AVX2 pass it leaves stronger downscales to (4K, scale 15.6),
 * partial groups of its 16 outputs, upscaling, unchanged width or height,
 * tiny frames, regions at odd offsets, odd strides and plane pointers at
 * odd addresses.
 *
 * Each plane's last row ends right before an inaccessible page (Linux), so a
 * kernel reading past the end of a row crashes the test instead of passing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "mobileclip.h"
#include "preprocess/variant.h"
#include "test_util.h"

static uint32_t rng = 99;

static uint8_t
rand_u8 (void)
{
  rng = rng * 1664525u + 1013904223u;
  return (uint8_t) (rng >> 24);
}

static const struct {
  mc_pixel_format fmt;
  const char *name;
} formats[] = {
  { MC_PIXEL_RGB, "RGB" }, { MC_PIXEL_BGR, "BGR" }, { MC_PIXEL_RGBX, "RGBx" },
  { MC_PIXEL_BGRX, "BGRx" }, { MC_PIXEL_XRGB, "xRGB" }, { MC_PIXEL_XBGR, "xBGR" },
  { MC_PIXEL_RGBA, "RGBA" }, { MC_PIXEL_BGRA, "BGRA" }, { MC_PIXEL_ARGB, "ARGB" },
  { MC_PIXEL_ABGR, "ABGR" }, { MC_PIXEL_GRAY8, "GRAY8" }, { MC_PIXEL_I420, "I420" },
  { MC_PIXEL_YV12, "YV12" }, { MC_PIXEL_NV12, "NV12" }, { MC_PIXEL_NV21, "NV21" },
  { MC_PIXEL_YUY2, "YUY2" }, { MC_PIXEL_UYVY, "UYVY" }, { MC_PIXEL_Y444, "Y444" },
  { MC_PIXEL_Y42B, "Y42B" }, { MC_PIXEL_I420_10LE, "I420_10LE" },
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

/* Bytes per row and rows of each plane; returns the number of planes. */
static int
plane_layout (mc_pixel_format f, int w, int h, int bytes[3], int rows[3])
{
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  rows[0] = rows[1] = rows[2] = h;
  switch (f) {
    case MC_PIXEL_RGB: case MC_PIXEL_BGR: bytes[0] = 3 * w; return 1;
    case MC_PIXEL_GRAY8: bytes[0] = w; return 1;
    case MC_PIXEL_I420: case MC_PIXEL_YV12:
      bytes[0] = w; bytes[1] = bytes[2] = cw; rows[1] = rows[2] = ch; return 3;
    case MC_PIXEL_NV12: case MC_PIXEL_NV21:
      bytes[0] = w; bytes[1] = 2 * cw; rows[1] = ch; return 2;
    case MC_PIXEL_YUY2: case MC_PIXEL_UYVY: bytes[0] = 4 * cw; return 1;
    case MC_PIXEL_Y444: bytes[0] = bytes[1] = bytes[2] = w; return 3;
    case MC_PIXEL_Y42B: bytes[0] = w; bytes[1] = bytes[2] = cw; return 3;
    case MC_PIXEL_I420_10LE:
      bytes[0] = 2 * w; bytes[1] = bytes[2] = 2 * cw; rows[1] = rows[2] = ch; return 3;
    default: bytes[0] = 4 * w; return 1;
  }
}

/* A buffer of n bytes whose end touches an inaccessible page. */
typedef struct {
  uint8_t *data;
  void *map;
  size_t map_bytes;
} guarded;

static int
guarded_alloc (guarded *g, size_t n)
{
#ifdef __linux__
  const size_t page = (size_t) sysconf (_SC_PAGESIZE);
  const size_t data_pages = (n + page - 1) / page;
  g->map_bytes = (data_pages + 1) * page;
  g->map = mmap (NULL, g->map_bytes, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->map == MAP_FAILED)
    return 0;
  if (mprotect ((uint8_t *) g->map + data_pages * page, page, PROT_NONE) != 0)
    return 0;
  g->data = (uint8_t *) g->map + data_pages * page - n;
  return 1;
#else
  g->map = malloc (n);
  g->data = g->map;
  return g->map != NULL;
#endif
}

static void
guarded_free (guarded *g)
{
#ifdef __linux__
  if (g->map && g->map != MAP_FAILED)
    munmap (g->map, g->map_bytes);
#else
  free (g->map);
#endif
  memset (g, 0, sizeof *g);
}

/* A random frame: strides with `pad` extra bytes; the last row of each
 * plane is exactly its bytes long and ends at a guard page, so with an odd
 * pad the rows start at odd addresses. */
static int
make_frame (mc_image *im, guarded g[3], mc_pixel_format f, int w, int h, int pad,
    mc_yuv_matrix m, int full)
{
  int bytes[3], rows[3];
  const int n = plane_layout (f, w, h, bytes, rows);
  memset (im, 0, sizeof *im);
  im->format = f;
  im->width = w;
  im->height = h;
  im->matrix = m;
  im->full_range = full;
  for (int p = 0; p < n; p++) {
    const size_t size = (size_t) (bytes[p] + pad) * (rows[p] - 1) + bytes[p];
    if (!guarded_alloc (&g[p], size))
      return 0;
    for (size_t i = 0; i < size; i++)
      g[p].data[i] = rand_u8 ();
    im->planes[p] = g[p].data;
    im->strides[p] = bytes[p] + pad;
  }
  return 1;
}

typedef struct {
  int w, h, size;
  mc_rect roi;       /* width 0: whole frame */
  const char *what;
} geometry;

static const geometry geometries[] = {
  { 1920, 1080, 256, { 0, 0, 0, 0 }, "1080p, 4 outputs per lane" },
  { 1920, 1080, 224, { 0, 0, 0, 0 }, "1080p at 224" },
  { 1080, 1920, 256, { 0, 0, 0, 0 }, "portrait 1080p" },
  { 3840, 2160, 256, { 0, 0, 0, 0 }, "4K, 2 outputs per lane" },
  { 1300, 100, 20, { 0, 0, 0, 0 }, "scale 5, 2 per lane" },
  { 4000, 250, 16, { 0, 0, 0, 0 }, "scale 15.6, 1 per lane" },
  { 2600, 100, 4, { 0, 0, 0, 0 }, "scale 25, 1 per lane" },
  { 640, 480, 256, { 0, 0, 0, 0 }, "640x480" },
  { 100, 80, 256, { 0, 0, 0, 0 }, "upscale" },
  { 256, 256, 256, { 0, 0, 0, 0 }, "no resampling" },
  { 300, 256, 256, { 0, 0, 0, 0 }, "height kept" },
  { 256, 300, 256, { 0, 0, 0, 0 }, "width kept" },
  { 1, 1, 3, { 0, 0, 0, 0 }, "1x1" },
  { 3, 5, 7, { 0, 0, 0, 0 }, "3x5" },
  { 33, 17, 32, { 0, 0, 0, 0 }, "33x17" },
  { 97, 61, 40, { 0, 0, 0, 0 }, "odd sides" },
  { 640, 480, 64, { 1, 1, 333, 47 }, "region at odd offset" },
  { 641, 479, 224, { 13, 7, 601, 463 }, "large region" },
  { 1921, 1081, 256, { 1919, 3, 2, 1077 }, "region at the right edge" },
};
#define N_GEOMETRIES (sizeof geometries / sizeof geometries[0])

/* Runs one frame on a variant; 0 on failure (reported). */
static int
run (mc_preprocessor *pp, mc_preprocess_variant v, const mc_image *im,
    const geometry *g, float *out)
{
  mc_error err = { 0 };
  mc_preprocess_set_variant (v);
  mc_status st = mc_preprocess (pp, im, g->roi.width ? &g->roi : NULL, g->size, out, &err);
  CHECK (st == MC_OK, "%s on %s: %s", g->what, mc_preprocess_variant_name (v), err.message);
  return st == MC_OK;
}

/* Every byte value through the last step, x / 255 as torchvision's
 * ToTensor divides, on every variant: a 16×16 GRAY8 ramp at S = 16 is not
 * resampled, so output pixel i must be exactly (float) i / 255 (a
 * reciprocal multiply would be an ulp off for 126 of the 256). */
static void
check_unit_ramp (mc_preprocessor *pp)
{
  static uint8_t ramp[256];
  static const geometry g = { 16, 16, 16, { 0, 0, 0, 0 }, "0..255 ramp" };
  float out[256 * 3];
  mc_image im;

  for (int i = 0; i < 256; i++)
    ramp[i] = (uint8_t) i;
  memset (&im, 0, sizeof im);
  im.format = MC_PIXEL_GRAY8;
  im.width = im.height = 16;
  im.planes[0] = ramp;
  im.strides[0] = 16;
  for (int v = 0; v < MC_PREPROCESS_N_VARIANTS; v++) {
    long d = 0;
    if (!mc_preprocess_variant_supported (v) || !run (pp, v, &im, &g, out))
      continue;
    for (int i = 0; i < 256; i++)
      for (int c = 0; c < 3; c++)
        d += out[3 * i + c] != (float) i / 255.0f;
    CHECK (d == 0, "%s: %ld of 768 values of the ramp are not i / 255",
        mc_preprocess_variant_name (v), d);
  }
}

int
main (void)
{
  int others = 0;
  for (int v = 1; v < MC_PREPROCESS_N_VARIANTS; v++) {
    printf ("  %s kernels: %s\n", mc_preprocess_variant_name (v),
        mc_preprocess_variant_supported (v) ? "supported, compared" : "not supported here");
    others += mc_preprocess_variant_supported (v);
  }
  if (!others) {
    printf ("SKIP: only the portable kernels run on this CPU/build\n");
    return MC_TEST_SKIP;
  }

  mc_preprocessor *ref_pp = mc_preprocessor_new (), *pp = mc_preprocessor_new ();
  check_unit_ramp (pp);
  for (size_t fi = 0; fi < N_FORMATS; fi++) {
    long compared = 0, differ = 0;
    for (size_t gi = 0; gi < N_GEOMETRIES; gi++) {
      const geometry *g = &geometries[gi];
      /* odd pad on odd geometries; matrices and ranges in turn */
      const int pad = (int) (gi % 3) * 3;
      const mc_yuv_matrix m = (mc_yuv_matrix) (gi % 3);
      const int full = (int) (gi / 3) % 2;
      mc_image im;
      guarded planes[3] = { { 0 } };
      if (!make_frame (&im, planes, formats[fi].fmt, g->w, g->h, pad, m, full)) {
        CHECK (0, "cannot allocate a %d×%d frame", g->w, g->h);
        continue;
      }
      const size_t n = (size_t) g->size * g->size * 3;
      float *ref = malloc (n * sizeof (float)), *got = malloc (n * sizeof (float));
      if (run (ref_pp, MC_PREPROCESS_PORTABLE, &im, g, ref)) {
        for (int v = 1; v < MC_PREPROCESS_N_VARIANTS; v++) {
          if (!mc_preprocess_variant_supported (v))
            continue;
          /* poison, so that a value the variant never writes shows */
          memset (got, 0xff, n * sizeof (float));
          if (!run (pp, v, &im, g, got))
            continue;
          long d = 0;
          for (size_t i = 0; i < n; i++)
            d += memcmp (&got[i], &ref[i], sizeof (float)) != 0;
          CHECK (d == 0, "%s, %s (%d×%d -> %d), %s: %ld of %zu values differ from portable",
              formats[fi].name, g->what, g->w, g->h, g->size, mc_preprocess_variant_name (v),
              d, n);
          compared += (long) n;
          differ += d;
        }
      }
      free (ref);
      free (got);
      for (int p = 0; p < 3; p++)
        guarded_free (&planes[p]);
    }
    printf ("  %-9s %zu geometries: %ld values compared, %ld differ\n", formats[fi].name,
        N_GEOMETRIES, compared, differ);
  }
  mc_preprocess_set_variant (MC_PREPROCESS_AUTO);
  mc_preprocessor_free (ref_pp);
  mc_preprocessor_free (pp);
  return mc_test_finish ("preprocess-variants");
}
