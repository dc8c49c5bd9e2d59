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
 *       [--save-optimized PATH]
 *
 * ONNX Runtime is not packaged for Debian; benchmarks/ort-baseline.sh takes
 * the library from the npm registry's onnxruntime-node and passes its path.
 * It is opened with dlopen, so nothing here links against it, and the
 * build needs no ONNX Runtime header: the few entries of its C API table
 * used here are declared below at their positions in the table.  ONNX
 * Runtime only ever appends to that table (its ABI promise), so these
 * positions hold for every release since 1.0.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtValue OrtValue;

enum {
  ORT_LOGGING_LEVEL_ERROR = 3,
  ORT_ENABLE_ALL = 99,          /* GraphOptimizationLevel */
  ORT_SEQUENTIAL = 0,           /* ExecutionMode */
  ORT_DEVICE_ALLOCATOR = 0,     /* OrtAllocatorType */
  ORT_MEM_TYPE_DEFAULT = 0,     /* OrtMemType */
  ORT_FLOAT = 1,                /* ONNXTensorElementDataType */
  ORT_INT64 = 7,
};

/* The C API table (struct OrtApi) as an array of function pointers; the
 * entries used, by position. */
enum {
  API_GET_ERROR_MESSAGE = 2,
  API_CREATE_ENV = 3,
  API_CREATE_SESSION = 7,
  API_RUN = 9,
  API_CREATE_SESSION_OPTIONS = 10,
  API_SET_OPTIMIZED_MODEL_FILE_PATH = 11,
  API_SET_SESSION_EXECUTION_MODE = 13,
  API_SET_GRAPH_OPTIMIZATION_LEVEL = 23,
  API_SET_INTRA_OP_NUM_THREADS = 24,
  API_SET_INTER_OP_NUM_THREADS = 25,
  API_CREATE_TENSOR_WITH_DATA = 49,
  API_CREATE_CPU_MEMORY_INFO = 69,
  API_RELEASE_ENV = 92,
  API_RELEASE_STATUS = 93,
  API_RELEASE_MEMORY_INFO = 94,
  API_RELEASE_SESSION = 95,
  API_RELEASE_VALUE = 96,
  API_RELEASE_SESSION_OPTIONS = 100,
};

typedef void (*api_fn) (void);

typedef struct {
  const void *(*get_api) (uint32_t version);
  const char *(*get_version_string) (void);
} ort_api_base;

/* The oldest API version that has every entry above (1.0 had them all);
 * asking for it works with any later library. */
#define API_VERSION 1

static const api_fn *api;

#define CALL(idx, type, ...) (((type) api[idx]) (__VA_ARGS__))


static void
check (OrtStatus *st, const char *what)
{
  if (!st)
    return;
  fprintf (stderr, "ort-bench: %s: %s\n", what,
      CALL (API_GET_ERROR_MESSAGE, const char *(*) (const OrtStatus *), st));
  CALL (API_RELEASE_STATUS, void (*) (OrtStatus *), st);
  exit (1);
}

typedef struct {
  const char *lib, *model, *input, *name, *save_optimized;
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
      "           [--warmup W] [--save-optimized PATH]\n");
  exit (code);
}

