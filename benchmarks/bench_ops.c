/* bench_ops.c — time of the image encoder's non-GEMM ops on MCi0's shapes.
 *
 *   bench-ops [--threads 1,2] [--runs 21] [--batch N] [--only NAME] [--no-act]
 *
 * Direct convs (stem, depthwise mixers and ConvFFN convs, grouped
 * downsamples, conv_exp) and attention at the sizes MobileCLIP-S0's image
 * tower runs them for a 256×256 input, with random weights.  Each case runs
 * untimed twice, then --runs times; one JSON line per case with the median
 * and min in µs, the median CPU time of the calling thread (on one thread:
 * the op's time whatever other processes take from the core), GMAC/s of the
 * median and the case's count per forward, then
 * one line per thread count with the count-weighted sum of medians per
 * family (what `mobileclip bench` charges to conv, depthwise and attention,
 * without the profiler's per-call overhead).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/attention.h"
#include "ops/conv.h"
#include "runtime/threadpool.h"

typedef enum { F_CONV, F_DEPTHWISE, F_ATTENTION, N_FAM } family;
static const char *fam_names[N_FAM] = { "conv", "depthwise", "attention" };

typedef struct {
  const char *name;
  family fam;
  int count;                   /* times per forward of MCi0 */
  int cin, cout, groups, hw, k, stride;
  mc_act act;
  int T, C, heads, causal;     /* attention */
} op_case;

#define CONV(nm, f, n, ci, co, g, s_, k_, st, a) { .name = nm, .fam = f, .count = n, \
  .cin = ci, .cout = co, .groups = g, .hw = s_, .k = k_, .stride = st, .act = a }
#define ATTN(nm, n, t, c, hd, ca) { .name = nm, .fam = F_ATTENTION, .count = n, \
  .T = t, .C = c, .heads = hd, .causal = ca }

static const op_case cases[] = {
  CONV ("stem-conv3x3s2", F_CONV, 1, 3, 64, 1, 256, 3, 2, MC_ACT_GELU),
  CONV ("stem-dw3x3s2", F_DEPTHWISE, 1, 64, 64, 64, 128, 3, 2, MC_ACT_GELU),
  CONV ("s1-mixer-dw3x3", F_DEPTHWISE, 2, 64, 64, 64, 64, 3, 1, MC_ACT_NONE),
  CONV ("s1-ffn-dw7x7", F_DEPTHWISE, 2, 64, 64, 64, 64, 7, 1, MC_ACT_NONE),
  CONV ("down1-g7x7s2", F_CONV, 1, 64, 128, 64, 64, 7, 2, MC_ACT_GELU),
  CONV ("s2-mixer-dw3x3", F_DEPTHWISE, 6, 128, 128, 128, 32, 3, 1, MC_ACT_NONE),
  CONV ("s2-ffn-dw7x7", F_DEPTHWISE, 6, 128, 128, 128, 32, 7, 1, MC_ACT_NONE),
  CONV ("down2-g7x7s2", F_CONV, 1, 128, 256, 128, 32, 7, 2, MC_ACT_NONE),
  CONV ("s3-mixer-dw3x3", F_DEPTHWISE, 10, 256, 256, 256, 16, 3, 1, MC_ACT_NONE),
  CONV ("s3-ffn-dw7x7", F_DEPTHWISE, 10, 256, 256, 256, 16, 7, 1, MC_ACT_NONE),
  CONV ("down3-g7x7s2", F_CONV, 1, 256, 512, 256, 16, 7, 2, MC_ACT_NONE),
  CONV ("s4-dw7x7", F_DEPTHWISE, 3, 512, 512, 512, 8, 7, 1, MC_ACT_NONE),
  CONV ("conv_exp-g3x3", F_CONV, 1, 512, 1024, 512, 8, 3, 1, MC_ACT_NONE),
  ATTN ("s4-attention", 2, 64, 512, 16, 0),
  ATTN ("text-attention", 0, 77, 512, 8, 1),
};

static int no_act;   /* --no-act: time the convs without their GELU */

static double
now_us (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* 64-byte aligned, as the model's planned buffers are */
static float *
aligned_floats (size_t n)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, ((n ? n : 1) * sizeof (float) + 63) / 64 * 64))
    return NULL;
  return p;
}

