/* bench_peak.c — the multiply-add peak this machine gives us right now.
 *
 *   bench-peak [--ms MS] [--reps R]
 *
 * Runs independent chains of vector multiply-adds (no loads, no stores) on
 * the widest instruction set the CPU has (AVX-512, else AVX2+FMA, else
 * plain float), R bursts of MS milliseconds, first on one thread, then on
 * two at once, then R reads of a 64 MiB buffer on one thread, and prints one
 * JSON object: GFLOP/s per thread and GB/s read, best and median of the
 * bursts.
 *
 * Why: on a shared VM the same binary's MCi0 forward has taken 36 ms in one
 * minute and 55 in the next.  A probe run just before a measurement says
 * whether the core itself was slower then (another tenant on the same
 * physical core takes its multiply-add ports) or the shared cache and
 * memory (the read); benchmarks/targets.py runs it before each of its
 * measurements and reports it next to them, and bench-phase pairs the same
 * probes with forwards. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "bench_probe.h"

static void
usage (int status)
{
  fprintf (stderr, "usage: bench-peak [--ms MS] [--reps R]\n");
  exit (status);
}

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
  int ms = 20, reps = 5;
  const char *isa;

  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--ms") && i + 1 < argc)
      ms = count_arg (argv[++i], 1, usage);
    else if (!strcmp (argv[i], "--reps") && i + 1 < argc)
      reps = count_arg (argv[++i], 1, usage);
    else
      usage (2);
  }
  const burst_fn fn = probe_pick (&isa);

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

  /* the memory side: reps reads of the probe's buffer */
  uint64_t *buf = probe_read_buffer ();
  double *gbs = calloc ((size_t) reps, sizeof (double));
  if (!buf || !gbs) {
    fprintf (stderr, "bench-peak: out of memory\n");
    return 1;
  }
  for (int i = 0; i < reps; i++)
    gbs[i] = read_gbs (buf, MC_PROBE_READ_WORDS);

  printf ("{\"isa\": \"%s\", \"burst_ms\": %d, \"bursts\": %d, \"read_buffer_mib\": %d, ", isa, ms,
      reps, MC_PROBE_READ_MIB);
  print_stats ("gflops_1t", one, reps);
  printf (", ");
  print_stats ("gflops_2t_thread0", two[0], reps);
  printf (", ");
  print_stats ("gflops_2t_thread1", two[1], reps);
  printf (", ");
  print_stats ("read_gbs", gbs, reps);
  printf ("}\n");
  free (buf);
  free (gbs);
  free (one);
  free (two[0]);
  free (two[1]);
  return 0;
}
