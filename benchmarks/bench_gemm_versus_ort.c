/* bench_gemm_versus_ort.c — the engine's GEMM against ONNX Runtime's (MLAS
 * SGEMM with a prepacked weight), shape by shape, side by side.
 *
 *   bench-gemm-versus-ort LIBONNXRUNTIME.so MODEL_DIR [--shape MxKxN]...
 *       [--threads N] [--pairs K] [--block B] [--variant portable|avx2|avx512]
 *   bench-gemm-versus-ort --list-shapes
 *
 * MODEL_DIR holds matmul_MxKxN.onnx for every shape (benchmarks/gemm_onnx.py
 * writes them; benchmarks/gemm-versus-ort.sh does it all).  The engine side
 * is mc_gemm on panels packed once, with the bias and no activation, as the
 * graph has them.  Timing as in bench-versus-ort: K pairs (default 8) of
 * blocks of B samples (default 5, after WARM_MS untimed), the sides alternating;
 * a sample is as many back-to-back calls as take about 2 ms, so that the
 * clock's resolution does not matter.  ONNX Runtime's figure includes its
 * per-call cost (a session run: input checks, output allocation), which
 * the last line measures on a 1×16×16 product; on the smallest shapes it is
 * part of the difference.
 *
 * ONNX Runtime runs in a child process, driven over pipes, so that neither
 * side's threads live in the other's process.  Each block starts with
 * WARM_MS of untimed calls: ONNX Runtime's workers keep polling for ~45 ms
 * after its last run (a core's worth of CPU time, measured), and on a VM a
 * second core that has been idle runs the first tens of milliseconds of
 * work slowly (a 2-thread product after 150 ms idle: 2-3 ms instead of
 * 0.9-1.3, with both threads on separate CPUs), so a block's first calls
 * would measure those, not the products.
 *
 * Default shapes (--list-shapes prints them): the ConvFFN products of MCi0
 * and MCi2 at 256×256, the bands MCi2's stages 3 and 4 cut them into in the
 * engine (64 and 32 rows), and the S0 text tower's MLP.  One JSON line per
 * shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "ops/gemm.h"
#include "runtime/cpu.h"
#include "runtime/threadpool.h"
#include "bench_args.h"
#include "bench_timing.h"
#include "ort_runner.h"

#define MAX_SHAPES 64
#define WARM_MS 60

typedef struct {
  int M, K, N;
} shape;

static const shape default_shapes[] = {
  /* MCi0: stages 1-4, fc1 and fc2 */
  { 4096, 64, 192 }, { 4096, 192, 64 }, { 1024, 128, 384 }, { 1024, 384, 128 },
  { 256, 256, 768 }, { 256, 768, 256 }, { 64, 512, 1536 }, { 64, 1536, 512 },
  /* MCi2, and its stage-3 and -4 bands */
  { 4096, 80, 240 }, { 4096, 240, 80 }, { 1024, 160, 480 }, { 1024, 480, 160 },
  { 256, 320, 960 }, { 256, 960, 320 }, { 64, 320, 960 }, { 64, 960, 320 },
  { 64, 640, 1920 }, { 64, 1920, 640 }, { 32, 640, 1920 },
  /* S0 text, one prompt */
  { 77, 512, 2048 }, { 77, 2048, 512 }, { 77, 512, 1536 },
};

typedef struct {
  const char *lib, *dir, *variant;
  shape shapes[MAX_SHAPES];
  int n_shapes, threads, pairs, block;
} args;

static void
usage (int code)
{
  fprintf (code ? stderr : stdout,
      "usage: bench-gemm-versus-ort LIBONNXRUNTIME.so MODEL_DIR [--shape MxKxN]...\n"
      "           [--threads N] [--pairs K] [--block B] [--variant portable|avx2|avx512]\n"
      "       bench-gemm-versus-ort --list-shapes\n");
  exit (code);
}

