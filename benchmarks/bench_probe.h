/* bench_probe.h — short probes of what this machine gives one thread right
 * now: the vector multiply-add peak (bench-peak, bench-phase) and the read
 * bandwidth of a buffer larger than the L2 (bench-phase). */
#ifndef MC_BENCH_PROBE_H
#define MC_BENCH_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* The multiply-add burst of the widest instruction set the CPU has, and its
 * name. */
static inline burst_fn
probe_pick (const char **isa)
{
#ifdef MC_PEAK_X86
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f")) {
    *isa = "avx512";
    return burst_avx512;
  }
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")) {
    *isa = "avx2";
    return burst_avx2;
  }
#endif
  *isa = "plain";
  return burst_plain;
}

/* GB/s reading the n words at w once (four sums, so the loads do not wait
 * on one chain of additions). */
static inline double
read_gbs (const uint64_t *w, size_t n)
{
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const double t0 = now_ms ();

  for (size_t i = 0; i + 4 <= n; i += 4) {
    s0 += w[i];
    s1 += w[i + 1];
    s2 += w[i + 2];
    s3 += w[i + 3];
  }
  const double t = now_ms () - t0;
  if (s0 + s1 + s2 + s3 == 1)
    puts ("");
  return (double) n * sizeof *w / (t * 1e6);
}

#endif
