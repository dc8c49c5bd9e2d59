/* ort_bench.c — the same-run ONNX Runtime baseline: one ONNX model (exported
 * by torch_baseline.py) timed in ONNX Runtime's CPU provider the way
 * `mobileclip bench` times our engine: warm-up passes, then the median, min
 * and max of K passes, for each thread count.  One session per thread
 * count: an intra-op pool of N threads (the calling thread is one of them),
 * one inter-op thread, sequential execution, every graph optimization.
 * Prints one JSON line per thread count.
 *
 *   ort-bench LIBONNXRUNTIME.so MODEL.onnx --input NAME --shape 1,3,256,256
 *       [--int64] [--name NAME] [--threads 1 2] [--iterations 30] [--warmup 3]
 *       [--save-optimized PATH] [--profile PREFIX]
 *
 * --profile turns on ONNX Runtime's own profiler for the first thread
 * count's session: it writes PREFIX_<date>.json, a Chrome trace with one
 * event per node and pass (warm-up included), when the session is released;
 * benchmarks/ort-profile.py sums it by node kind.  Profiling costs time, so
 * the figures printed alongside are not baselines.
 *
 * The session and its input come from ort_runner.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_args.h"
#include "bench_timing.h"
#include "ort_runner.h"

typedef struct {
  const char *lib, *model, *input, *name, *save_optimized, *profile;
  int64_t shape[8];
  int rank, int64_input;
  int threads[16], n_threads;
  int iterations, warmup;
} args;

static void
usage (int code)
{
  fprintf (code ? stderr : stdout,
      "usage: ort-bench LIBONNXRUNTIME.so MODEL.onnx --input NAME --shape D0,D1,...\n"
      "           [--int64] [--name NAME] [--threads N...] [--iterations K]\n"
      "           [--warmup W] [--save-optimized PATH] [--profile PREFIX]\n");
  exit (code);
}

static void
parse_args (int argc, char **argv, args *a)
{
  memset (a, 0, sizeof *a);
  a->iterations = 30;
  a->warmup = 3;
  a->threads[0] = 1;
  a->threads[1] = 2;
  a->n_threads = 2;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const int more = i + 1 < argc;
    if (strcmp (s, "--help") == 0) {
      usage (0);
    } else if (strcmp (s, "--input") == 0 && more) {
      a->input = argv[++i];
    } else if (strcmp (s, "--name") == 0 && more) {
      a->name = argv[++i];
    } else if (strcmp (s, "--save-optimized") == 0 && more) {
      a->save_optimized = argv[++i];
    } else if (strcmp (s, "--profile") == 0 && more) {
      a->profile = argv[++i];
    } else if (strcmp (s, "--int64") == 0) {
      a->int64_input = 1;
    } else if (strcmp (s, "--iterations") == 0 && more) {
      a->iterations = count_arg (argv[++i], 1, usage);
    } else if (strcmp (s, "--warmup") == 0 && more) {
      a->warmup = count_arg (argv[++i], 0, usage);
    } else if (strcmp (s, "--shape") == 0 && more) {
      char *p = argv[++i], *end;
      a->rank = 0;
      while (*p && a->rank < 8) {
        long d = strtol (p, &end, 10);
        if (end == p || d < 1)
          usage (2);
        a->shape[a->rank++] = d;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
          usage (2);
      }
    } else if (strcmp (s, "--threads") == 0 && more) {
      a->n_threads = 0;
      while (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9'
          && a->n_threads < 16)
        a->threads[a->n_threads++] = count_arg (argv[++i], 1, usage);
      if (!a->n_threads)
        usage (2);
    } else if (s[0] == '-') {
      usage (2);
    } else if (!a->lib) {
      a->lib = s;
    } else if (!a->model) {
      a->model = s;
    } else {
      usage (2);
    }
  }
  if (!a->lib || !a->model || !a->input || a->rank == 0)
    usage (2);
}

static void
time_one (const args *a, int threads, const char *save_optimized,
    const char *profile, const char *version)
{
  ort_runner_params p = { 0 };
  ort_runner *r;
  double *times = calloc ((size_t) a->iterations, sizeof *times);

  if (!times) {
    fprintf (stderr, "ort-bench: out of memory\n");
    exit (1);
  }
  p.model = a->model;
  p.input = a->input;
  memcpy (p.shape, a->shape, sizeof p.shape);
  p.rank = a->rank;
  p.int64_input = a->int64_input;
  p.threads = threads;
  p.save_optimized = save_optimized;
  p.profile = profile;
  r = ort_runner_new (&p);

  for (int i = -a->warmup; i < a->iterations; i++) {
    const double t0 = now_ms ();
    ort_runner_run (r);
    if (i >= 0)
      times[i] = now_ms () - t0;
  }
  const double med = median (times, a->iterations);

  printf ("{\"engine\": \"onnxruntime %s\", \"model\": \"%s\", \"threads\": %d, \"batch\": %lld, ",
      version, a->name ? a->name : a->model, threads, (long long) a->shape[0]);
  if (!a->int64_input && a->rank == 4)
    printf ("\"size\": %lld, ", (long long) a->shape[3]);
  printf ("\"iterations\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f}\n",
      a->iterations, med, times[0], times[a->iterations - 1]);
  fflush (stdout);
  ort_runner_free (r);
  free (times);
}

int
main (int argc, char **argv)
{
  args a;
  const char *version;

  parse_args (argc, argv, &a);
  version = ort_open ("ort-bench", a.lib);
  for (int t = 0; t < a.n_threads; t++)
    time_one (&a, a.threads[t], t == 0 ? a.save_optimized : NULL,
        t == 0 ? a.profile : NULL, version);
  return 0;
}