static void
parse_args (int argc, char **argv, args *a)
{
  int pos = 0;
  memset (a, 0, sizeof *a);
  a->threads = 1;
  a->pairs = 8;
  a->block = 5;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const int more = i + 1 < argc;
    if (strcmp (s, "--help") == 0)
      usage (0);
    else if (strcmp (s, "--list-shapes") == 0) {
      for (size_t k = 0; k < sizeof default_shapes / sizeof default_shapes[0]; k++)
        printf ("%dx%dx%d\n", default_shapes[k].M, default_shapes[k].K, default_shapes[k].N);
      exit (0);
    } else if (strcmp (s, "--shape") == 0 && more && a->n_shapes < MAX_SHAPES) {
      shape *sh = &a->shapes[a->n_shapes++];
      if (sscanf (argv[++i], "%dx%dx%d", &sh->M, &sh->K, &sh->N) != 3
          || sh->M < 1 || sh->K < 1 || sh->N < 1)
        usage (2);
    } else if (strcmp (s, "--threads") == 0 && more)
      a->threads = count_arg (argv[++i], 1, usage);
    else if (strcmp (s, "--pairs") == 0 && more)
      a->pairs = count_arg (argv[++i], 1, usage);
    else if (strcmp (s, "--block") == 0 && more)
      a->block = count_arg (argv[++i], 1, usage);
    else if (strcmp (s, "--variant") == 0 && more)
      a->variant = argv[++i];
    else if (s[0] == '-')
      usage (2);
    else if (pos == 0)
      a->lib = argv[i], pos++;
    else if (pos == 1)
      a->dir = argv[i], pos++;
    else
      usage (2);
  }
  if (pos != 2)
    usage (2);
  if (!a->n_shapes) {
    a->n_shapes = (int) (sizeof default_shapes / sizeof default_shapes[0]);
    memcpy (a->shapes, default_shapes, sizeof default_shapes);
  }
}

/* ---- ONNX Runtime's side, in a child process ---- */

typedef struct {
  int op;          /* REQ_* */
  shape s;
  int reps, block;
} request;

enum { REQ_QUIT, REQ_OPEN, REQ_BLOCK, REQ_CALL_COST };

static void
must_io (ssize_t got, size_t want)
{
  if (got != (ssize_t) want) {
    fprintf (stderr, "bench-gemm-versus-ort: lost the ONNX Runtime process\n");
    exit (1);
  }
}

static ort_runner *
open_model (const args *a, const shape *s)
{
  char path[4096];
  ort_runner_params op = { 0 };

  snprintf (path, sizeof path, "%s/matmul_%dx%dx%d.onnx", a->dir, s->M, s->K, s->N);
  op.model = path;
  op.input = "x";
  op.shape[0] = s->M;
  op.shape[1] = s->K;
  op.rank = 2;
  op.threads = a->threads;
  return ort_runner_new (&op);
}

/* ms per call: the median of `block` samples of `reps` calls of run (ctx),
 * after WARM_MS of untimed calls (see the top) */
static double
time_block (void (*run) (void *), void *ctx, int reps, int block, double *samples)
{
  const double warm_end = now_ms () + WARM_MS;

  do
    run (ctx);
  while (now_ms () < warm_end);
  for (int k = 0; k < block; k++) {
    const double t0 = now_ms ();
    for (int r = 0; r < reps; r++)
      run (ctx);
    samples[k] = (now_ms () - t0) / reps;
  }
  qsort (samples, (size_t) block, sizeof *samples, cmp_double);
  return quantile (samples, block, 0.5);
}

static void
ort_run (void *r)
{
  ort_runner_run (r);
}