static int
count_arg (const char *s, int min)
{
  char *end;
  long v = strtol (s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > 1000000)
    usage (2);
  return (int) v;
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
    } else if (strcmp (s, "--int64") == 0) {
      a->int64_input = 1;
    } else if (strcmp (s, "--iterations") == 0 && more) {
      a->iterations = count_arg (argv[++i], 1);
    } else if (strcmp (s, "--warmup") == 0 && more) {
      a->warmup = count_arg (argv[++i], 0);
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
        a->threads[a->n_threads++] = count_arg (argv[++i], 1);
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

/* Inputs like those `mobileclip bench` feeds: an image of hashed values in
 * [0, 1], or prompts of SOT, 11 word ids, EOT and padding.  Values do not
 * change the work, but the same ones rule out a data-dependent shortcut. */
static void *
make_input (const args *a, size_t n, size_t *bytes)
{
  if (!a->int64_input) {
    float *f = malloc (n * sizeof *f);
    for (size_t i = 0; f && i < n; i++)
      f[i] = (float) (((uint32_t) i * 2654435761u) >> 24) / 255.0f;
    *bytes = n * sizeof *f;
    return f;
  } else {
    const size_t len = (size_t) a->shape[a->rank - 1];
    int64_t *t = calloc (n, sizeof *t);
    for (size_t b = 0; t && b < n / len; b++) {
      int64_t *row = t + b * len;
      row[0] = 49406;
      for (size_t i = 1; i < 12 && i < len; i++)
        row[i] = 320 + 37 * (int64_t) b + (int64_t) i;
      if (len > 12)
        row[12] = 49407;
    }
    *bytes = n * sizeof *t;
    return t;
  }
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double (const void *x, const void *y)
{
  const double a = *(const double *) x, b = *(const double *) y;
  return a < b ? -1 : a > b;
}

static void
time_one (const args *a, OrtEnv *env, int threads, const char *save_optimized,
    const char *version)
{
  OrtSessionOptions *opt = NULL;
  OrtSession *session = NULL;
  OrtMemoryInfo *mem = NULL;
  OrtValue *input = NULL;
  const char *output_name = "embedding";
  size_t n = 1, bytes = 0;
  double *times = calloc ((size_t) a->iterations, sizeof *times);
  void *data;

  for (int i = 0; i < a->rank; i++)
    n *= (size_t) a->shape[i];
  data = make_input (a, n, &bytes);
  if (!data || !times) {
    fprintf (stderr, "ort-bench: out of memory\n");
    exit (1);
  }

  check (CALL (API_CREATE_SESSION_OPTIONS, OrtStatus *(*) (OrtSessionOptions **), &opt),
      "session options");
  check (CALL (API_SET_INTRA_OP_NUM_THREADS, OrtStatus *(*) (OrtSessionOptions *, int), opt,
          threads), "intra-op threads");
  check (CALL (API_SET_INTER_OP_NUM_THREADS, OrtStatus *(*) (OrtSessionOptions *, int), opt, 1),
      "inter-op threads");
  check (CALL (API_SET_SESSION_EXECUTION_MODE, OrtStatus *(*) (OrtSessionOptions *, int), opt,
          ORT_SEQUENTIAL), "execution mode");
  check (CALL (API_SET_GRAPH_OPTIMIZATION_LEVEL, OrtStatus *(*) (OrtSessionOptions *, int), opt,
          ORT_ENABLE_ALL), "graph optimization level");
  if (save_optimized)
    check (CALL (API_SET_OPTIMIZED_MODEL_FILE_PATH,
            OrtStatus *(*) (OrtSessionOptions *, const char *), opt, save_optimized),
        "optimized model path");
  check (CALL (API_CREATE_SESSION,
          OrtStatus *(*) (const OrtEnv *, const char *, const OrtSessionOptions *, OrtSession **),
          env, a->model, opt, &session), a->model);
  check (CALL (API_CREATE_CPU_MEMORY_INFO, OrtStatus *(*) (int, int, OrtMemoryInfo **),
          ORT_DEVICE_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, &mem), "memory info");
  check (CALL (API_CREATE_TENSOR_WITH_DATA,
          OrtStatus *(*) (const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int,
              OrtValue **),
          mem, data, bytes, a->shape, (size_t) a->rank, a->int64_input ? ORT_INT64 : ORT_FLOAT,
          &input), "input tensor");

  for (int i = -a->warmup; i < a->iterations; i++) {
    OrtValue *out = NULL;
    const OrtValue *inputs[1] = { input };
    const double t0 = now_ms ();
    check (CALL (API_RUN,
            OrtStatus *(*) (OrtSession *, const void *, const char *const *,
                const OrtValue *const *, size_t, const char *const *, size_t, OrtValue **),
            session, NULL, &a->input, inputs, 1, &output_name, 1, &out), "run");
    if (i >= 0)
      times[i] = now_ms () - t0;
    CALL (API_RELEASE_VALUE, void (*) (OrtValue *), out);
  }
  qsort (times, (size_t) a->iterations, sizeof *times, cmp_double);

  printf ("{\"engine\": \"onnxruntime %s\", \"model\": \"%s\", \"threads\": %d, \"batch\": %lld, ",
      version, a->name ? a->name : a->model, threads, (long long) a->shape[0]);
  if (!a->int64_input && a->rank == 4)
    printf ("\"size\": %lld, ", (long long) a->shape[3]);
  printf ("\"iterations\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f}\n",
      a->iterations, a->iterations % 2 ? times[a->iterations / 2]
      : 0.5 * (times[a->iterations / 2 - 1] + times[a->iterations / 2]),
      times[0], times[a->iterations - 1]);
  fflush (stdout);

  CALL (API_RELEASE_VALUE, void (*) (OrtValue *), input);
  CALL (API_RELEASE_MEMORY_INFO, void (*) (OrtMemoryInfo *), mem);
  CALL (API_RELEASE_SESSION, void (*) (OrtSession *), session);
  CALL (API_RELEASE_SESSION_OPTIONS, void (*) (OrtSessionOptions *), opt);
  free (data);
  free (times);
}

int
main (int argc, char **argv)
{
  args a;
  void *lib;
  const ort_api_base *(*get_api_base) (void);
  const ort_api_base *base;
  OrtEnv *env = NULL;

  parse_args (argc, argv, &a);
  lib = dlopen (a.lib, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf (stderr, "ort-bench: %s\n", dlerror ());
    return 1;
  }
  *(void **) &get_api_base = dlsym (lib, "OrtGetApiBase");
  if (!get_api_base) {
    fprintf (stderr, "ort-bench: %s has no OrtGetApiBase: not ONNX Runtime\n", a.lib);
    return 1;
  }
  base = get_api_base ();
  api = base->get_api (API_VERSION);
  if (!api) {
    fprintf (stderr, "ort-bench: %s does not offer C API version %d\n", a.lib, API_VERSION);
    return 1;
  }
  check (CALL (API_CREATE_ENV, OrtStatus *(*) (int, const char *, OrtEnv **),
          ORT_LOGGING_LEVEL_ERROR, "ort-bench", &env), "environment");
  for (int t = 0; t < a.n_threads; t++)
    time_one (&a, env, a.threads[t], t == 0 ? a.save_optimized : NULL,
        base->get_version_string ());
  CALL (API_RELEASE_ENV, void (*) (OrtEnv *), env);
  return 0;
}
