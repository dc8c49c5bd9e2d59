/* bench_versus_ort.c — the engine and ONNX Runtime timed in one process,
 * side by side: K pairs of blocks, each pair one block of engine passes and
 * one of ONNX Runtime passes on the same work (which goes first
 * alternates).  On a shared VM whose speed drifts by tens of percent between
 * minutes, two medians taken one after the other compare the phases as much
 * as the engines; within a pair (about a second) the drift is small, so the
 * median of the pairs' ratios is the figure to read.
 *
 *   bench-versus-ort LIBONNXRUNTIME.so ENGINE_MODEL MODEL.onnx [--config NAME]
 *       [--text] [--threads N] [--pairs K] [--block B] [--warmup W]
 *       [--precision auto|fp32|bf16|int8]
 *
 * Images: one 256×256 image (the config's size) of the values `mobileclip
 * bench` feeds, NHWC into the engine, NCHW as the graph's "image" input.
 * Text (--text): one 77-token prompt, the graph's int64 "tokens" input.
 * Both sides get N threads.  A block is WARM_MS of untimed passes (at least
 * one) and B timed ones (default 5), and stands for their median.  The
 * untimed part covers the ~45 ms that ONNX Runtime's workers keep polling
 * for work after its last pass (a core's worth of CPU time, measured), which
 * would otherwise take a core from the engine's first passes (the engine's
 * workers poll for 60 µs).  Blocks, not single passes:
 * each model evicts the other's weights from the caches, so passes that
 * alternate one by one ran both sides 25-60 % slower than they run alone
 * (MCi0 on the Zen 3 VM), which is not how either runs on a video; and a
 * pause between passes instead leaves each pass to start cold.  Prints one
 * JSON line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mobileclip.h"
#include "bench_args.h"
#include "bench_timing.h"
#include "ort_runner.h"

#define WARM_MS 60

typedef struct {
  const char *lib, *engine_model, *onnx, *config, *precision;
  int text, threads, pairs, block, warmup;
} args;

static void
usage (int code)
{
  fprintf (code ? stderr : stdout,
      "usage: bench-versus-ort LIBONNXRUNTIME.so ENGINE_MODEL MODEL.onnx [--config NAME]\n"
      "           [--text] [--threads N] [--pairs K] [--block B] [--warmup W]\n"
      "           [--precision auto|fp32|bf16|int8]\n");
  exit (code);
}

static void
parse_args (int argc, char **argv, args *a)
{
  int pos = 0;
  memset (a, 0, sizeof *a);
  a->threads = 1;
  a->pairs = 10;
  a->block = 5;
  a->warmup = 3;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const int more = i + 1 < argc;
    if (strcmp (s, "--help") == 0)
      usage (0);
    else if (strcmp (s, "--config") == 0 && more)
      a->config = argv[++i];
    else if (strcmp (s, "--precision") == 0 && more)
      a->precision = argv[++i];
    else if (strcmp (s, "--text") == 0)
      a->text = 1;
    else if (strcmp (s, "--threads") == 0 && more)
      a->threads = count_arg (argv[++i], 1, usage);
    else if (strcmp (s, "--pairs") == 0 && more)
      a->pairs = count_arg (argv[++i], 1, usage);
    else if (strcmp (s, "--warmup") == 0 && more)
      a->warmup = count_arg (argv[++i], 0, usage);
    else if (strcmp (s, "--block") == 0 && more)
      a->block = count_arg (argv[++i], 1, usage);
    else if (s[0] == '-')
      usage (2);
    else if (pos == 0)
      a->lib = argv[i], pos++;
    else if (pos == 1)
      a->engine_model = argv[i], pos++;
    else if (pos == 2)
      a->onnx = argv[i], pos++;
    else
      usage (2);
  }
  if (pos != 3)
    usage (2);
}

typedef struct {
  mc_context *ctx;
  float *pixels, *out;
  int32_t *tokens;
  int size;
} engine_side;

static void
engine_run (engine_side *e)
{
  mc_error err;
  mc_status st = e->tokens ? mc_encode_texts (e->ctx, e->tokens, 1, e->out, &err)
      : mc_encode_images (e->ctx, e->pixels, MC_LAYOUT_NHWC, 1, e->size, e->size, e->out, &err);
  if (st != MC_OK) {
    fprintf (stderr, "bench-versus-ort: engine: %s\n", err.message);
    exit (1);
  }
}

int
main (int argc, char **argv)
{
  args a;
  mc_params params = mc_params_default ();
  mc_error err;
  engine_side e = { 0 };
  ort_runner_params op = { 0 };
  ort_runner *ort;
  const char *version;
  double *te, *to, *ratio, *block;
  int engine_faster = 0;

  parse_args (argc, argv, &a);
  params.n_threads = a.threads;
  params.config = a.config;
  params.towers = a.text ? MC_TOWER_TEXT : MC_TOWER_IMAGE;
  if (a.precision) {
    const int p = mc_precision_from_name (a.precision);
    if (p < 0)
      usage (2);
    params.precision = (mc_precision) p;
  }
  if (mc_context_load (a.engine_model, &params, &e.ctx, &err) != MC_OK) {
    fprintf (stderr, "bench-versus-ort: %s: %s\n", a.engine_model, err.message);
    return 1;
  }
  e.size = mc_image_size (e.ctx);
  e.out = malloc ((size_t) mc_embed_dim (e.ctx) * sizeof (float));
  if (a.text) {
    int64_t t64[MC_CONTEXT_LENGTH];
    e.tokens = malloc (sizeof t64 / 2);
    ort_fill_tokens (t64, MC_CONTEXT_LENGTH, MC_CONTEXT_LENGTH);
    for (int i = 0; e.tokens && i < MC_CONTEXT_LENGTH; i++)
      e.tokens[i] = (int32_t) t64[i];
  } else {
    const size_t n = (size_t) e.size * e.size * 3;
    e.pixels = malloc (n * sizeof (float));
    /* the values ONNX Runtime gets, in the engine's layout */
    if (e.pixels)
      ort_fill_image (e.pixels, n);
  }
  te = calloc ((size_t) a.pairs, sizeof *te);
  to = calloc ((size_t) a.pairs, sizeof *to);
  ratio = calloc ((size_t) a.pairs, sizeof *ratio);
  block = calloc ((size_t) a.block, sizeof *block);
  if (!e.out || (!e.tokens && !e.pixels) || !te || !to || !ratio || !block) {
    fprintf (stderr, "bench-versus-ort: out of memory\n");
    return 1;
  }

  version = ort_open ("bench-versus-ort", a.lib);
  op.model = a.onnx;
  op.input = a.text ? "tokens" : "image";
  op.int64_input = a.text;
  op.threads = a.threads;
  if (a.text) {
    op.rank = 2;
    op.shape[0] = 1;
    op.shape[1] = MC_CONTEXT_LENGTH;
  } else {
    op.rank = 4;
    op.shape[0] = 1;
    op.shape[1] = 3;
    op.shape[2] = op.shape[3] = e.size;
  }
  ort = ort_runner_new (&op);

  for (int i = 0; i < a.warmup; i++) {
    engine_run (&e);
    ort_runner_run (ort);
  }
  for (int i = 0; i < a.pairs; i++) {
    for (int side = 0; side < 2; side++) {
      const int engine_turn = (side == 0) == (i % 2 == 0);
      const double warm_end = now_ms () + WARM_MS;
      do {   /* untimed */
        if (engine_turn)
          engine_run (&e);
        else
          ort_runner_run (ort);
      } while (now_ms () < warm_end);
      for (int k = 0; k < a.block; k++) {
        const double t0 = now_ms ();
        if (engine_turn)
          engine_run (&e);
        else
          ort_runner_run (ort);
        block[k] = now_ms () - t0;
      }
      qsort (block, (size_t) a.block, sizeof *block, cmp_double);
      (engine_turn ? te : to)[i] = quantile (block, a.block, 0.5);
    }
    ratio[i] = te[i] / to[i];
    engine_faster += te[i] < to[i];
  }
  qsort (te, (size_t) a.pairs, sizeof *te, cmp_double);
  qsort (to, (size_t) a.pairs, sizeof *to, cmp_double);
  qsort (ratio, (size_t) a.pairs, sizeof *ratio, cmp_double);

  printf ("{\"case\": \"%s\", \"engine_model\": \"%s\", \"onnx\": \"%s\", \"onnxruntime\": \"%s\", "
      "\"precision\": \"%s\", \"threads\": %d, \"pairs\": %d, \"block\": %d, "
      "\"engine_median_ms\": %.3f, \"onnxruntime_median_ms\": %.3f, "
      "\"engine_over_onnxruntime\": %.3f, \"ratio_q1\": %.3f, \"ratio_q3\": %.3f, "
      "\"engine_faster_pairs\": %d}\n",
      a.text ? "text" : mc_model_name (e.ctx), a.engine_model, a.onnx, version,
      mc_precision_name (mc_context_precision (e.ctx)), a.threads, a.pairs, a.block,
      quantile (te, a.pairs, 0.5), quantile (to, a.pairs, 0.5), quantile (ratio, a.pairs, 0.5),
      quantile (ratio, a.pairs, 0.25), quantile (ratio, a.pairs, 0.75), engine_faster);

  ort_runner_free (ort);
  mc_context_free (e.ctx);
  free (e.pixels);
  free (e.tokens);
  free (e.out);
  free (te);
  free (to);
  free (ratio);
  free (block);
  return 0;
}