/* The child: opens ONNX Runtime and answers requests until REQ_QUIT. */
static void
ort_child (const args *a, int in, int out)
{
  ort_runner *r = NULL;
  request q;
  double samples[1024];

  ort_open ("bench-gemm-versus-ort", a->lib);
  while (read (in, &q, sizeof q) == (ssize_t) sizeof q && q.op != REQ_QUIT) {
    double reply = 0;
    if (q.op == REQ_OPEN || q.op == REQ_CALL_COST) {
      ort_runner_free (r);
      r = open_model (a, &q.s);
      for (int i = 0; i < 3; i++)
        ort_runner_run (r);
    }
    if (q.op == REQ_BLOCK || q.op == REQ_CALL_COST)
      reply = time_block (ort_run, r, q.reps, q.block < 1024 ? q.block : 1024, samples);
    must_io (write (out, &reply, sizeof reply), sizeof reply);
  }
  ort_runner_free (r);
  _exit (0);
}

typedef struct {
  pid_t pid;
  int to, from;
} ort_side;

static void
ort_start (const args *a, ort_side *o)
{
  int down[2], up[2];

  if (pipe (down) || pipe (up)) {
    perror ("bench-gemm-versus-ort: pipe");
    exit (1);
  }
  fflush (stdout);
  o->pid = fork ();
  if (o->pid < 0) {
    perror ("bench-gemm-versus-ort: fork");
    exit (1);
  }
  if (o->pid == 0) {
    close (down[1]);
    close (up[0]);
    ort_child (a, down[0], up[1]);
  }
  close (down[0]);
  close (up[1]);
  o->to = down[1];
  o->from = up[0];
}

static double
ort_ask (ort_side *o, int op, const shape *s, int reps, int block)
{
  request q = { op, *s, reps, block };
  double reply;

  must_io (write (o->to, &q, sizeof q), sizeof q);
  must_io (read (o->from, &reply, sizeof reply), sizeof reply);
  return reply;
}

static void
ort_stop (ort_side *o)
{
  request q = { REQ_QUIT, { 0, 0, 0 }, 0, 0 };

  must_io (write (o->to, &q, sizeof q), sizeof q);
  waitpid (o->pid, NULL, 0);
}

/* ---- the engine's side ---- */

typedef struct {
  mc_threadpool *pool;
  const float *A, *bias;
  float *C;
  mc_packed_b pb;
  const shape *s;
} engine_side;

static void
engine_run (void *p)
{
  engine_side *e = p;
  mc_gemm (e->pool, e->s->M, e->A, e->s->K, &e->pb, e->bias, MC_ACT_NONE, NULL, 0, e->C,
      e->s->N);
}

