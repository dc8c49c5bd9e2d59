/* bench_ab.c — two settings of the timing experiments, in one process.
 *
 *   bench-ab --model MODEL [--config NAME] [--threads N] [--text]
 *            [--precision P] [--pairs K] [--block B] --a SETTINGS --b SETTINGS
 *
 * SETTINGS is a list of MC_GEMM_KC=N, MC_GEMM_ASM=0|1, MC_GEMM_PREFETCH=0|1,
 * MC_GEMM_PREFETCH_NEXT=0|1 (the last pass's prefetch of the next product),
 * MC_GEMM_AMX_ROWS=16|32 (the AMX kernels' strips, with --precision bf16 or
 * int8 on a CPU with AMX), MC_GEMM_GELU_COARSE=0|1 (0: the exact GELU after
 * bf16 and int8 products), MC_POOL_BALANCE=0|1 (the thread pool's chunks
 * sized by the threads' speeds, runtime/threadpool.c) and MC_POOL_ALONE=0|1
 * (the pool going alone when its workers save no time), separated by spaces
 * or commas; what it leaves out keeps the value the environment gave (an
 * empty list: the defaults).  K
 * pairs (default 20) of B forward passes (default 3) under each setting, the
 * order alternating from pair to pair, after 3 untimed passes of each.  On a
 * shared VM whose speed changes from one second to the next (docs/
 * performance.md) only pairs this close compare two settings; two processes
 * run seconds apart do not.  Prints one JSON object: each side's median ms
 * per pass, the median, quartiles and range of the pairs' ratios a/b, and
 * the largest difference between the two sides' embeddings (0 when only
 * MC_GEMM_ASM, the MC_GEMM_PREFETCH ones, MC_GEMM_AMX_ROWS or the MC_POOL_ ones differ:
 * they keep the bits) and the largest magnitude in b's.
 */
#include <getopt.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "ops/gemm.h"
#include "runtime/threadpool.h"
#include "bench_args.h"
#include "bench_timing.h"

static const char *prog = "bench-ab";

static void
usage (int status)
{
  fprintf (stderr, "usage: %s --model MODEL [--config NAME] [--threads N] [--text] "
      "[--precision fp32|auto|bf16|int8] [--pairs K] [--block B] --a SETTINGS --b SETTINGS\n"
      "  SETTINGS: MC_GEMM_KC=N, MC_GEMM_ASM=0|1, MC_GEMM_PREFETCH=0|1, MC_GEMM_PREFETCH_NEXT=0|1,\n            "
      "MC_GEMM_AMX_ROWS=16|32, MC_GEMM_GELU_COARSE=0|1,\n            MC_POOL_BALANCE=0|1, MC_POOL_ALONE=0|1\n            (spaces or commas between)\n", prog);
  exit (status);
}

/* One side's settings: the GEMM's experiments and the pool's switches. */
typedef struct {
  mc_gemm_experiments e;
  int balance, alone;
} setting;

static void
apply (const setting *s)
{
  mc_gemm_set_experiments (&s->e);
  mc_threadpool_set_balancing (s->balance);
  mc_threadpool_set_alone (s->alone);
}

/* Applies SETTINGS to st; 0 on an unknown name or value. */
static int
parse_settings (const char *spec, setting *st)
{
  mc_gemm_experiments *e = &st->e;
  gchar **items = g_strsplit_set (spec, " ,", -1);
  int ok = 1;

  for (int i = 0; items[i] && ok; i++) {
    const char *eq = strchr (items[i], '=');
    char *end;
    long v;
    if (items[i][0] == '\0')
      continue;
    if (!eq || eq[1] == '\0') {
      ok = 0;
      break;
    }
    v = strtol (eq + 1, &end, 10);
    if (*end != '\0')
      ok = 0;
    else if (!strncmp (items[i], "MC_GEMM_KC=", 11) && v >= 16 && v <= 65536)
      e->kc = (int) v;
    else if (!strncmp (items[i], "MC_GEMM_ASM=", 12) && (v == 0 || v == 1))
      e->asm_off = v == 0;
    else if (!strncmp (items[i], "MC_GEMM_PREFETCH=", 17) && (v == 0 || v == 1))
      e->prefetch_off = v == 0;
    else if (!strncmp (items[i], "MC_GEMM_PREFETCH_NEXT=", 22) && (v == 0 || v == 1))
      e->next_off = v == 0;
    else if (!strncmp (items[i], "MC_GEMM_AMX_ROWS=", 17) && (v == 16 || v == 32))
      e->amx_rows32 = v == 32;
    else if (!strncmp (items[i], "MC_GEMM_GELU_COARSE=", 20) && (v == 0 || v == 1))
      e->gelu_exact = v == 0;
    else if (!strncmp (items[i], "MC_POOL_BALANCE=", 16) && (v == 0 || v == 1))
      st->balance = (int) v;
    else if (!strncmp (items[i], "MC_POOL_ALONE=", 14) && (v == 0 || v == 1))
      st->alone = (int) v;
    else
      ok = 0;
  }
  g_strfreev (items);
  return ok;
}

typedef struct {
  mc_context *ctx;
  int text, size;
  const float *pixels;
  const int32_t *tokens;
  float *out;
} pass;

