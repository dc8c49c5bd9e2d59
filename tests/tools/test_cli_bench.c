/* test_cli_bench.c — `mobileclip bench` (the built command's path is
 * argv[1]) on tiny_s0, image and --text, with and without --batch: the JSON
 * names the machine's CPU features as the engine detected them, holds the
 * timing fields in order (min <= median <= max, all > 0), the
 * item rate agrees with the median and the batch, and the per-family
 * breakdown names exactly the encoder's families, each >= 0, the products'
 * share > 0, and sums to no more than the slowest forward (the families are
 * timed inside the forward passes); with --shapes, the products by shape
 * (check_shapes), without it none; with --versus-batch, the paired
 * comparison's fields in order (check_versus), and the option refused where
 * it names the run's own batch. */
#include <cjson/cJSON.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "runtime/cpu.h"
#include "test_spawn.h"
#include "test_util.h"

static const char *const image_families[] = {
  "conv", "depthwise", "gemm", "attention", "se", "pool", NULL
};
static const char *const text_families[] = {
  "depthwise", "norm", "gemm", "attention", "other", NULL
};

/* The command's JSON, or NULL when it fails; *status (may be NULL) gets
 * its exit status. */
static char *
run_bench_versus (const char *cli, const char *dir, int text, const char *batch,
    int shapes, const char *versus, int *status)
{
  const char *argv[16] = { cli, "bench", "--model", dir, "--iterations", "3",
    "--warmup", "1", "--threads", "2", "--batch", batch };
  int argc = 12, st;
  char *out = NULL;

  if (text)
    argv[argc++] = "--text";
  if (shapes)
    argv[argc++] = "--shapes";
  if (versus) {
    argv[argc++] = "--versus-batch";
    argv[argc++] = versus;
  }
  st = mc_test_run (argv, &out, NULL);
  if (status)
    *status = st;
  if (st != 0) {
    g_free (out);
    return NULL;
  }
  return out;
}

static char *
run_bench (const char *cli, const char *dir, int text, const char *batch, int shapes)
{
  return run_bench_versus (cli, dir, text, batch, shapes, NULL, NULL);
}

/* --shapes: each product shape once, with whole calls per forward, thread
 * time and rate; their multiply-adds per forward are no more than the
 * model's (a shape counted twice would exceed them) and not under 40 % of
 * them (tiny_s0: 67.5 % image, 50.4 % text; the rest is convs, depthwise
 * convs, attention's own products and, in text, the last layer's rows the
 * engine skips but the model's count includes). */
static void
check_shapes (const cJSON *root, const char *what, int batch)
{
  const cJSON *list = cJSON_GetObjectItem (root, "gemm_shapes_per_forward");
  const double model = mc_test_json_number (root, "gmacs_per_item") * 1e9 * batch;
  double macs = 0;
  int n = 0;

  CHECK (cJSON_IsArray (list) && cJSON_GetArraySize (list) > 0,
      "bench %s --shapes: no gemm_shapes_per_forward", what);
  for (const cJSON *e = list ? list->child : NULL; e; e = e->next, n++) {
    const double m = mc_test_json_number (e, "m"), k = mc_test_json_number (e, "k"), nn = mc_test_json_number (e, "n");
    const double calls = mc_test_json_number (e, "calls"), tms = mc_test_json_number (e, "thread_ms");
    const double threads = mc_test_json_number (e, "threads"), rate = mc_test_json_number (e, "gflops_per_thread");
    const char *act = cJSON_GetStringValue (cJSON_GetObjectItem (e, "act"));
    const char *fmt = cJSON_GetStringValue (cJSON_GetObjectItem (e, "format"));
    CHECK (m >= 1 && k >= 1 && nn >= 1 && threads >= 1 && threads <= 2,
        "bench %s --shapes: entry %d: %gx%gx%g on %g threads", what, n, m, k, nn, threads);
    CHECK (calls >= 1 && calls == floor (calls), "bench %s --shapes: entry %d: %g calls per forward",
        what, n, calls);
    CHECK (tms >= 0 && rate >= 0, "bench %s --shapes: entry %d: %g ms, %g GFLOP/s", what, n,
        tms, rate);
    CHECK (act && (!strcmp (act, "none") || !strcmp (act, "gelu") || !strcmp (act, "relu"))
        && fmt && !strcmp (fmt, "f32") && cJSON_IsBool (cJSON_GetObjectItem (e, "residual")),
        "bench %s --shapes: entry %d: act %s, format %s", what, n, act ? act : "?",
        fmt ? fmt : "?");
    macs += m * k * nn * calls;
  }
  CHECK (macs <= model * 1.000001 && macs >= 0.4 * model,
      "bench %s --shapes: the shapes do %.4g multiply-adds per forward, the model %.4g", what,
      macs, model);
  printf ("  bench %s --shapes: %d shapes, %.1f %% of the model's multiply-adds\n", what, n,
      100 * macs / model);
}