static void
compare (const args *a, mc_threadpool *pool, ort_side *o, const shape *s)
{
  const size_t mk = (size_t) s->M * s->K, nk = (size_t) s->N * s->K;
  float *A = malloc (mk * sizeof *A), *W = malloc (nk * sizeof *W);
  float *bias = malloc ((size_t) s->N * sizeof *bias);
  float *C = malloc ((size_t) s->M * s->N * sizeof *C);
  double *te = calloc ((size_t) a->pairs, sizeof *te), *to = calloc ((size_t) a->pairs, sizeof *to);
  double *ratio = calloc ((size_t) a->pairs, sizeof *ratio);
  double *samples = calloc ((size_t) a->block, sizeof *samples);
  const double gflop = 2.0 * s->M * s->K * s->N / 1e6;   /* per ms */
  engine_side e = { pool, A, bias, C, { 0 }, s };
  int reps, faster = 0;
  double t0, once;

  if (!A || !W || !bias || !C || !te || !to || !ratio || !samples) {
    fprintf (stderr, "bench-gemm-versus-ort: out of memory\n");
    exit (1);
  }
  ort_fill_image (A, mk);
  for (size_t i = 0; i < nk; i++)
    W[i] = (float) ((int) ((i * 40503u) >> 8 & 255) - 128) / 512.0f;
  for (int i = 0; i < s->N; i++)
    bias[i] = 0.01f * (float) (i % 97);
  if (mc_pack_b_from_nk (&e.pb, W, s->N, s->K, NULL) != 0) {
    fprintf (stderr, "bench-gemm-versus-ort: packing %dx%d failed\n", s->K, s->N);
    exit (1);
  }
  ort_ask (o, REQ_OPEN, s, 0, 0);

  for (int w = 0; w < 3; w++)
    engine_run (&e);
  t0 = now_ms ();
  engine_run (&e);
  once = now_ms () - t0;
  reps = once > 2.0 ? 1 : (int) (2.0 / (once > 1e-3 ? once : 1e-3)) + 1;
  if (reps > 1000)
    reps = 1000;
  for (int i = 0; i < a->pairs; i++) {
    for (int side = 0; side < 2; side++) {
      if ((side == 0) == (i % 2 == 0))
        te[i] = time_block (engine_run, &e, reps, a->block, samples);
      else
        to[i] = ort_ask (o, REQ_BLOCK, s, reps, a->block);
    }
    ratio[i] = te[i] / to[i];
    faster += te[i] < to[i];
  }
  qsort (te, (size_t) a->pairs, sizeof *te, cmp_double);
  qsort (to, (size_t) a->pairs, sizeof *to, cmp_double);
  qsort (ratio, (size_t) a->pairs, sizeof *ratio, cmp_double);
  printf ("{\"M\": %d, \"K\": %d, \"N\": %d, \"threads\": %d, \"kernel\": \"%s\", \"calls_per_sample\": %d, "
      "\"engine_ms\": %.4f, \"onnxruntime_ms\": %.4f, \"engine_gflops\": %.1f, \"onnxruntime_gflops\": %.1f, "
      "\"engine_over_onnxruntime\": %.3f, \"ratio_q1\": %.3f, \"ratio_q3\": %.3f, \"engine_faster_pairs\": %d, "
      "\"pairs\": %d}\n",
      s->M, s->K, s->N, a->threads, mc_gemm_kernel_name (MC_GEMM_F32), reps,
      quantile (te, a->pairs, 0.5), quantile (to, a->pairs, 0.5),
      gflop / quantile (te, a->pairs, 0.5), gflop / quantile (to, a->pairs, 0.5),
      quantile (ratio, a->pairs, 0.5), quantile (ratio, a->pairs, 0.25),
      quantile (ratio, a->pairs, 0.75), faster, a->pairs);
  fflush (stdout);

  mc_packed_b_free (&e.pb);
  free (A);
  free (W);
  free (bias);
  free (C);
  free (te);
  free (to);
  free (ratio);
  free (samples);
}

int
main (int argc, char **argv)
{
  static const shape tiny = { 1, 16, 16 };
  args a;
  ort_side o;
  mc_threadpool *pool;

  parse_args (argc, argv, &a);
  if (a.variant) {
    mc_gemm_variant v = strcmp (a.variant, "portable") == 0 ? MC_GEMM_PORTABLE
        : strcmp (a.variant, "avx2") == 0 ? MC_GEMM_AVX2
        : strcmp (a.variant, "avx512") == 0 ? MC_GEMM_AVX512 : MC_GEMM_AUTO;
    if (v == MC_GEMM_AUTO)
      usage (2);
    if (!mc_gemm_variant_supported (v)) {
      printf ("# variant %s: skipped, this CPU cannot run it\n", a.variant);
      return 0;
    }
    mc_gemm_set_variant (v);
  }
  ort_start (&a, &o);   /* before the pool: the child inherits no threads */
  pool = a.threads > 1 ? mc_threadpool_new (a.threads) : NULL;
  for (int i = 0; i < a.n_shapes; i++)
    compare (&a, pool, &o, &a.shapes[i]);
  /* ONNX Runtime's cost per call, on a product too small to matter */
  printf ("{\"onnxruntime_call_ms\": %.4f, \"shape\": \"1x16x16\", \"threads\": %d}\n",
      ort_ask (&o, REQ_CALL_COST, &tiny, 200, 21), a.threads);
  ort_stop (&o);
  if (pool)
    mc_threadpool_free (pool);
  return 0;
}
