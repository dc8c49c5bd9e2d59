/* bench_peak.c — the multiply-add peak this machine gives us right now.
 *
 *   bench-peak [--ms MS] [--reps R]
 *
 * Runs independent chains of vector multiply-adds (no loads, no stores) on
 * the widest instruction set the CPU has (AVX-512, else AVX2+FMA, else
 * plain float), R bursts of MS milliseconds, first on one thread, then on
 * two at once, and prints one JSON object: GFLOP/s per thread, best and
 * median of the bursts.
 *
 * Why: on a shared VM the same binary's MCi0 forward has taken 36 ms in one
 * minute and 55 in the next.  A probe run just before a measurement says
 * whether the core itself was slower then (another tenant on the same
 * physical core takes its multiply-add ports) or whether the slowness came
 * from elsewhere (caches, memory); benchmarks/targets.py runs it before
 * each of its measurements and reports it next to them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_timing.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MC_PEAK_X86 1
#endif

/* Each burst: `chains` independent accumulators, each updated once per
 * step (a·b + c, the values staying finite), for at least ms milliseconds.
 * Returns the flops done per second, in GFLOP/s. */
#ifdef MC_PEAK_X86
__attribute__ ((target ("avx512f"))) static double
burst_avx512 (double ms)
{
  __m512 a[24];
  const __m512 b = _mm512_set1_ps (0.999f), c = _mm512_set1_ps (1e-4f);
  long steps = 0;
  const double t0 = now_ms ();
  double t;

  for (int i = 0; i < 24; i++)
    a[i] = _mm512_set1_ps ((float) i * 1e-3f);
  do {
    for (int s = 0; s < 4096; s++) {
#pragma GCC unroll 24
      for (int i = 0; i < 24; i++)
        a[i] = _mm512_fmadd_ps (a[i], b, c);
    }
    steps += 4096;
    t = now_ms () - t0;
  } while (t < ms);
  float sink = 0.0f;
  for (int i = 0; i < 24; i++)
    sink += _mm512_reduce_add_ps (a[i]);
  /* the sums stay finite and positive: this keeps them computed */
  if (sink < 0.0f)
    puts ("");
  return (double) steps * 24 * 16 * 2 / (t * 1e6);
}

__attribute__ ((target ("avx2,fma"))) static double
burst_avx2 (double ms)
{
  __m256 a[12];
  const __m256 b = _mm256_set1_ps (0.999f), c = _mm256_set1_ps (1e-4f);
  long steps = 0;
  const double t0 = now_ms ();
  double t;

  for (int i = 0; i < 12; i++)
    a[i] = _mm256_set1_ps ((float) i * 1e-3f);
  do {
    for (int s = 0; s < 4096; s++) {
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++)
        a[i] = _mm256_fmadd_ps (a[i], b, c);
    }
    steps += 4096;
    t = now_ms () - t0;
  } while (t < ms);
  float lanes[8], sink = 0.0f;
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps (lanes, a[i]);
    for (int l = 0; l < 8; l++)
      sink += lanes[l];
  }
  if (sink < 0.0f)
    puts ("");
  return (double) steps * 12 * 8 * 2 / (t * 1e6);
}
#endif

static double
burst_plain (double ms)
{
  float a[16];
  long steps = 0;
  const double t0 = now_ms ();
  double t;

  for (int i = 0; i < 16; i++)
    a[i] = (float) i * 1e-3f;
  do {
    for (int s = 0; s < 4096; s++)
      for (int i = 0; i < 16; i++)
        a[i] = a[i] * 0.999f + 1e-4f;
    steps += 4096;
    t = now_ms () - t0;
  } while (t < ms);
  float sink = 0.0f;
  for (int i = 0; i < 16; i++)
    sink += a[i];
  if (sink < 0.0f)
    puts ("");
  return (double) steps * 16 * 2 / (t * 1e6);
}

typedef double (*burst_fn) (double ms);

typedef struct {
  burst_fn fn;
  double ms;
  int reps;
  double *gflops;        /* reps results */
  pthread_barrier_t *start;
} run;

static void *
run_bursts (void *arg)
{
  run *r = arg;

  if (r->start)
    pthread_barrier_wait (r->start);
  for (int i = 0; i < r->reps; i++)
    r->gflops[i] = r->fn (r->ms);
  return NULL;
}

static void
print_stats (const char *key, double *v, int n)
{
  double best = v[0];

  for (int i = 1; i < n; i++)
    best = v[i] > best ? v[i] : best;
  printf ("\"%s\": {\"best\": %.1f, \"median\": %.1f}", key, best, median (v, n));
}

int
main (int argc, char **argv)
{
  double ms = 20.0;
  int reps = 5;
  const char *isa = "plain";
  burst_fn fn = burst_plain;

  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--ms") && i + 1 < argc)
      ms = atof (argv[++i]);
    else if (!strcmp (argv[i], "--reps") && i + 1 < argc)
      reps = atoi (argv[++i]);
    else {
      fprintf (stderr, "usage: %s [--ms MS] [--reps R]\n", argv[0]);
      return 2;
    }
  }
  if (ms <= 0.0 || reps < 1) {
    fprintf (stderr, "bench-peak: --ms and --reps must be positive\n");
    return 2;
  }
#ifdef MC_PEAK_X86
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f")) {
    isa = "avx512";
    fn = burst_avx512;
  } else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")) {
    isa = "avx2";
    fn = burst_avx2;
  }
#endif

  double *one = calloc ((size_t) reps, sizeof (double));
  double *two[2] = { calloc ((size_t) reps, sizeof (double)),
    calloc ((size_t) reps, sizeof (double)) };
  if (!one || !two[0] || !two[1]) {
    fprintf (stderr, "bench-peak: out of memory\n");
    return 1;
  }

  run r1 = { fn, ms, reps, one, NULL };
  run_bursts (&r1);

  /* two threads at once: does the second vCPU slow the first? */
  pthread_barrier_t start;
  pthread_t th;
  pthread_barrier_init (&start, NULL, 2);
  run r2[2] = { { fn, ms, reps, two[0], &start }, { fn, ms, reps, two[1], &start } };
  if (pthread_create (&th, NULL, run_bursts, &r2[1]) != 0) {
    fprintf (stderr, "bench-peak: cannot start a thread\n");
    return 1;
  }
  run_bursts (&r2[0]);
  pthread_join (th, NULL);
  pthread_barrier_destroy (&start);

  printf ("{\"isa\": \"%s\", \"burst_ms\": %.0f, \"bursts\": %d, ", isa, ms, reps);
  print_stats ("gflops_1t", one, reps);
  printf (", ");
  print_stats ("gflops_2t_thread0", two[0], reps);
  printf (", ");
  print_stats ("gflops_2t_thread1", two[1], reps);
  printf ("}\n");
  free (one);
  free (two[0]);
  free (two[1]);
  return 0;
}
