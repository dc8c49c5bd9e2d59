/* bench_phase.c — what a slow forward coincides with on this machine.
 *
 *   bench-phase --model MODEL [--config NAME] [--seconds S] [--series]
 *
 * One thread, for S seconds (default 60): a 5 ms burst of vector
 * multiply-adds (the core's peak just then), a 256×256×256 product whose
 * operands stay in L2 (the core with its private caches), a read of a
 * 64 MiB buffer (the shared cache and memory side), one image forward;
 * again.  The forwards are sorted into quartiles by time, and for the
 * fastest, the two middle and the slowest quartile it prints the median
 * forward and the probes' medians just before them, as one JSON object
 * (--series: one JSON line per round before it).
 *
 * Why: the same binary's MCi0 forward has taken 36 ms one minute and 55 the
 * next on the shared VM, and which probe falls with the forward says what
 * slows it: the core's multiply-add ports, its private caches (another
 * tenant on the same physical core shares both), or the memory side. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "ops/gemm.h"
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
  double forward_ms, gflops, l2_gflops, read_gbs;
} round_t;

/* GFLOP/s of C = A·B, 256×256×256 on one thread, the best of 4 calls
 * after one that brings its operands (768 KiB) into L2 */
static double
l2_product (const float *a, const mc_packed_b *b, float *c)
{
  double best = 0.0;

  mc_gemm (NULL, 256, a, 256, b, NULL, MC_ACT_NONE, NULL, 0, c, 256);
  for (int i = 0; i < 4; i++) {
    const double t0 = now_ms ();
    mc_gemm (NULL, 256, a, 256, b, NULL, MC_ACT_NONE, NULL, 0, c, 256);
    const double g = 2.0 * 256 * 256 * 256 / ((now_ms () - t0) * 1e6);
    best = g > best ? g : best;
  }
  return best;
}

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
  double *m = malloc ((size_t) n * sizeof *m), *l = malloc ((size_t) n * sizeof *l);

  if (!f || !g || !m || !l) {
    fprintf (stderr, "%s: out of memory\n", prog);
    exit (1);
  }
  for (int i = 0; i < n; i++) {
    f[i] = r[lo + i].forward_ms;
    g[i] = r[lo + i].gflops;
    m[i] = r[lo + i].read_gbs;
    l[i] = r[lo + i].l2_gflops;
  }
  printf ("\"%s\": {\"rounds\": %d, \"forward_ms\": %.2f, \"fma_gflops\": %.1f, "
      "\"l2_product_gflops\": %.1f, \"read_gbs\": %.2f}", name, n, median (f, n),
      median (g, n), median (l, n), median (m, n));
  free (f);
  free (g);
  free (m);
  free (l);
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
  uint64_t *buf = probe_read_buffer ();
  float *pixels = malloc ((size_t) 3 * size * size * sizeof *pixels);
  float *out = malloc ((size_t) dim * sizeof *out);
  size_t cap = 1024, n = 0;
  round_t *r = malloc (cap * sizeof *r);
  float *pa = malloc (256 * 256 * sizeof *pa), *pw = malloc (256 * 256 * sizeof *pw);
  float *pc = malloc (256 * 256 * sizeof *pc);
  mc_packed_b pb;
  if (!buf || !pixels || !out || !r || !pa || !pw || !pc) {
    fprintf (stderr, "%s: out of memory\n", prog);
    return 1;
  }
  for (int i = 0; i < 3 * size * size; i++)
    pixels[i] = (float) (i % 251) / 251.0f;
  for (int i = 0; i < 256 * 256; i++) {
    pa[i] = (float) (i % 97) / 97.0f - 0.5f;
    pw[i] = (float) (i % 89) / 890.0f - 0.05f;
  }
  if (mc_pack_b_from_nk (&pb, pw, 256, 256, NULL) != 0) {
    fprintf (stderr, "%s: out of memory\n", prog);
    return 1;
  }
  l2_product (pa, &pb, pc);
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
    r[n].l2_gflops = l2_product (pa, &pb, pc);
    r[n].read_gbs = read_gbs (buf, MC_PROBE_READ_WORDS);
    const double t0 = now_ms ();
    mc_encode_images (ctx, pixels, MC_LAYOUT_NCHW, 1, size, size, out, &err);
    r[n].forward_ms = now_ms () - t0;
    if (series)
      printf ("{\"round\": %zu, \"fma_gflops\": %.1f, \"l2_product_gflops\": %.1f, "
          "\"read_gbs\": %.2f, \"forward_ms\": %.2f}\n", n + 1, r[n].gflops,
          r[n].l2_gflops, r[n].read_gbs, r[n].forward_ms);
    n++;
  }

  qsort (r, n, sizeof *r, by_forward);
  const int q = (int) n / 4;
  printf ("{\"model\": \"%s\", \"arch\": \"%s\", \"isa\": \"%s\", \"threads\": 1, "
      "\"seconds\": %d, \"read_buffer_mib\": %d, ", model, mc_model_name (ctx), isa, seconds,
      MC_PROBE_READ_MIB);
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
  free (pa);
  free (pw);
  free (pc);
  mc_packed_b_free (&pb);
  mc_context_free (ctx);
  return 0;
}
