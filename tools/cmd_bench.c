/* cmd_bench.c — `mobileclip bench`: timing of the encoders with medians,
 * throughput, effective GFLOP/s and a per-op-family breakdown (JSON). */
#include "cli.h"

#include <getopt.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "runtime/cpu.h"

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip bench --model MODEL [--config NAME|PATH] [--threads N]\n"
      "                        [--iterations K] [--warmup W] [--batch B] [--size S]\n"
      "                        [--precision fp32|auto|bf16|int8] [--text] [--shapes]\n"
      "                        [--versus-batch B0]\n"
      "Times K forward passes (after W warm-up passes) of the image encoder on a\n"
      "synthetic batch of B images of S×S (default: the config's size), or with\n"
      "--text of the text encoder on B 77-token prompts, and prints JSON: median,\n"
      "min and max ms per forward, frames (or prompts) per second, effective\n"
      "GFLOP/s (2 × MACs / time) and ms per op family per forward.\n"
      "The JSON names the precision that ran and the GEMM kernel (bf16 on a CPU\n"
      "without AVX512-BF16 runs an emulation, slower than fp32; int8 runs an\n"
      "integer kernel, e.g. avx2-int8).\n"
      "--shapes adds gemm_shapes_per_forward: each product shape (M×K×N,\n"
      "activation, residual, format, threads it was split over) with its calls\n"
      "and thread time per forward (wall time × threads) and GFLOP/s per thread,\n"
      "the most thread time first.\n"
      "--versus-batch B0 then times K pairs of forwards, one of batch B and one\n"
      "of batch B0 back to back (their order alternating), and adds versus_batch:\n"
      "the median, quartiles and range of the pairs' ratios of frames (or prompts)\n"
      "per second, B over B0.  Each pair runs within a few hundred milliseconds,\n"
      "so a machine whose speed drifts (a shared VM) slows both sides alike,\n"
      "which two separate runs cannot promise.\n");
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static char *
cpu_name (void)
{
  char *text = NULL, *name = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL)) {
    char *p = strstr (text, "model name");
    if (p && (p = strchr (p, ':'))) {
      char *end = strchr (p, '\n');
      name = g_strstrip (g_strndup (p + 1, end ? (gsize) (end - p - 1) : strlen (p + 1)));
    }
  }
  g_free (text);
  return name ? name : g_strdup ("unknown");
}

/* Resident set size of this process in MiB (Linux), or -1. */
static double
rss_mib (void)
{
  char *text = NULL;
  double v = -1;
  if (g_file_get_contents ("/proc/self/status", &text, NULL, NULL)) {
    char *p = strstr (text, "VmRSS:");
    if (p)
      v = g_ascii_strtod (p + 6, NULL) / 1024.0;
  }
  g_free (text);
  return v;
}

/* One forward of `batch` items; its wall time in ms, or -1 on an error. */
static double
timed_forward (mc_context *ctx, int text, const float *input, const int32_t *tokens,
    int batch, int size, float *out, mc_error *err)
{
  const double t0 = g_get_monotonic_time () / 1000.0;
  const mc_status st = text ? mc_encode_texts (ctx, tokens, batch, out, err)
      : mc_encode_images (ctx, input, MC_LAYOUT_NHWC, batch, size, size, out, err);
  return st == MC_OK ? g_get_monotonic_time () / 1000.0 - t0 : -1;
}

