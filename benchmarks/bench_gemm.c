/* bench_gemm.c — GFLOP/s of the GEMM kernel variants on the model's shapes.
 *
 *   bench-gemm [--variant portable|avx2|avx512] [--threads 1,2] [--runs 21]
 *              [--shape MxKxN] [--gelu] [--plain] [--format f32|bf16|int8]
 *
 * Packed products (mc_gemm) on the pointwise-conv / linear shapes of
 * MobileCLIP (M = pixels or tokens, K = input channels, N = output channels:
 * 64×64 maps with 64 channels down to 8×8 maps with 512, MLP ratio 3, both
 * directions), once without an epilogue and once with bias + GELU where the
 * model has it; then unpacked attention products (mc_gemm_plain) for 32-wide
 * heads.  --format packs the weights as bf16 or int8 panels instead of
 * float (the JSON's "kernel" names what ran).  Each case runs untimed twice, then --runs times; one JSON line per
 * case with the median, min and GFLOP/s of the median (2·M·N·K flops).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/gemm.h"
#include "runtime/cpu.h"
#include "runtime/threadpool.h"
#include "bench_timing.h"

typedef struct {
  int M, K, N;
  int gelu;      /* also time bias + GELU (fc1-like layers) */
} shape;

static const shape packed_shapes[] = {
  { 4096, 64, 192, 1 }, { 4096, 192, 64, 0 },
  { 1024, 128, 384, 1 }, { 1024, 384, 128, 0 },
  { 256, 256, 768, 1 }, { 256, 768, 256, 0 },
  { 64, 512, 1536, 1 }, { 64, 1536, 512, 0 },
  { 4096, 64, 64, 0 }, { 1024, 128, 128, 0 }, { 256, 256, 256, 0 },
  { 64, 512, 512, 0 },
};

/* attention, one head of 32: q·kᵀ (K = 32, trans_b) and p·v (N = 32) */
static const struct {
  int M, K, N, trans_b;
} plain_shapes[] = {
  { 64, 32, 64, 1 }, { 64, 64, 32, 0 },
  { 256, 32, 256, 1 }, { 256, 256, 32, 0 },
  { 1024, 32, 1024, 1 }, { 1024, 1024, 32, 0 },
  { 4096, 32, 4096, 1 }, { 4096, 4096, 32, 0 },
};

static float *
random_floats (size_t n, uint32_t seed)
{
  float *p = NULL;
  if (posix_memalign ((void **) &p, 64, (n ? n : 1) * sizeof (float)) != 0)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return p;
}

static void
report (const char *op, const char *variant, int threads, int M, int K, int N,
    const char *epilogue, double *t, int runs)
{
  double flops = 2.0 * M * K * N;
  qsort (t, (size_t) runs, sizeof *t, cmp_double);
  printf ("{\"op\": \"%s\", \"variant\": \"%s\", \"kernel\": \"%s\", "
      "\"threads\": %d, \"M\": %d, "
      "\"K\": %d, \"N\": %d, \"epilogue\": \"%s\", \"runs\": %d, "
      "\"median_ms\": %.4f, \"min_ms\": %.4f, \"gflops\": %.2f}\n",
      op, variant, strcmp (op, "gemm") ? mc_gemm_kernel_name (MC_GEMM_F32)
      : mc_gemm_kernel_name (mc_gemm_get_pack_format ()), threads, M, K, N,
      epilogue, runs, t[runs / 2], t[0], flops / (t[runs / 2] * 1e6));
  fflush (stdout);
}

static void
bench_packed (mc_threadpool *pool, const char *variant, const shape *s,
    int gelu, int runs, double *t)
{
  float *A = random_floats ((size_t) s->M * s->K, 1);
  float *W = random_floats ((size_t) s->N * s->K, 2);
  float *bias = random_floats ((size_t) s->N, 3);
  float *C = random_floats ((size_t) s->M * s->N, 4);
  mc_packed_b pb;

  if (!A || !W || !bias || !C || mc_pack_b_from_nk (&pb, W, s->N, s->K, NULL)) {
    fprintf (stderr, "out of memory\n");
    exit (1);
  }
  for (int r = -2; r < runs; r++) {
    double t0 = now_ms ();
    mc_gemm (pool, s->M, A, s->K, &pb, gelu ? bias : NULL,
        gelu ? MC_ACT_GELU : MC_ACT_NONE, NULL, 0, C, s->N);
    if (r >= 0)
      t[r] = now_ms () - t0;
  }
  report ("gemm", variant, mc_threadpool_size (pool), s->M, s->K, s->N,
      gelu ? "bias+gelu" : "none", t, runs);
  mc_packed_b_free (&pb);
  free (A);
  free (W);
  free (bias);
  free (C);
}

