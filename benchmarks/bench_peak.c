/* bench_peak.c — the multiply-add peak this machine gives us right now.
 *
 *   bench-peak [--ms MS] [--reps R]
 *
 * Runs independent chains of vector multiply-adds (no loads, no stores) on
 * the widest instruction set the CPU has (AVX-512, else AVX2+FMA, else
 * plain float), R bursts of MS milliseconds, first on one thread, then on
 * two at once, then R reads of a 64 MiB buffer on one thread, then R runs
 * of a cache line passed back and forth between two threads pinned to the
 * first two CPUs the process may use, and prints one JSON object: GFLOP/s
 * per thread, GB/s read and ns per round trip, best and median of the
 * bursts.
 *
 * Why: on a shared VM the same binary's MCi0 forward has taken 36 ms in one
 * minute and 55 in the next.  A probe run just before a measurement says
 * whether the core itself was slower then (another tenant on the same
 * physical core takes its multiply-add ports) or the shared cache and
 * memory (the read).  The round trip says where the host put the two
 * vCPUs.  On the Zen 5-class guest it read 420-780 ns most of the time,
 * while the 2-thread MCi0 forward took 16-18 ms, and about 100 ns for
 * minutes at a time, while it took either 15.7 ms (two cores that share
 * a cache) or the 1-thread time, 27.4-28.1 ms (presumably one core's two
 * hardware threads, which the multiply-add probe on two threads shows as
 * half the peak each; the pool then runs alone).  benchmarks/targets.py
 * runs it before each of its measurements and reports it next to them,
 * and bench-phase pairs the multiply-add and read probes with forwards. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

/* ---- round trip between two CPUs ---------------------------------------- */

#define ROUND_TRIPS 20000

typedef struct {
  _Alignas (64) atomic_long turn;  /* odd: the second thread's move */
  int cpu[2];
  int reps;
  double *ns;                      /* reps results, by the first thread */
} ping;

static void
pin_to (int cpu)
{
  cpu_set_t set;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  pthread_setaffinity_np (pthread_self (), sizeof set, &set);
}

static void *
ping_second (void *arg)
{
  ping *p = arg;
  pin_to (p->cpu[1]);
  for (int r = 0; r < p->reps; r++)
    for (int i = 0; i < ROUND_TRIPS; i++) {
      const long mine = 2 * ((long) r * ROUND_TRIPS + i) + 1;
      while (atomic_load_explicit (&p->turn, memory_order_acquire) != mine)
        ;
      atomic_store_explicit (&p->turn, mine + 1, memory_order_release);
    }
  return NULL;
}

/* The first two CPUs of the process's mask, or -1, -1 where there are
 * fewer or the mask cannot be read (then no round trip is measured: on one
 * CPU each would wait for the scheduler). */
static void
two_cpus (int cpu[2])
{
  cpu_set_t set;
  int found = 0;
  cpu[0] = cpu[1] = -1;
  if (sched_getaffinity (0, sizeof set, &set) != 0)
    return;
  for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
    if (CPU_ISSET (c, &set))
      cpu[found++] = c;
  if (found < 2)
    cpu[0] = cpu[1] = -1;
}

/* reps runs of ROUND_TRIPS round trips; ns per round trip each; returns
 * -1 when the second thread cannot start.  The calling thread's own
 * affinity is restored. */
static int
round_trips (ping *p)
{
  cpu_set_t saved;
  pthread_t th;
  const int have_saved = pthread_getaffinity_np (pthread_self (), sizeof saved, &saved) == 0;

  atomic_init (&p->turn, 0);
  if (pthread_create (&th, NULL, ping_second, p) != 0)
    return -1;
  pin_to (p->cpu[0]);
  for (int r = 0; r < p->reps; r++) {
    const double t0 = now_ms ();
    for (int i = 0; i < ROUND_TRIPS; i++) {
      const long mine = 2 * ((long) r * ROUND_TRIPS + i);
      atomic_store_explicit (&p->turn, mine + 1, memory_order_release);
      while (atomic_load_explicit (&p->turn, memory_order_acquire) != mine + 2)
        ;
    }
    p->ns[r] = (now_ms () - t0) * 1e6 / ROUND_TRIPS;
  }
  pthread_join (th, NULL);
  if (have_saved)
    pthread_setaffinity_np (pthread_self (), sizeof saved, &saved);
  return 0;
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

  /* where the host put the two vCPUs */
  static ping pp;
  pp.reps = reps;
  pp.ns = calloc ((size_t) reps, sizeof (double));
  two_cpus (pp.cpu);
  if (!pp.ns || (pp.cpu[0] >= 0 && round_trips (&pp) != 0)) {
    fprintf (stderr, "bench-peak: cannot run the round trip\n");
    return 1;
  }

  printf ("{\"isa\": \"%s\", \"burst_ms\": %d, \"bursts\": %d, \"read_buffer_mib\": %d, ", isa, ms,
      reps, MC_PROBE_READ_MIB);
  print_stats ("gflops_1t", one, reps);
  printf (", ");
  print_stats ("gflops_2t_thread0", two[0], reps);
  printf (", ");
  print_stats ("gflops_2t_thread1", two[1], reps);
  printf (", ");
  print_stats ("read_gbs", gbs, reps);
  printf (", ");
  if (pp.cpu[0] >= 0) {
    /* the fewer ns the better: best is the least */
    double best = pp.ns[0];
    for (int i = 1; i < reps; i++)
      best = pp.ns[i] < best ? pp.ns[i] : best;
    printf ("\"round_trip_ns\": {\"best\": %.0f, \"median\": %.0f}, "
        "\"round_trip_cpus\": [%d, %d]}\n", best, median (pp.ns, reps), pp.cpu[0], pp.cpu[1]);
  } else {
    printf ("\"round_trip_ns\": null, \"round_trip_cpus\": null}\n");
  }
  free (pp.ns);
  free (buf);
  free (gbs);
  free (one);
  free (two[0]);
  free (two[1]);
  return 0;
}
