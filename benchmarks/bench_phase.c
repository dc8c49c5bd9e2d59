/* bench_phase.c — what a slow forward coincides with on this machine.
 *
 *   bench-phase --model MODEL [--config NAME] [--seconds S] [--series]
 *
 * One thread, for S seconds (default 60): a 5 ms burst of vector
 * multiply-adds (the core's peak just then), a read of a 64 MiB buffer (the
 * shared cache and memory side just then), one image forward; again.  The
 * forwards are sorted into quartiles by time, and for the fastest, the two
 * middle and the slowest quartile it prints the median forward, multiply-add
 * GFLOP/s and read GB/s measured just before them, as one JSON object
 * (--series: one JSON line per round before it).
 *
 * Why: the same binary's MCi0 forward has taken 36 ms one minute and 55 the
 * next on the shared VM, and whether such a phase slows the core (another
 * tenant on the same physical core's ports: the multiply-add probe drops
 * with it) or the memory side (the read probe drops) says what, if
 * anything, the engine could do about it. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "bench_args.h"
#include "bench_probe.h"

static const char *prog = "bench-phase";

static void
usage (int status)
{
  fprintf (stderr, "usage: %s --model MODEL [--config NAME] [--seconds S] [--series]\n", prog);
  exit (status);
}

typedef struct {
  double forward_ms, gflops, read_gbs;
} round_t;

static int
by_forward (const void *a, const void *b)
{
  const double x = ((const round_t *) a)->forward_ms, y = ((const round_t *) b)->forward_ms;
  return (x > y) - (x < y);
}

/* medians of rounds [lo, hi) of r (sorted by forward time) */
static void
print_part (const char *name, const round_t *r, int lo, int hi)
{
  const int n = hi - lo;
  double *f = malloc ((size_t) n * sizeof *f), *g = malloc ((size_t) n * sizeof *g);
  double *m = malloc ((size_t) n * sizeof *m);

  if (!f || !g || !m) {
    fprintf (stderr, "%s: out of memory\n", prog);
    exit (1);
  }
  for (int i = 0; i < n; i++) {
    f[i] = r[lo + i].forward_ms;
    g[i] = r[lo + i].gflops;
    m[i] = r[lo + i].read_gbs;
  }
  printf ("\"%s\": {\"rounds\": %d, \"forward_ms\": %.2f, \"fma_gflops\": %.1f, "
      "\"read_gbs\": %.2f}", name, n, median (f, n), median (g, n), median (m, n));
  free (f);
  free (g);
  free (m);
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "seconds", required_argument, NULL, 's' },
    { "series", no_argument, NULL, 'S' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL, *isa;
  int seconds = 60, series = 0, opt;

  while ((opt = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 's': seconds = count_arg (optarg, 1, usage); break;
      case 'S': series = 1; break;
      case 'h': usage (0); break;
      default: usage (2);
    }
  }
  if (!model || optind != argc)
    usage (2);

  mc_params p = mc_params_default ();
  mc_context *ctx;
  mc_error err;
  p.n_threads = 1;
  p.config = config;
  p.towers = MC_TOWER_IMAGE;
  if (mc_context_load (model, &p, &ctx, &err) != MC_OK) {
    fprintf (stderr, "%s: %s\n", prog, err.message);
    return 1;
  }
  const int size = mc_image_size (ctx), dim = mc_embed_dim (ctx);
  const size_t words = (64u << 20) / sizeof (uint64_t);
  uint64_t *buf = malloc (words * sizeof *buf);
  float *pixels = malloc ((size_t) 3 * size * size * sizeof *pixels);
  float *out = malloc ((size_t) dim * sizeof *out);
  size_t cap = 1024, n = 0;
  round_t *r = malloc (cap * sizeof *r);
  if (!buf || !pixels || !out || !r) {
    fprintf (stderr, "%s: out of memory\n", prog);
    return 1;
  }
  for (size_t i = 0; i < words; i++)
    buf[i] = i;
  for (int i = 0; i < 3 * size * size; i++)
    pixels[i] = (float) (i % 251) / 251.0f;
  const burst_fn burst = probe_pick (&isa);
  for (int i = 0; i < 3; i++)
    if (mc_encode_images (ctx, pixels, MC_LAYOUT_NCHW, 1, size, size, out, &err) != MC_OK) {
      fprintf (stderr, "%s: %s\n", prog, err.message);
      return 1;
    }

  const double end = now_ms () + seconds * 1e3;
  while (now_ms () < end) {
    if (n == cap) {
      round_t *grown = realloc (r, 2 * cap * sizeof *r);
      if (!grown) {
        fprintf (stderr, "%s: out of memory\n", prog);
        return 1;
      }
      r = grown;
      cap *= 2;
    }
    r[n].gflops = burst (5.0);
    r[n].read_gbs = read_gbs (buf, words);
    const double t0 = now_ms ();
    mc_encode_images (ctx, pixels, MC_LAYOUT_NCHW, 1, size, size, out, &err);
    r[n].forward_ms = now_ms () - t0;
    if (series)
      printf ("{\"round\": %zu, \"fma_gflops\": %.1f, \"read_gbs\": %.2f, \"forward_ms\": %.2f}\n",
          n + 1, r[n].gflops, r[n].read_gbs, r[n].forward_ms);
    n++;
  }

  qsort (r, n, sizeof *r, by_forward);
  const int q = (int) n / 4;
  printf ("{\"model\": \"%s\", \"arch\": \"%s\", \"isa\": \"%s\", \"threads\": 1, "
      "\"seconds\": %d, \"read_buffer_mib\": 64, ", model, mc_model_name (ctx), isa, seconds);
  if (q > 0) {
    print_part ("fastest_quarter", r, 0, q);
    printf (", ");
    print_part ("middle_half", r, q, (int) n - q);
    printf (", ");
    print_part ("slowest_quarter", r, (int) n - q, (int) n);
  } else {
    print_part ("all", r, 0, (int) n);
  }
  printf ("}\n");
  free (r);
  free (buf);
  free (pixels);
  free (out);
  mc_context_free (ctx);
  return 0;
}
