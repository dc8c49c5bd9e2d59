/* ort_runner.h — one ONNX Runtime session ready to run one input, for the
 * benchmarks that time ONNX Runtime (ort-bench, versus-ort).
 *
 * ONNX Runtime is not packaged for Debian; benchmarks/ort-baseline.sh takes
 * the library from the npm registry's onnxruntime-node and the tools get its
 * path.  It is opened with dlopen, so nothing links against it and the build
 * needs no ONNX Runtime header (ort_runner.c declares the few C API entries
 * it uses).  These are benchmark tools: any ONNX Runtime error ends the
 * process with a message naming `prog`.
 */
#ifndef MC_BENCH_ORT_RUNNER_H
#define MC_BENCH_ORT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *model;           /* the .onnx file */
  const char *input;           /* its input's name */
  int64_t shape[8];
  int rank;
  int int64_input;             /* token ids (int64) instead of floats */
  int threads;                 /* intra-op pool, the calling thread included */
  const char *save_optimized;  /* or NULL: write the graph after ONNX Runtime's passes */
  const char *profile;         /* or NULL: ONNX Runtime's profiler, PREFIX_<date>.json */
} ort_runner_params;

typedef struct ort_runner ort_runner;

/* Opens the library (once per process); returns its version string. */
const char *ort_open (const char *prog, const char *lib_path);

/* A session as the benchmarks run it: p->threads intra-op threads, one
 * inter-op thread, sequential execution, every graph optimization; and an
 * input of the values `mobileclip bench` feeds (ort_fill_input). */
ort_runner *ort_runner_new (const ort_runner_params *p);
void ort_runner_run (ort_runner *r);
/* Frees the session (ONNX Runtime writes the profile then). */
void ort_runner_free (ort_runner *r);

/* The inputs `mobileclip bench` feeds: images of hashed values in [0, 1]
 * (f[i] for i < n), or n / len prompts of SOT, 11 word ids, EOT and padding.
 * Values do not change the work, but the same ones rule out a data-dependent
 * shortcut. */
void ort_fill_image (float *f, size_t n);
void ort_fill_tokens (int64_t *t, size_t n, size_t len);

#endif
