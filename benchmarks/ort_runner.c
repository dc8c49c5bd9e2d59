/* ort_runner.c — see ort_runner.h.
 *
 * The C API table (struct OrtApi) is used as an array of function pointers,
 * by position.  ONNX Runtime only ever appends to that table (its ABI
 * promise), so these positions hold for every release since 1.0.
 */
#include "ort_runner.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

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

/* the entries used, by position in the table */
enum {
  API_GET_ERROR_MESSAGE = 2,
  API_CREATE_ENV = 3,
  API_CREATE_SESSION = 7,
  API_RUN = 9,
  API_CREATE_SESSION_OPTIONS = 10,
  API_SET_OPTIMIZED_MODEL_FILE_PATH = 11,
  API_SET_SESSION_EXECUTION_MODE = 13,
  API_ENABLE_PROFILING = 14,
  API_SET_GRAPH_OPTIMIZATION_LEVEL = 23,
  API_SET_INTRA_OP_NUM_THREADS = 24,
  API_SET_INTER_OP_NUM_THREADS = 25,
  API_CREATE_TENSOR_WITH_DATA = 49,
  API_CREATE_CPU_MEMORY_INFO = 69,
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

#define CALL(idx, type, ...) (((type) api[idx]) (__VA_ARGS__))

static const api_fn *api;
static OrtEnv *env;
static const char *prog_name = "ort";

struct ort_runner {
  OrtSessionOptions *opt;
  OrtSession *session;
  OrtMemoryInfo *mem;
  OrtValue *input;
  const char *input_name;
  void *data;
};

static void
check (OrtStatus *st, const char *what)
{
  if (!st)
    return;
  fprintf (stderr, "%s: %s: %s\n", prog_name, what,
      CALL (API_GET_ERROR_MESSAGE, const char *(*) (const OrtStatus *), st));
  CALL (API_RELEASE_STATUS, void (*) (OrtStatus *), st);
  exit (1);
}

static void
fail (const char *what, const char *detail)
{
  fprintf (stderr, "%s: %s%s\n", prog_name, what, detail);
  exit (1);
}

const char *
ort_open (const char *prog, const char *lib_path)
{
  const ort_api_base *(*get_api_base) (void);
  const ort_api_base *base;
  void *lib;

  prog_name = prog;
  lib = dlopen (lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    fail ("", dlerror ());
  *(void **) &get_api_base = dlsym (lib, "OrtGetApiBase");
  if (!get_api_base)
    fail (lib_path, " has no OrtGetApiBase: not ONNX Runtime");
  base = get_api_base ();
  api = base->get_api (API_VERSION);
  if (!api)
    fail (lib_path, " does not offer C API version 1");
  check (CALL (API_CREATE_ENV, OrtStatus *(*) (int, const char *, OrtEnv **),
          ORT_LOGGING_LEVEL_ERROR, prog, &env), "environment");
  /* the environment lives as long as the process */
  return base->get_version_string ();
}

void
ort_fill_image (float *f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    f[i] = (float) (((uint32_t) i * 2654435761u) >> 24) / 255.0f;
}

void
ort_fill_tokens (int64_t *t, size_t n, size_t len)
{
  for (size_t b = 0; b < n / len; b++) {
    int64_t *row = t + b * len;
    for (size_t i = 0; i < len; i++)
      row[i] = 0;
    row[0] = 49406;
    for (size_t i = 1; i < 12 && i < len; i++)
      row[i] = 320 + 37 * (int64_t) b + (int64_t) i;
    if (len > 12)
      row[12] = 49407;
  }
}

ort_runner *
ort_runner_new (const ort_runner_params *p)
{
  ort_runner *r = calloc (1, sizeof *r);
  size_t n = 1, bytes;

  for (int i = 0; i < p->rank; i++)
    n *= (size_t) p->shape[i];
  bytes = n * (p->int64_input ? sizeof (int64_t) : sizeof (float));
  if (!r || !(r->data = malloc (bytes)))
    fail ("out of memory", "");
  if (p->int64_input)
    ort_fill_tokens (r->data, n, (size_t) p->shape[p->rank - 1]);
  else
    ort_fill_image (r->data, n);
  r->input_name = p->input;

  check (CALL (API_CREATE_SESSION_OPTIONS, OrtStatus *(*) (OrtSessionOptions **), &r->opt),
      "session options");
  check (CALL (API_SET_INTRA_OP_NUM_THREADS, OrtStatus *(*) (OrtSessionOptions *, int), r->opt,
          p->threads), "intra-op threads");
  check (CALL (API_SET_INTER_OP_NUM_THREADS, OrtStatus *(*) (OrtSessionOptions *, int), r->opt,
          1), "inter-op threads");
  check (CALL (API_SET_SESSION_EXECUTION_MODE, OrtStatus *(*) (OrtSessionOptions *, int), r->opt,
          ORT_SEQUENTIAL), "execution mode");
  check (CALL (API_SET_GRAPH_OPTIMIZATION_LEVEL, OrtStatus *(*) (OrtSessionOptions *, int),
          r->opt, ORT_ENABLE_ALL), "graph optimization level");
  if (p->save_optimized)
    check (CALL (API_SET_OPTIMIZED_MODEL_FILE_PATH,
            OrtStatus *(*) (OrtSessionOptions *, const char *), r->opt, p->save_optimized),
        "optimized model path");
  if (p->profile)
    check (CALL (API_ENABLE_PROFILING, OrtStatus *(*) (OrtSessionOptions *, const char *),
            r->opt, p->profile), "profiling");
  check (CALL (API_CREATE_SESSION,
          OrtStatus *(*) (const OrtEnv *, const char *, const OrtSessionOptions *, OrtSession **),
          env, p->model, r->opt, &r->session), p->model);
  check (CALL (API_CREATE_CPU_MEMORY_INFO, OrtStatus *(*) (int, int, OrtMemoryInfo **),
          ORT_DEVICE_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, &r->mem), "memory info");
  check (CALL (API_CREATE_TENSOR_WITH_DATA,
          OrtStatus *(*) (const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int,
              OrtValue **),
          r->mem, r->data, bytes, p->shape, (size_t) p->rank,
          p->int64_input ? ORT_INT64 : ORT_FLOAT, &r->input), "input tensor");
  return r;
}

void
ort_runner_run (ort_runner *r)
{
  static const char *const output_name = "embedding";
  OrtValue *out = NULL;
  const OrtValue *inputs[1] = { r->input };

  check (CALL (API_RUN,
          OrtStatus *(*) (OrtSession *, const void *, const char *const *,
              const OrtValue *const *, size_t, const char *const *, size_t, OrtValue **),
          r->session, NULL, &r->input_name, inputs, 1, &output_name, 1, &out), "run");
  CALL (API_RELEASE_VALUE, void (*) (OrtValue *), out);
}

void
ort_runner_free (ort_runner *r)
{
  if (!r)
    return;
  CALL (API_RELEASE_VALUE, void (*) (OrtValue *), r->input);
  CALL (API_RELEASE_MEMORY_INFO, void (*) (OrtMemoryInfo *), r->mem);
  CALL (API_RELEASE_SESSION, void (*) (OrtSession *), r->session);
  CALL (API_RELEASE_SESSION_OPTIONS, void (*) (OrtSessionOptions *), r->opt);
  free (r->data);
  free (r);
}
