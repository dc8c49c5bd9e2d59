/* bench_preprocess.c — time mc_preprocess on one thread.
 *
 *   bench-preprocess [--format NV12] [--width 1920] [--height 1080]
 *                    [--size 256] [--runs 50] [--variant VARIANT]
 *                    [--versus VARIANT]
 *
 * Fills a frame with a smooth pattern plus noise, runs one untimed call (it
 * builds the filter tables and lets ORC compile), then times --runs calls of
 * the steady state a video element sees.  Prints one JSON line with the
 * median, min and max wall time in milliseconds, and the median CPU time of
 * the thread (what the call costs when the machine is shared: a descheduled
 * thread accrues wall time but no CPU time).  --variant picks the kernels
 * (portable, avx2, avx-vnni or avx512; default: what the machine picks, or
 * MC_PREPROCESS_VARIANT).
 *
 * --versus V times --runs pairs of calls instead, one on the chosen kernels
 * and one on V's back to back (their order alternating), and adds V's median,
 * the median, quartiles and range of the pairs' ratios (chosen / V), and
 * whether the two gave the same floats.  On a VM whose speed changes from one
 * second to the next only pairs this close compare two variants.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mobileclip.h"
#include "preprocess/variant.h"
#include "bench_timing.h"

static const struct {
  const char *name;
  mc_pixel_format format;
} formats[] = {
  { "RGB", MC_PIXEL_RGB }, { "BGR", MC_PIXEL_BGR }, { "RGBx", MC_PIXEL_RGBX },
  { "BGRx", MC_PIXEL_BGRX }, { "xRGB", MC_PIXEL_XRGB }, { "xBGR", MC_PIXEL_XBGR },
  { "RGBA", MC_PIXEL_RGBA }, { "BGRA", MC_PIXEL_BGRA }, { "ARGB", MC_PIXEL_ARGB },
  { "ABGR", MC_PIXEL_ABGR }, { "GRAY8", MC_PIXEL_GRAY8 }, { "I420", MC_PIXEL_I420 },
  { "YV12", MC_PIXEL_YV12 }, { "NV12", MC_PIXEL_NV12 }, { "NV21", MC_PIXEL_NV21 },
  { "YUY2", MC_PIXEL_YUY2 }, { "UYVY", MC_PIXEL_UYVY }, { "Y444", MC_PIXEL_Y444 },
  { "Y42B", MC_PIXEL_Y42B }, { "I420_10LE", MC_PIXEL_I420_10LE },
};

/* The variant named, or -1 (after a message) when unknown or unsupported. */
static int
find_variant (const char *name)
{
  for (int v = 0; v < MC_PREPROCESS_N_VARIANTS; v++)
    if (!strcmp (name, mc_preprocess_variant_name (v))) {
      if (!mc_preprocess_variant_supported (v)) {
        fprintf (stderr, "bench-preprocess: this CPU cannot run the %s kernels\n", name);
        return -1;
      }
      return v;
    }
  fprintf (stderr, "bench-preprocess: unknown variant %s\n", name);
  return -1;
}

static double
cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Plane layout of a frame: bytes per row and rows of each plane. */
static int
plane_layout (mc_pixel_format f, int w, int h, int strides[3], int rows[3])
{
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  memset (strides, 0, 3 * sizeof (int));
  memset (rows, 0, 3 * sizeof (int));
  rows[0] = h;
  switch (f) {
    case MC_PIXEL_RGB: case MC_PIXEL_BGR: strides[0] = 3 * w; return 1;
    case MC_PIXEL_GRAY8: strides[0] = w; return 1;
    case MC_PIXEL_I420: case MC_PIXEL_YV12:
      strides[0] = w; strides[1] = strides[2] = cw; rows[1] = rows[2] = ch; return 3;
    case MC_PIXEL_NV12: case MC_PIXEL_NV21:
      strides[0] = w; strides[1] = 2 * cw; rows[1] = ch; return 2;
    case MC_PIXEL_YUY2: case MC_PIXEL_UYVY: strides[0] = 4 * cw; return 1;
    case MC_PIXEL_Y444:
      strides[0] = strides[1] = strides[2] = w; rows[1] = rows[2] = h; return 3;
    case MC_PIXEL_Y42B:
      strides[0] = w; strides[1] = strides[2] = cw; rows[1] = rows[2] = h; return 3;
    case MC_PIXEL_I420_10LE:
      strides[0] = 2 * w; strides[1] = strides[2] = 2 * cw; rows[1] = rows[2] = ch; return 3;
    default: strides[0] = 4 * w; return 1;
  }
}