static float *
random_floats (size_t n, uint32_t seed, float scale)
{
  float *p = aligned_floats (n);
  for (size_t i = 0; p && i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = scale * ((float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f);
  }
  return p;
}

/* Runs one case `runs` times after two untimed runs; returns the median µs
 * and writes the min and the median CPU time of the calling thread (on one
 * thread, the op's time without what other processes took from the core). */
static double
time_case (const op_case *oc, mc_threadpool *pool, int n, int runs, double *min_us,
    double *cpu_us, double *macs)
{
  double *t = malloc ((size_t) runs * sizeof (double)), median;
  double *tc = malloc ((size_t) runs * sizeof (double));
  float *in, *out, *scratch = NULL;
  mc_conv c;
  int ok = 1;

  if (oc->fam == F_ATTENTION) {
    const int d = oc->C / oc->heads;
    in = random_floats ((size_t) n * oc->T * 3 * oc->C, 7, 2.0f);
    out = aligned_floats ((size_t) n * oc->T * oc->C);
    scratch = aligned_floats (mc_attention_scratch_size (oc->T, d, mc_threadpool_size (pool)));
    *macs = 2.0 * n * oc->T * (double) (oc->causal ? (oc->T + 1) / 2.0 : oc->T) * oc->C;
  } else {
    const int cig = oc->cin / oc->groups;
    const int ho = mc_conv_out_size (oc->hw, oc->k, oc->stride, oc->k / 2);
    float *w = random_floats ((size_t) oc->cout * cig * oc->k * oc->k, 3, 0.3f);
    float *b = random_floats ((size_t) oc->cout, 5, 0.1f);
    ok = mc_conv_init (&c, w, b, oc->cin, oc->cout, oc->groups, oc->k, oc->k, oc->stride,
        oc->k / 2) == 0;
    free (w);
    free (b);
    in = random_floats ((size_t) n * oc->hw * oc->hw * oc->cin, 11, 1.0f);
    out = aligned_floats ((size_t) n * ho * ho * oc->cout);
    *macs = (double) n * ho * ho * oc->cout * cig * oc->k * oc->k;
  }
  if (!t || !in || !out || !ok || (oc->fam == F_ATTENTION && !scratch)) {
    fprintf (stderr, "bench-ops: out of memory\n");
    exit (1);
  }
  for (int r = -2; r < runs; r++) {
    double t0 = now_us (CLOCK_MONOTONIC), c0 = now_us (CLOCK_THREAD_CPUTIME_ID);
    if (oc->fam == F_ATTENTION)
      mc_attention (pool, in, n, oc->T, oc->C, oc->heads, oc->causal, out, scratch);
    else
      mc_conv_forward (pool, &c, in, n, oc->hw, oc->hw, out, no_act ? MC_ACT_NONE : oc->act);
    if (r >= 0) {
      t[r] = now_us (CLOCK_MONOTONIC) - t0;
      tc[r] = now_us (CLOCK_THREAD_CPUTIME_ID) - c0;
    }
  }
  qsort (t, (size_t) runs, sizeof *t, compare_double);
  qsort (tc, (size_t) runs, sizeof *tc, compare_double);
  median = t[runs / 2];
  *min_us = t[0];
  *cpu_us = tc[runs / 2];
  free (tc);
  if (oc->fam != F_ATTENTION)
    mc_conv_free (&c);
  free (t);
  free (in);
  free (out);
  free (scratch);
  return median;
}

int
main (int argc, char **argv)
{
  const char *threads_arg = "1,2", *only = NULL;
  int runs = 21, batch = 1;

  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--threads") && i + 1 < argc)
      threads_arg = argv[++i];
    else if (!strcmp (argv[i], "--runs") && i + 1 < argc)
      runs = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--batch") && i + 1 < argc)
      batch = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp (argv[i], "--no-act"))
      no_act = 1;
    else {
      fprintf (stderr, "usage: bench-ops [--threads 1,2] [--runs 21] [--batch N] [--only NAME] [--no-act]\n");
      return 2;
    }
  }
  if (runs < 1 || batch < 1)
    return 2;

  for (const char *p = threads_arg; *p;) {
    const int nt = atoi (p);
    mc_threadpool *pool = mc_threadpool_new (nt);
    double fam_us[N_FAM] = { 0 };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      const op_case *oc = &cases[i];
      double min_us, cpu_us, macs, med;
      if (only && !strstr (oc->name, only))
        continue;
      med = time_case (oc, pool, batch, runs, &min_us, &cpu_us, &macs);
      fam_us[oc->fam] += oc->count * med;
      printf ("{\"op\": \"%s\", \"family\": \"%s\", \"threads\": %d, \"batch\": %d, "
          "\"count\": %d, \"median_us\": %.1f, \"min_us\": %.1f, \"cpu_us\": %.1f, "
          "\"gmacs\": %.2f}\n", oc->name, fam_names[oc->fam], nt, batch, oc->count, med, min_us,
          cpu_us, macs / med / 1e3);
    }
    printf ("{\"threads\": %d, \"batch\": %d, \"per_forward_ms\": {", nt, batch);
    for (int f = 0; f < N_FAM; f++)
      printf ("%s\"%s\": %.3f", f ? ", " : "", fam_names[f], fam_us[f] / 1e3);
    printf ("}}\n");
    mc_threadpool_free (pool);
    p = strchr (p, ',');
    if (!p)
      break;
    p++;
  }
  return 0;
}