static void
run (const pass *p)
{
  mc_error err = { 0 };
  const mc_status st = p->text
      ? mc_encode_texts (p->ctx, p->tokens, 1, p->out, &err)
      : mc_encode_images (p->ctx, p->pixels, MC_LAYOUT_NHWC, 1, p->size, p->size, p->out, &err);
  if (st != MC_OK) {
    fprintf (stderr, "%s: %s\n", prog, err.message);
    exit (1);
  }
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 'j' },
    { "text", no_argument, NULL, 't' },
    { "pairs", required_argument, NULL, 'k' },
    { "block", required_argument, NULL, 'b' },
    { "precision", required_argument, NULL, 'p' },
    { "a", required_argument, NULL, 'A' },
    { "b", required_argument, NULL, 'B' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *spec[2] = { NULL, NULL };
  mc_params params = mc_params_default ();
  setting side[2];
  int pairs = 20, block = 3, opt, d;
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  pass p = { 0 };
  float *out[2], *pixels = NULL;
  int32_t tokens[MC_CONTEXT_LENGTH] = { 49406, 320, 1125, 539, 320, 1929, 49407 };
  double *t[2], *ratio, diff = 0, largest = 0;

  prog = argv[0];
  while ((opt = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': params.config = optarg; break;
      case 'j': params.n_threads = count_arg (optarg, 1, usage); break;
      case 't': p.text = 1; break;
      case 'k': pairs = count_arg (optarg, 1, usage); break;
      case 'b': block = count_arg (optarg, 1, usage); break;
      case 'p': {
        const int pr = mc_precision_from_name (optarg);
        if (pr < 0)
          usage (2);
        params.precision = (mc_precision) pr;
        break;
      }
      case 'A': spec[0] = optarg; break;
      case 'B': spec[1] = optarg; break;
      default: usage (2);
    }
  }
  if (!model || !spec[0] || !spec[1] || optind != argc)
    usage (2);
  mc_gemm_get_experiments (&side[0].e);
  side[0].balance = mc_threadpool_balancing ();
  side[0].alone = mc_threadpool_alone ();
  side[1] = side[0];
  for (int s = 0; s < 2; s++)
    if (!parse_settings (spec[s], &side[s])) {
      fprintf (stderr, "%s: bad settings \"%s\"\n", prog, spec[s]);
      usage (2);
    }
  if (mc_context_load (model, &params, &ctx, &err) != MC_OK) {
    fprintf (stderr, "%s: %s\n", prog, err.message);
    return 1;
  }
  d = mc_embed_dim (ctx);
  p.ctx = ctx;
  p.tokens = tokens;
  if (!p.text) {
    p.size = mc_image_size (ctx);
    pixels = g_new (float, (gsize) p.size * p.size * 3);
    for (size_t i = 0; i < (size_t) p.size * p.size * 3; i++)
      pixels[i] = (float) ((i * 2654435761u) >> 24) / 255.0f;
    p.pixels = pixels;
  }
  const mc_precision prec = mc_context_precision (ctx);
  const mc_gemm_format fmt = prec == MC_PRECISION_BF16 ? MC_GEMM_BF16
      : prec == MC_PRECISION_INT8 ? MC_GEMM_INT8 : MC_GEMM_F32;
  const char *kernel[2];
  for (int s = 0; s < 2; s++) {
    out[s] = g_new (float, d);
    t[s] = g_new (double, pairs);
    apply (&side[s]);
    kernel[s] = mc_gemm_kernel_name (fmt);
    p.out = out[s];
    for (int w = 0; w < 3; w++)
      run (&p);
  }
  for (int j = 0; j < d; j++) {
    diff = fmax (diff, fabs ((double) out[0][j] - out[1][j]));
    largest = fmax (largest, fabs ((double) out[1][j]));
  }
  ratio = g_new (double, pairs);
  for (int i = 0; i < pairs; i++) {
    for (int o = 0; o < 2; o++) {
      const int s = i % 2 ? 1 - o : o;
      apply (&side[s]);
      p.out = out[s];
      const double t0 = now_ms ();
      for (int b = 0; b < block; b++)
        run (&p);
      t[s][i] = (now_ms () - t0) / block;
    }
    ratio[i] = t[0][i] / t[1][i];
  }
  const double ma = median (t[0], pairs), mb = median (t[1], pairs);
  const double mr = median (ratio, pairs);
  printf ("{\"bench\": \"ab\", \"model\": \"%s\", \"encoder\": \"%s\", \"threads\": %d, "
      "\"precision\": \"%s\", \"a_gemm_kernel\": \"%s\", \"b_gemm_kernel\": \"%s\",\n"
      " \"pairs\": %d, \"block\": %d,"
      " \"a\": \"%s\", \"b\": \"%s\", \"a_median_ms\": %.3f, \"b_median_ms\": %.3f,\n"
      " \"a_over_b_median\": %.3f, \"a_over_b_q1\": %.3f, \"a_over_b_q3\": %.3f, "
      "\"a_over_b_min\": %.3f, \"a_over_b_max\": %.3f,\n"
      " \"max_abs_diff\": %g, \"max_abs_b\": %g}\n",
      model, p.text ? "text" : "image", mc_n_threads (ctx), mc_precision_name (prec),
      kernel[0], kernel[1], pairs, block, spec[0], spec[1], ma, mb, mr, quantile (ratio, pairs, 0.25),
      quantile (ratio, pairs, 0.75), ratio[0], ratio[pairs - 1], diff, largest);
  for (int s = 0; s < 2; s++) {
    g_free (out[s]);
    g_free (t[s]);
  }
  g_free (ratio);
  g_free (pixels);
  mc_context_free (ctx);
  return 0;
}