static double
quantile (const double *sorted, int n, double q)
{
  const double x = q * (n - 1);
  const int i = (int) x;
  return i + 1 < n ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/* --versus-batch: iters pairs of forwards of batch b and b0 (their order
 * alternating), each pair's ratio of items per second b over b0.  Prints
 * the versus_batch member; returns 0, or -1 on an error. */
static int
print_versus_batch (mc_context *ctx, int text, const float *input,
    const int32_t *tokens, int b, int b0, int size, int iters, float *out,
    mc_error *err)
{
  double *ratio = g_new (double, iters), *tb = g_new (double, iters),
      *tb0 = g_new (double, iters);
  int rc = -1;

  /* one untimed pass of b0: the warm-up so far ran batch b only */
  if (timed_forward (ctx, text, input, tokens, b0, size, out, err) < 0)
    goto out;
  for (int i = 0; i < iters; i++) {
    for (int side = 0; side < 2; side++) {
      const int first_b = i % 2 == 0;
      const int run_b = side == 0 ? first_b : !first_b;
      const double t = timed_forward (ctx, text, input, tokens, run_b ? b : b0, size,
          out, err);
      if (t < 0)
        goto out;
      if (run_b)
        tb[i] = t;
      else
        tb0[i] = t;
    }
    ratio[i] = (b / tb[i]) / (b0 / tb0[i]);
  }
  qsort (ratio, (size_t) iters, sizeof *ratio, compare_double);
  qsort (tb, (size_t) iters, sizeof *tb, compare_double);
  qsort (tb0, (size_t) iters, sizeof *tb0, compare_double);
  printf (",\n  \"versus_batch\": {\"batch\": %d, \"pairs\": %d, "
      "\"median_ms\": %.3f, \"versus_median_ms\": %.3f, \"gain_median\": %.3f, "
      "\"gain_q1\": %.3f, \"gain_q3\": %.3f, \"gain_min\": %.3f, \"gain_max\": %.3f}",
      b0, iters, quantile (tb, iters, 0.5), quantile (tb0, iters, 0.5),
      quantile (ratio, iters, 0.5), quantile (ratio, iters, 0.25),
      quantile (ratio, iters, 0.75), ratio[0], ratio[iters - 1]);
  rc = 0;
out:
  g_free (ratio);
  g_free (tb);
  g_free (tb0);
  return rc;
}

/* The products timed by shape since mc_gemm_shapes_start, per forward. */
static void
print_shapes (int iters)
{
  static const char *const acts[] = { "none", "gelu", "relu" };
  static const char *const formats[] = { "f32", "bf16", "int8" };
  mc_gemm_shape_stat st[MC_GEMM_SHAPES_MAX];
  int64_t dropped = 0;
  const int n = mc_gemm_shapes_stop (st, MC_GEMM_SHAPES_MAX, &dropped);

  printf (",\n  \"gemm_shapes_per_forward\": [");
  for (int i = 0; i < n; i++) {
    const double thread_ms = st[i].ms * st[i].threads;
    printf ("%s\n    {\"m\": %d, \"k\": %d, \"n\": %d, \"act\": \"%s\", \"residual\": %s, "
        "\"format\": \"%s\", \"threads\": %d, \"calls\": %g, \"thread_ms\": %.4f, "
        "\"gflops_per_thread\": %.1f}", i ? "," : "", st[i].M, st[i].K, st[i].N,
        acts[st[i].act], st[i].residual ? "true" : "false", formats[st[i].format],
        st[i].threads, (double) st[i].calls / iters, thread_ms / iters,
        thread_ms > 0 ? 2.0 * st[i].M * st[i].K * st[i].N * st[i].calls / thread_ms / 1e6 : 0.0);
  }
  printf ("\n  ]");
  if (dropped)
    printf (",\n  \"gemm_shapes_dropped_calls\": %" G_GINT64_FORMAT, dropped);
}

int
cli_bench (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 'j' },
    { "iterations", required_argument, NULL, 'k' },
    { "warmup", required_argument, NULL, 'w' },
    { "batch", required_argument, NULL, 'b' },
    { "size", required_argument, NULL, 's' },
    { "precision", required_argument, NULL, CLI_OPT_PRECISION },
    { "text", no_argument, NULL, 't' },
    { "shapes", no_argument, NULL, 'S' },
    { "versus-batch", required_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL;
  int threads = 0, iters = 30, warmup = 3, batch = 1, size = 0, text = 0, shapes = 0, opt;
  int versus_batch = 0, items;
  int rc = 1;
  int precision = MC_PRECISION_FP32;
  mc_context *ctx;
  mc_model_info info;
  mc_error err = { 0 };
  double *times;
  float *input = NULL, *out = NULL;
  int32_t *tokens = NULL;
  char *cpu;
  char features[256];
  double rss_loaded;

  optind = 1;
  while ((opt = getopt_long (argc, argv, "m:c:j:k:w:b:s:th", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 'j': threads = atoi (optarg); break;
      case 'k': iters = atoi (optarg); break;
      case 'w': warmup = atoi (optarg); break;
      case 'b': batch = atoi (optarg); break;
      case 's': size = atoi (optarg); break;
      case CLI_OPT_PRECISION:
        if ((precision = cli_parse_precision ("bench", optarg)) < 0)
          return 2;
        break;
      case 't': text = 1; break;
      case 'S': shapes = 1; break;
      case 'V': versus_batch = atoi (optarg); break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  if (!model || iters < 1 || warmup < 0 || batch < 1 || size < 0 || versus_batch < 0
      || (versus_batch && versus_batch == batch)) {
    usage (stderr);
    return 2;
  }
  ctx = cli_load_model ("bench", model, config, threads, NULL, 0, (mc_precision) precision);
  if (!ctx)
    return 1;
  mc_get_model_info (ctx, &info);
  rss_loaded = rss_mib ();
  if (!size)
    size = mc_image_size (ctx);
  times = g_new (double, iters);
  items = MAX (batch, versus_batch);
  out = g_new (float, (gsize) items * mc_embed_dim (ctx));
  if (text) {
    tokens = g_new0 (int32_t, (gsize) items * MC_CONTEXT_LENGTH);
    for (int b = 0; b < items; b++) {
      int32_t *row = tokens + (size_t) b * MC_CONTEXT_LENGTH;
      row[0] = 49406;
      for (int i = 1; i < 12; i++)
        row[i] = 320 + 37 * b + i;
      row[12] = 49407;
    }
  } else {
    input = g_new (float, (gsize) items * size * size * 3);
    for (size_t i = 0; i < (size_t) items * size * size * 3; i++)
      input[i] = (float) ((i * 2654435761u) >> 24) / 255.0f;
  }

  for (int i = -warmup; i < iters; i++) {
    double t0;
    mc_status st;
    if (i == 0) {
      mc_set_profiling (ctx, 1);
      if (shapes)
        mc_gemm_shapes_start ();
    }
    t0 = g_get_monotonic_time () / 1000.0;
    st = text ? mc_encode_texts (ctx, tokens, batch, out, &err)
        : mc_encode_images (ctx, input, MC_LAYOUT_NHWC, batch, size, size, out, &err);
    if (st != MC_OK) {
      cli_fail ("bench", &err);
      goto out;
    }
    if (i >= 0)
      times[i] = g_get_monotonic_time () / 1000.0 - t0;
  }
  {
    double median, gmacs;
    mc_profile_entry prof[MC_PROFILE_MAX];
    int np = text ? mc_get_text_profile (ctx, prof, MC_PROFILE_MAX)
        : mc_get_profile (ctx, prof, MC_PROFILE_MAX);
    qsort (times, (size_t) iters, sizeof *times, compare_double);
    median = iters % 2 ? times[iters / 2] : 0.5 * (times[iters / 2 - 1] + times[iters / 2]);
    gmacs = (text ? info.text_macs : (double) info.image_macs * ((double) size * size)
        / ((double) mc_image_size (ctx) * mc_image_size (ctx))) / 1e9;
    cpu = cpu_name ();
    printf ("{\n  \"machine\": {\"cpu\": \"%s\", \"online_cpus\": %d, \"features\": \"%s\"},\n",
        cpu, (int) g_get_num_processors (), mc_cpu_describe (features, sizeof features));
    printf ("  \"model\": \"%s\", \"encoder\": \"%s\", \"arch\": \"%s\",\n", model,
        text ? "text" : "image", text ? (info.text_arch ? info.text_arch : "?") : info.image_arch);
    /* the kernel the load packed for: the variant has not changed since */
    printf ("  \"precision\": \"%s\", \"gemm_kernel\": \"%s\", \"bf16_native\": %s,\n",
        mc_precision_name (mc_context_precision (ctx)), cli_gemm_kernel (ctx),
        mc_gemm_bf16_native () ? "true" : "false");
    printf ("  \"threads\": %d, \"batch\": %d,%s", mc_n_threads (ctx), batch,
        text ? "\n" : "");
    if (!text)
      printf (" \"size\": %d,\n", size);
    printf ("  \"iterations\": %d, \"warmup\": %d,\n", iters, warmup);
    printf ("  \"fp32_weights_mib\": %.1f, \"rss_after_load_mib\": %.1f, \"rss_after_run_mib\": %.1f,\n",
        (info.image_params + info.text_params) * 4.0 / (1024.0 * 1024.0), rss_loaded, rss_mib ());
    printf ("  \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f,\n", median, times[0],
        times[iters - 1]);
    printf ("  \"%s_per_s\": %.2f,\n", text ? "prompts" : "frames", batch * 1000.0 / median);
    printf ("  \"gmacs_per_item\": %.4f, \"gflops_effective\": %.2f", gmacs,
        2.0 * gmacs * batch / (median / 1000.0));
    if (np) {
      printf (",\n  \"breakdown_ms_per_forward\": {");
      for (int i = 0; i < np; i++)
        printf ("%s\"%s\": %.3f", i ? ", " : "", prof[i].family, prof[i].ms / iters);
      printf ("}");
    }
    if (shapes)
      print_shapes (iters);
    if (versus_batch) {
      mc_set_profiling (ctx, 0);
      if (print_versus_batch (ctx, text, input, tokens, batch, versus_batch, size, iters,
              out, &err) < 0) {
        printf ("\n}\n");
        g_free (cpu);
        cli_fail ("bench", &err);
        goto out;
      }
    }
    printf ("\n}\n");
    g_free (cpu);
  }
  rc = 0;
out:
  g_free (times);
  g_free (input);
  g_free (out);
  g_free (tokens);
  mc_context_free (ctx);
  return rc;
}
