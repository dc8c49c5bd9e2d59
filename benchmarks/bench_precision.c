/* bench_precision.c — fp32 against bf16 or int8 on one model, interleaved.
 *
 *   bench-precision --model MODEL [--config NAME] [--threads N]
 *                   [--iterations K] [--text] [--precision bf16|int8]
 *
 * Loads the model twice (precision fp32 and the reduced one, bf16 unless
 * told) and times forward passes alternately, fp32 then the other, so that
 * load from other processes on a shared machine hits both alike.  Prints
 * one JSON object: the kernels that ran, median and min ms of each, the
 * median of the per-pair time ratios low/fp32, and the smallest cosine
 * between the two paths' embeddings ("low" is the reduced precision).
 * Memory is not measured here (both contexts live in one process): see the
 * rss_after_load_mib of `mobileclip bench --precision ...`.
 */
#include <getopt.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "ops/gemm.h"
#include "bench_timing.h"

static mc_context *
load (const char *model, const char *config, int threads, mc_precision p)
{
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };

  params.config = config;
  params.n_threads = threads;
  params.precision = p;
  if (mc_context_load (model, &params, &ctx, &err) != MC_OK)
    fprintf (stderr, "bench-precision: %s\n", err.message);
  return ctx;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 'j' },
    { "iterations", required_argument, NULL, 'k' },
    { "text", no_argument, NULL, 't' },
    { "precision", required_argument, NULL, 'p' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL;
  int threads = 0, iters = 30, text = 0, opt, d, size = 0;
  mc_precision low = MC_PRECISION_BF16;
  mc_context *ctx[2];
  double *t[2], *ratio, worst_cos = 1.0, med[2], min[2];
  float *out[2], *input = NULL;
  int32_t tokens[2 * MC_CONTEXT_LENGTH] = { 0 };

  while ((opt = getopt_long (argc, argv, "m:c:j:k:tp:", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 'j': threads = atoi (optarg); break;
      case 'k': iters = atoi (optarg); break;
      case 't': text = 1; break;
      case 'p':
        if (!strcmp (optarg, "int8") || !strcmp (optarg, "bf16")) {
          low = (mc_precision) mc_precision_from_name (optarg);
          break;
        }
        /* fall through */
      default:
        fprintf (stderr, "usage: %s --model MODEL [--config NAME] [--threads N] "
            "[--iterations K] [--text] [--precision bf16|int8]\n", argv[0]);
        return 2;
    }
  }
  if (!model || iters < 1) {
    fprintf (stderr, "usage: %s --model MODEL [--config NAME] [--threads N] "
        "[--iterations K] [--text] [--precision bf16|int8]\n", argv[0]);
    return 2;
  }
  ctx[0] = load (model, config, threads, MC_PRECISION_FP32);
  ctx[1] = load (model, config, threads, low);
  if (!ctx[0] || !ctx[1])
    return 1;
  d = mc_embed_dim (ctx[0]);
  if (text) {
    /* "a photo of a dog" and the empty prompt, as token ids */
    const int32_t row[] = { 49406, 320, 1125, 539, 320, 1929, 49407 };
    memcpy (tokens, row, sizeof row);
    tokens[MC_CONTEXT_LENGTH] = 49406;
    tokens[MC_CONTEXT_LENGTH + 1] = 49407;
  } else {
    size = mc_image_size (ctx[0]);
    input = g_new (float, (gsize) size * size * 3);
    for (size_t i = 0; i < (size_t) size * size * 3; i++)
      input[i] = (float) ((i * 2654435761u) >> 24) / 255.0f;
  }
  for (int p = 0; p < 2; p++) {
    t[p] = g_new (double, iters);
    out[p] = g_new (float, (gsize) 2 * d);
  }
  ratio = g_new (double, iters);

  for (int i = -3; i < iters; i++) {
    for (int p = 0; p < 2; p++) {
      mc_error err = { 0 };
      const double t0 = g_get_monotonic_time () / 1000.0;
      const mc_status st = text
          ? mc_encode_texts (ctx[p], tokens, 2, out[p], &err)
          : mc_encode_images (ctx[p], input, MC_LAYOUT_NHWC, 1, size, size, out[p], &err);
      if (st != MC_OK) {
        fprintf (stderr, "bench-precision: %s\n", err.message);
        return 1;
      }
      if (i >= 0)
        t[p][i] = g_get_monotonic_time () / 1000.0 - t0;
    }
    if (i >= 0)
      ratio[i] = t[1][i] / t[0][i];
  }
  for (int r = 0; r < (text ? 2 : 1); r++) {
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < d; j++) {
      dot += (double) out[0][r * d + j] * out[1][r * d + j];
      na += (double) out[0][r * d + j] * out[0][r * d + j];
      nb += (double) out[1][r * d + j] * out[1][r * d + j];
    }
    if (dot / sqrt (na * nb) < worst_cos)
      worst_cos = dot / sqrt (na * nb);
  }
  for (int p = 0; p < 2; p++) {
    med[p] = median (t[p], iters);
    min[p] = t[p][0];
  }
  printf ("{\"model\": \"%s\", \"encoder\": \"%s\", \"threads\": %d, \"iterations\": %d,\n"
      " \"low\": \"%s\", \"fp32_kernel\": \"%s\", \"low_kernel\": \"%s\", \"bf16_native\": %s,\n"
      " \"fp32_median_ms\": %.3f, \"fp32_min_ms\": %.3f,"
      " \"low_median_ms\": %.3f, \"low_min_ms\": %.3f,\n"
      " \"low_over_fp32_median_of_pairs\": %.3f, \"min_cosine_low_fp32\": %.7f}\n",
      model, text ? "text" : "image", mc_n_threads (ctx[0]), iters,
      mc_precision_name (low), mc_gemm_kernel_name (MC_GEMM_F32),
      mc_gemm_kernel_name (low == MC_PRECISION_INT8 ? MC_GEMM_INT8 : MC_GEMM_BF16),
      mc_gemm_bf16_native () ? "true" : "false", med[0], min[0], med[1], min[1],
      median (ratio, iters), worst_cos);
  for (int p = 0; p < 2; p++) {
    g_free (t[p]);
    g_free (out[p]);
    mc_context_free (ctx[p]);
  }
  g_free (ratio);
  g_free (input);
  return 0;
}
