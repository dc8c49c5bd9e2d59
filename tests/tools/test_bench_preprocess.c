/* test_bench_preprocess.c — bench-preprocess (its path is argv[1]): a plain
 * run prints its timing fields, --versus times pairs of two variants and
 * finds their floats identical (the portable kernels against the machine's
 * own, and against themselves), its ratios are in order, and an unknown
 * variant is a usage error (exit 2). */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "test_spawn.h"
#include "test_util.h"

/* The JSON of one run, or NULL; *status gets the exit status. */
static cJSON *
run (const char *tool, const char *variant, const char *versus, int *status)
{
  const char *argv[12] = { tool, "--width", "640", "--height", "480", "--runs", "6" };
  int argc = 7;

  if (variant) {
    argv[argc++] = "--variant";
    argv[argc++] = variant;
  }
  if (versus) {
    argv[argc++] = "--versus";
    argv[argc++] = versus;
  }
  return mc_test_run_json (argv, status);
}

static void
check_versus (const char *tool, const char *variant, const char *versus)
{
  int status;
  cJSON *root = run (tool, variant, versus, &status);

  CHECK (root != NULL, "--variant %s --versus %s: exit %d or no JSON",
      variant ? variant : "(default)", versus, status);
  if (!root)
    return;
  const cJSON *ran = cJSON_GetObjectItem (root, "variant");
  const double lo = mc_test_json_number (root, "ratio_min"), q1 = mc_test_json_number (root, "ratio_q1");
  const double med = mc_test_json_number (root, "ratio_median"), q3 = mc_test_json_number (root, "ratio_q3");
  const double hi = mc_test_json_number (root, "ratio_max");
  printf ("  %s versus %s: ratio %.3f, identical %s\n",
      cJSON_IsString (ran) ? ran->valuestring : "?", versus, med,
      cJSON_IsTrue (cJSON_GetObjectItem (root, "identical")) ? "yes" : "no");
  CHECK (mc_test_json_number (root, "median_ms") > 0 && mc_test_json_number (root, "versus_median_ms") > 0,
      "medians not positive");
  CHECK (mc_test_json_number (root, "pairs") == 6, "pairs %g, asked for 6", mc_test_json_number (root, "pairs"));
  CHECK (lo > 0 && lo <= q1 && q1 <= med && med <= q3 && q3 <= hi,
      "ratios out of order (%g %g %g %g %g)", lo, q1, med, q3, hi);
  CHECK (cJSON_IsTrue (cJSON_GetObjectItem (root, "identical")), "the two variants' floats differ");
  cJSON_Delete (root);
}

int
main (int argc, char **argv)
{
  int status;
  cJSON *root;

  if (argc < 2) {
    fprintf (stderr, "usage: %s BENCH_PREPROCESS\n", argv[0]);
    return 2;
  }
  root = run (argv[1], NULL, NULL, &status);
  CHECK (root != NULL, "plain run: exit %d or no JSON", status);
  if (root) {
    CHECK (mc_test_json_number (root, "median_ms") > 0 && mc_test_json_number (root, "min_ms") <= mc_test_json_number (root, "max_ms"),
        "plain run: timing fields out of order");
    cJSON_Delete (root);
  }
  check_versus (argv[1], NULL, "portable");
  check_versus (argv[1], "portable", "portable");
  root = run (argv[1], NULL, "no-such-kernels", &status);
  CHECK (!root && status == 2, "an unknown --versus variant gave exit %d, not 2", status);
  cJSON_Delete (root);
  return mc_test_finish ("bench-preprocess");
}
