/* test_bench_ab.c — bench-ab (its path is argv[1]) on tiny_s0, image and
 * text, fp32 and (image) bf16: the settings reach the products in one
 * process and only there, and the precision asked for is the one that runs.
 * The assembly k loop and the prefetching off, and the thread pool's equal
 * chunks (and on bf16 the AMX kernel's 32-row strips), against the
 * defaults keep the bits (max_abs_diff 0), K blocks of 16 and, on bf16,
 * the exact GELU in place of the coarse one change them (a setting that did
 * not take effect would give 0), the timing fields are in order, and an
 * unknown setting is a usage error (exit 2). */
#include <cjson/cJSON.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "test_spawn.h"
#include "test_util.h"

/* The JSON of one run, or NULL; *status gets the exit status. */
static cJSON *
run_ab (const char *tool, const char *dir, int text, const char *precision,
    const char *a, const char *b, int *status)
{
  const char *argv[18] = { tool, "--model", dir, "--threads", "2", "--pairs", "4",
    "--block", "1", "--a", a, "--b", b };
  int argc = 13;

  if (text)
    argv[argc++] = "--text";
  if (precision) {
    argv[argc++] = "--precision";
    argv[argc++] = precision;
  }
  return mc_test_run_json (argv, status);
}

/* precision: NULL (the default, fp32) or the one to ask for; max_rel 0:
 * the same bits, else a difference in (0, max_rel × the largest value) */
static void
check (const char *tool, const char *dir, int text, const char *precision,
    const char *a, const char *b, double max_rel)
{
  const char *what = text ? "text" : precision ? precision : "image";
  int status;
  cJSON *root = run_ab (tool, dir, text, precision, a, b, &status);

  CHECK (root != NULL, "%s --a \"%s\" --b \"%s\": exit %d or no JSON", what, a, b, status);
  if (!root)
    return;
  const cJSON *ka = cJSON_GetObjectItemCaseSensitive (root, "a_gemm_kernel");
  const cJSON *kb = cJSON_GetObjectItemCaseSensitive (root, "b_gemm_kernel");
  CHECK (cJSON_IsString (ka) && cJSON_IsString (kb), "%s: no kernel names", what);
  /* where AMX runs, MC_GEMM_AMX_ROWS=32 must reach the kernel choice */
  if (cJSON_IsString (ka) && cJSON_IsString (kb) && strstr (b, "MC_GEMM_AMX_ROWS=32")
      && !strcmp (ka->valuestring, "amx-bf16"))
    CHECK (!strcmp (kb->valuestring, "amx-bf16-32"), "%s: b ran %s, not amx-bf16-32", what,
        kb->valuestring);
  const cJSON *ran = cJSON_GetObjectItemCaseSensitive (root, "precision");
  CHECK (cJSON_IsString (ran) && !strcmp (ran->valuestring, precision ? precision : "fp32"),
      "%s: ran precision %s", what, cJSON_IsString (ran) ? ran->valuestring : "(none)");
  const double diff = mc_test_json_number (root, "max_abs_diff"), largest = mc_test_json_number (root, "max_abs_b");
  const double q1 = mc_test_json_number (root, "a_over_b_q1"), med = mc_test_json_number (root, "a_over_b_median");
  const double q3 = mc_test_json_number (root, "a_over_b_q3"), lo = mc_test_json_number (root, "a_over_b_min");
  const double hi = mc_test_json_number (root, "a_over_b_max");
  printf ("  %-5s a \"%s\" b \"%s\": a/b %.3f, max |diff| %g of max |b| %g\n", what, a, b,
      med, diff, largest);
  CHECK (mc_test_json_number (root, "a_median_ms") > 0 && mc_test_json_number (root, "b_median_ms") > 0,
      "%s: medians not positive", what);
  CHECK (lo > 0 && lo <= q1 && q1 <= med && med <= q3 && q3 <= hi,
      "%s: ratios out of order (%g %g %g %g %g)", what, lo, q1, med, q3, hi);
  CHECK (largest > 0, "%s: embeddings all zero", what);
  if (max_rel == 0)
    CHECK (diff == 0, "%s a \"%s\" b \"%s\": embeddings differ by %g", what, a, b, diff);
  else
    CHECK (diff > 0 && diff < max_rel * largest,
        "%s a \"%s\" b \"%s\": max |diff| %g, not in (0, %g × %g)", what, a, b, diff, max_rel,
        largest);
  cJSON_Delete (root);
}

/* A bad precision or setting: exit 2 and no JSON. */
static void
usage_error (const char *tool, const char *dir, const char *precision, const char *a,
    const char *b)
{
  int status;
  cJSON *bad = run_ab (tool, dir, 0, precision, a, b, &status);

  CHECK (!bad && status == 2, "--precision %s --a \"%s\" --b \"%s\": exit %d, not 2",
      precision ? precision : "(default)", a, b, status);
  cJSON_Delete (bad);
}

int
main (int argc, char **argv)
{
  const char *golden = mc_test_golden_dir ();
  char *dir;

  if (!golden)
    return MC_TEST_SKIP;
  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-bench-ab\n", argv[0]);
    return 1;
  }
  dir = g_build_filename (golden, "tiny_s0", NULL);
  for (int text = 0; text <= 1; text++) {
    check (argv[1], dir, text, NULL, "", "MC_GEMM_ASM=0,MC_GEMM_PREFETCH=0,MC_POOL_BALANCE=0", 0);
    check (argv[1], dir, text, NULL, "MC_GEMM_KC=16", "", 1e-4);
  }
  /* bf16 runs everywhere (emulated without AVX512-BF16) */
  check (argv[1], dir, 0, "bf16", "", "MC_POOL_BALANCE=0,MC_GEMM_AMX_ROWS=32", 0);
  /* the two GELUs differ by ~1e-6·|x|, but that moves some of the next
   * product's inputs to the neighbouring bf16 value, 2⁻⁸ away: the
   * embeddings then differ by bf16's own rounding noise (measured 3.3e-3
   * of the largest value on AMX) */
  check (argv[1], dir, 0, "bf16", "MC_GEMM_GELU_COARSE=0", "MC_GEMM_GELU_COARSE=1", 1e-2);
  usage_error (argv[1], dir, "bf17", "", "");
  usage_error (argv[1], dir, NULL, "MC_GEMM_KC=8", "");    /* below 16 */
  usage_error (argv[1], dir, NULL, "", "MC_GEMM_FOO=1");
  usage_error (argv[1], dir, NULL, "", "MC_GEMM_AMX_ROWS=24");
  usage_error (argv[1], dir, NULL, "MC_POOL_BALANCE=2", "");
  usage_error (argv[1], dir, NULL, "", "MC_GEMM_GELU_COARSE=2");
  g_free (dir);
  return mc_test_finish ("bench-ab");
}