int
main (int argc, char **argv)
{
  const char *format_name = "NV12", *variant_name = NULL, *versus_name = NULL;
  int variant = -1, versus = -1;
  int width = 1920, height = 1080, size = 256, runs = 50;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && !strcmp (argv[i], "--format")) format_name = argv[++i];
    else if (i + 1 < argc && !strcmp (argv[i], "--width")) width = atoi (argv[++i]);
    else if (i + 1 < argc && !strcmp (argv[i], "--height")) height = atoi (argv[++i]);
    else if (i + 1 < argc && !strcmp (argv[i], "--size")) size = atoi (argv[++i]);
    else if (i + 1 < argc && !strcmp (argv[i], "--runs")) runs = atoi (argv[++i]);
    else if (i + 1 < argc && !strcmp (argv[i], "--variant")) variant_name = argv[++i];
    else if (i + 1 < argc && !strcmp (argv[i], "--versus")) versus_name = argv[++i];
    else {
      fprintf (stderr, "usage: %s [--format NV12] [--width W] [--height H] [--size S] [--runs N]"
          " [--variant portable|avx2|avx-vnni|avx512] [--versus VARIANT]\n", argv[0]);
      return 2;
    }
  }
  if (variant_name && (variant = find_variant (variant_name)) < 0)
    return 2;
  if (versus_name && (versus = find_variant (versus_name)) < 0)
    return 2;
  mc_preprocess_set_variant (variant >= 0 ? variant : MC_PREPROCESS_AUTO);
  variant = mc_preprocess_get_variant ();
  int fi = -1;
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
    if (!strcmp (formats[i].name, format_name))
      fi = (int) i;
  if (fi < 0 || width <= 0 || height <= 0 || size <= 0 || runs < 1) {
    fprintf (stderr, "bench-preprocess: bad format or size\n");
    return 2;
  }

  mc_image im = { .format = formats[fi].format, .width = width, .height = height,
    .matrix = MC_YUV_BT709, .full_range = 0 };
  int rows[3];
  int n_planes = plane_layout (im.format, width, height, im.strides, rows);
  uint8_t *planes[3] = { NULL, NULL, NULL };
  uint32_t seed = 1;
  for (int p = 0; p < n_planes; p++) {
    size_t bytes = (size_t) im.strides[p] * rows[p];
    planes[p] = malloc (bytes);
    for (size_t i = 0; i < bytes; i++) {
      seed = seed * 1664525u + 1013904223u;
      planes[p][i] = (uint8_t) ((i * 7 / 5 + (seed >> 29)) & 255);
    }
    im.planes[p] = planes[p];
  }

  float *out = malloc (sizeof (float) * size * size * 3);
  mc_preprocessor *pp = mc_preprocessor_new ();
  mc_error err = { 0 };
  if (mc_preprocess (pp, &im, NULL, size, out, &err) != MC_OK) {
    fprintf (stderr, "bench-preprocess: %s\n", err.message);
    return 1;
  }
  double *t = malloc (sizeof (double) * runs), *cpu = malloc (sizeof (double) * runs);
  if (versus >= 0) {
    /* each variant with its own preprocessor, so that switching between
     * them does not rebuild the tables */
    float *out_v = malloc (sizeof (float) * size * size * 3);
    mc_preprocessor *pp_v = mc_preprocessor_new ();
    double *tv = malloc (sizeof (double) * runs), *ratio = malloc (sizeof (double) * runs);
    mc_preprocess_set_variant (versus);
    if (mc_preprocess (pp_v, &im, NULL, size, out_v, &err) != MC_OK) {
      fprintf (stderr, "bench-preprocess: %s\n", err.message);
      return 1;
    }
    const int same = !memcmp (out, out_v, sizeof (float) * size * size * 3);
    for (int r = 0; r < runs; r++) {
      for (int k = 0; k < 2; k++) {
        const int mine = (k == 0) == (r % 2 == 0);
        mc_preprocess_set_variant (mine ? variant : versus);
        double t0 = now_ms ();
        mc_preprocess (mine ? pp : pp_v, &im, NULL, size, mine ? out : out_v, NULL);
        (mine ? t : tv)[r] = now_ms () - t0;
      }
      ratio[r] = t[r] / tv[r];
    }
    qsort (ratio, runs, sizeof (double), cmp_double);
    printf ("{\"bench\": \"preprocess\", \"variant\": \"%s\", \"versus\": \"%s\", "
        "\"format\": \"%s\", \"width\": %d, \"height\": %d, \"size\": %d, \"threads\": 1, "
        "\"pairs\": %d, \"median_ms\": %.4f, \"versus_median_ms\": %.4f, "
        "\"ratio_median\": %.3f, \"ratio_q1\": %.3f, \"ratio_q3\": %.3f, "
        "\"ratio_min\": %.3f, \"ratio_max\": %.3f, \"identical\": %s}\n",
        mc_preprocess_variant_name (variant), mc_preprocess_variant_name (versus),
        formats[fi].name, width, height, size, runs, median (t, runs), median (tv, runs),
        ratio[runs / 2], ratio[runs / 4], ratio[3 * runs / 4], ratio[0], ratio[runs - 1],
        same ? "true" : "false");
    mc_preprocessor_free (pp_v);
    free (out_v);
    free (tv);
    free (ratio);
    runs = 0;
  }
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms (), c0 = cpu_ms ();
    mc_preprocess (pp, &im, NULL, size, out, NULL);
    cpu[r] = cpu_ms () - c0;
    t[r] = now_ms () - t0;
  }
  if (runs == 0)
    goto done;
  double wall_median = median (t, runs), cpu_median = median (cpu, runs);
  printf ("{\"bench\": \"preprocess\", \"variant\": \"%s\", \"format\": \"%s\", "
      "\"width\": %d, \"height\": %d, \"size\": %d, \"threads\": 1, \"runs\": %d, "
      "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"cpu_median_ms\": %.4f}\n",
      mc_preprocess_variant_name (mc_preprocess_get_variant ()), formats[fi].name, width,
      height, size, runs, wall_median, t[0], t[runs - 1], cpu_median);

done:
  mc_preprocessor_free (pp);
  for (int p = 0; p < 3; p++)
    free (planes[p]);
  free (out);
  free (t);
  free (cpu);
  return 0;
}
