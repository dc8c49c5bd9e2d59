/* bench_probe.h — short probes of what this machine gives one thread right
 * now, shared by bench-peak and bench-phase: the vector multiply-add peak
 * and the read bandwidth of a buffer larger than the L2. */
#ifndef MC_BENCH_PROBE_H
#define MC_BENCH_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_timing.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MC_PEAK_X86 1
#endif

/* One burst: CHAINS independent accumulators of LANES floats (type VEC),
 * each updated once per step by FMA (a·b + c, the values staying finite),
 * for at least ms milliseconds; the GFLOP/s done.  Written once, as a
 * macro, for each instruction set's vector type and intrinsics. */
#define MC_PROBE_BURST(NAME, ATTR, VEC, SET1, FMA, STORE, CHAINS, LANES) \
  ATTR static double \
  NAME (double ms) \
  { \
    VEC a[CHAINS]; \
    const VEC b = SET1 (0.999f), c = SET1 (1e-4f); \
    long steps = 0; \
    const double t0 = now_ms (); \
    double t; \
    float lanes[LANES], sink = 0.0f; \
    for (int i = 0; i < CHAINS; i++) \
      a[i] = SET1 ((float) i * 1e-3f); \
    do { \
      for (int s = 0; s < 4096; s++) { \
        _Pragma ("GCC unroll 24") \
        for (int i = 0; i < CHAINS; i++) \
          a[i] = FMA (a[i], b, c); \
      } \
      steps += 4096; \
      t = now_ms () - t0; \
    } while (t < ms); \
    /* the sums stay finite and positive: this keeps them computed */ \
    for (int i = 0; i < CHAINS; i++) { \
      STORE (lanes, a[i]); \
      for (int l = 0; l < LANES; l++) \
        sink += lanes[l]; \
    } \
    if (sink < 0.0f) \
      puts (""); \
    return (double) steps * CHAINS * LANES * 2 / (t * 1e6); \
  }

static inline float probe_set1 (float x) { return x; }
static inline float probe_fma (float a, float b, float c) { return a * b + c; }
static inline void probe_store (float *p, float x) { *p = x; }
MC_PROBE_BURST (burst_plain, , float, probe_set1, probe_fma, probe_store, 16, 1)
#ifdef MC_PEAK_X86
MC_PROBE_BURST (burst_avx512, __attribute__ ((target ("avx512f"))), __m512, _mm512_set1_ps,
    _mm512_fmadd_ps, _mm512_storeu_ps, 24, 16)
MC_PROBE_BURST (burst_avx2, __attribute__ ((target ("avx2,fma"))), __m256, _mm256_set1_ps,
    _mm256_fmadd_ps, _mm256_storeu_ps, 12, 8)
#endif

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

/* The read probe's buffer: past the L2, so that it measures the shared
 * cache and memory side. */
#define MC_PROBE_READ_MIB 64
#define MC_PROBE_READ_WORDS (((size_t) MC_PROBE_READ_MIB << 20) / sizeof (uint64_t))

/* A buffer of MC_PROBE_READ_WORDS words, written once (so that its pages
 * exist), or NULL when out of memory. */
static inline uint64_t *
probe_read_buffer (void)
{
  uint64_t *w = malloc (MC_PROBE_READ_WORDS * sizeof *w);

  for (size_t i = 0; w && i < MC_PROBE_READ_WORDS; i++)
    w[i] = i;
  return w;
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