static void
check_bench (const char *cli, const char *dir, int text, const char *batch, int shapes)
{
  const char *what = text ? "text" : "image";
  const char *const *families = text ? text_families : image_families;
  char *out = run_bench (cli, dir, text, batch, shapes);
  cJSON *root = cJSON_Parse (out ? out : "");
  const cJSON *bd = cJSON_GetObjectItem (root, "breakdown_ms_per_forward");
  const double median = mc_test_json_number (root, "median_ms"), lo = mc_test_json_number (root, "min_ms");
  const double hi = mc_test_json_number (root, "max_ms");
  const double rate = mc_test_json_number (root, text ? "prompts_per_s" : "frames_per_s");
  const int b = atoi (batch);
  double sum = 0;
  int n_families = 0;

  CHECK (out && root, "bench %s --batch %s: no JSON", what, batch);
  {
    char want[256];
    const cJSON *machine = cJSON_GetObjectItem (root, "machine");
    const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (machine, "features"));
    mc_cpu_describe (want, sizeof want);
    CHECK (f && !strcmp (f, want), "bench %s: machine.features \"%s\", detected \"%s\"", what,
        f ? f : "(none)", want);
  }
  CHECK (lo > 0 && lo <= median && median <= hi, "bench %s: min %g, median %g, max %g",
      what, lo, median, hi);
  /* rates are printed with 2 decimals */
  CHECK (fabs (rate - b * 1000.0 / median) <= 0.01 + 1e-3 * rate,
      "bench %s --batch %s: %g items/s for a median of %g ms", what, batch, rate, median);
  CHECK (cJSON_IsObject (bd), "bench %s: no breakdown_ms_per_forward", what);
  for (const cJSON *e = bd ? bd->child : NULL; e; e = e->next) {
    int known = 0;
    for (int i = 0; families[i]; i++)
      known |= !strcmp (e->string, families[i]);
    CHECK (known, "bench %s: unexpected family \"%s\"", what, e->string);
    CHECK (cJSON_IsNumber (e) && e->valuedouble >= 0, "bench %s: %s = %g", what,
        e->string, cJSON_IsNumber (e) ? e->valuedouble : NAN);
    sum += cJSON_IsNumber (e) ? e->valuedouble : 0;
    n_families++;
  }
  for (int i = 0; families[i]; i++)
    CHECK (cJSON_GetObjectItem (bd, families[i]) != NULL, "bench %s: no family \"%s\"",
        what, families[i]);
  CHECK (mc_test_json_number (bd, "gemm") > 0, "bench %s: gemm %g ms", what, mc_test_json_number (bd, "gemm"));
  CHECK (sum <= hi, "bench %s: the families sum to %.3f ms, over the slowest forward %.3f",
      what, sum, hi);
  printf ("  bench %s --batch %s: median %.3f ms, %d families summing to %.3f ms (%.0f %%)\n",
      what, batch, median, n_families, sum, 100 * sum / median);
  if (shapes)
    check_shapes (root, what, b);
  else
    CHECK (!cJSON_GetObjectItem (root, "gemm_shapes_per_forward"),
        "bench %s: gemm_shapes_per_forward without --shapes", what);
  cJSON_Delete (root);
  g_free (out);
}

/* --batch 3 --versus-batch 1: 3 pairs, the gains' order statistics in
 * order and positive, both sides' medians positive; --versus-batch equal to
 * --batch, or negative, is a usage error (2). */
static void
check_versus (const char *cli, const char *dir, int text)
{
  const char *what = text ? "text" : "image";
  int status = 0;
  char *out = run_bench_versus (cli, dir, text, "3", 0, "1", &status);
  cJSON *root = cJSON_Parse (out ? out : "");
  const cJSON *v = cJSON_GetObjectItem (root, "versus_batch");
  const double g[5] = { mc_test_json_number (v, "gain_min"), mc_test_json_number (v, "gain_q1"),
    mc_test_json_number (v, "gain_median"), mc_test_json_number (v, "gain_q3"), mc_test_json_number (v, "gain_max") };

  CHECK (out && root && cJSON_IsObject (v), "bench %s --versus-batch 1: no versus_batch (exit %d)",
      what, status);
  CHECK (mc_test_json_number (v, "batch") == 1 && mc_test_json_number (v, "pairs") == 3,
      "bench %s --versus-batch 1: batch %g, pairs %g", what, mc_test_json_number (v, "batch"),
      mc_test_json_number (v, "pairs"));
  CHECK (g[0] > 0 && g[0] <= g[1] && g[1] <= g[2] && g[2] <= g[3] && g[3] <= g[4],
      "bench %s --versus-batch 1: gains %g %g %g %g %g", what, g[0], g[1], g[2], g[3], g[4]);
  CHECK (mc_test_json_number (v, "median_ms") > 0 && mc_test_json_number (v, "versus_median_ms") > 0,
      "bench %s --versus-batch 1: medians %g and %g ms", what, mc_test_json_number (v, "median_ms"),
      mc_test_json_number (v, "versus_median_ms"));
  printf ("  bench %s --batch 3 --versus-batch 1: gain %.3f (%.3f-%.3f)\n", what, g[2], g[0],
      g[4]);
  cJSON_Delete (root);
  g_free (out);
  for (int i = 0; i < 2; i++) {
    out = run_bench_versus (cli, dir, text, "3", 0, i ? "-1" : "3", &status);
    CHECK (!out && status == 2, "bench %s --batch 3 --versus-batch %s: exit %d, not 2", what,
        i ? "-1" : "3", status);
    g_free (out);
  }
}

int
main (int argc, char **argv)
{
  const char *golden = mc_test_golden_dir ();
  char *dir;

  if (!golden)
    return MC_TEST_SKIP;
  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-mobileclip\n", argv[0]);
    return 1;
  }
  dir = g_build_filename (golden, "tiny_s0", NULL);
  for (int text = 0; text <= 1; text++) {
    check_bench (argv[1], dir, text, "1", 0);
    check_bench (argv[1], dir, text, "3", 0);
    check_bench (argv[1], dir, text, "2", 1);
    check_versus (argv[1], dir, text);
  }
  g_free (dir);
  return mc_test_finish ("cli-bench");
}
