/* bench_timing.h — the clock and the order statistics the benchmark
 * programs share. */
#ifndef MC_BENCH_TIMING_H
#define MC_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

/* monotonic wall time in milliseconds */
static inline double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* for qsort on doubles, ascending */
static inline int
cmp_double (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Sorts v[n] (n ≥ 1) and returns its median (the mean of the middle two
 * for even n). */
static inline double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The q-quantile of sorted v[n] (n ≥ 1), by nearest rank. */
static inline double
quantile (const double *v, int n, double q)
{
  const int i = (int) (q * (n - 1) + 0.5);
  return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

#endif