static void
bench_plain (const char *variant, int M, int K, int N, int trans_b, int runs,
    double *t)
{
  float *A = random_floats ((size_t) M * K, 5);
  float *B = random_floats ((size_t) K * N, 6);
  float *C = random_floats ((size_t) M * N, 7);

  if (!A || !B || !C) {
    fprintf (stderr, "out of memory\n");
    exit (1);
  }
  for (int r = -2; r < runs; r++) {
    double t0 = now_ms ();
    mc_gemm_plain (M, N, K, 0.17677669f, A, K, B, trans_b ? K : N, trans_b,
        C, N);
    if (r >= 0)
      t[r] = now_ms () - t0;
  }
  report (trans_b ? "plain_abt" : "plain_ab", variant, 1, M, K, N, "none",
      t, runs);
  free (A);
  free (B);
  free (C);
}

int
main (int argc, char **argv)
{
  const char *only_variant = NULL, *thread_list = "1,2";
  int runs = 21, only_gelu = 0, only_plain = 0, custom = 0;
  shape custom_shape = { 0, 0, 0, 0 };
  char cpu[256];
  double *t;

  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && !strcmp (argv[i], "--variant"))
      only_variant = argv[++i];
    else if (i + 1 < argc && !strcmp (argv[i], "--threads"))
      thread_list = argv[++i];
    else if (i + 1 < argc && !strcmp (argv[i], "--runs"))
      runs = atoi (argv[++i]);
    else if (i + 1 < argc && !strcmp (argv[i], "--shape")
        && sscanf (argv[i + 1], "%dx%dx%d", &custom_shape.M, &custom_shape.K,
            &custom_shape.N) == 3) {
      custom = 1;
      i++;
    } else if (!strcmp (argv[i], "--gelu"))
      only_gelu = 1;
    else if (!strcmp (argv[i], "--plain"))
      only_plain = 1;
    else if (i + 1 < argc && !strcmp (argv[i], "--format")
        && (!strcmp (argv[i + 1], "f32") || !strcmp (argv[i + 1], "bf16")
            || !strcmp (argv[i + 1], "int8"))) {
      i++;
      mc_gemm_set_pack_format (!strcmp (argv[i], "bf16") ? MC_GEMM_BF16
          : !strcmp (argv[i], "int8") ? MC_GEMM_INT8 : MC_GEMM_F32);
    } else {
      fprintf (stderr, "usage: %s [--variant portable|avx2|avx512] "
          "[--threads 1,2] [--runs 21] [--shape MxKxN] [--gelu] [--plain] "
          "[--format f32|bf16|int8]\n",
          argv[0]);
      return 2;
    }
  }
  if (runs < 1)
    runs = 1;
  t = calloc ((size_t) runs, sizeof *t);
  fprintf (stderr, "cpu features: %s\n", mc_cpu_describe (cpu, sizeof cpu));

  for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++) {
    const char *name = mc_gemm_variant_name (v);
    if (only_variant && strcmp (only_variant, name))
      continue;
    if (!mc_gemm_variant_supported (v)) {
      fprintf (stderr, "variant %s: skipped, this CPU cannot run it\n", name);
      continue;
    }
    mc_gemm_set_variant (v);

    for (const char *p = thread_list; *p;) {
      int threads = atoi (p);
      mc_threadpool *pool = mc_threadpool_new (threads > 0 ? threads : 1);
      if (!only_plain) {
        if (custom) {
          bench_packed (pool, name, &custom_shape, only_gelu, runs, t);
        } else {
          for (size_t s = 0; s < sizeof packed_shapes / sizeof packed_shapes[0]; s++) {
            if (!only_gelu)
              bench_packed (pool, name, &packed_shapes[s], 0, runs, t);
            if (packed_shapes[s].gelu)
              bench_packed (pool, name, &packed_shapes[s], 1, runs, t);
          }
        }
      }
      mc_threadpool_free (pool);
      while (*p && *p != ',')
        p++;
      if (*p == ',')
        p++;
    }
    if (!custom && !only_gelu)
      for (size_t s = 0; s < sizeof plain_shapes / sizeof plain_shapes[0]; s++)
        bench_plain (name, plain_shapes[s].M, plain_shapes[s].K,
            plain_shapes[s].N, plain_shapes[s].trans_b, runs, t);
  }
  mc_gemm_set_variant (MC_GEMM_AUTO);
  free (t);
  return 0;
}
