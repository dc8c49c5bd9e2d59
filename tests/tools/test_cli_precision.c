/* test_cli_precision.c — `--precision` of the CLI (the built command's path
 * is argv[1]) on tiny_s0:
 *  - embed-text and embed-image with bf16 and with int8 against the golden
 *    fp32 embeddings: every row's cosine >= 0.999 (printed), and not the
 *    fp32 bits (the precision ran);
 *  - bench names the precision that ran and the GEMM kernel in its JSON
 *    (for bf16 an emulated kernel unless the CPU has AVX512-BF16; for int8
 *    the int8 kernel, mc_gemm_kernel_name (MC_GEMM_INT8));
 *  - a precision that does not exist is a usage error (exit 2).
 */
#include <cjson/cJSON.h>
#include <glib.h>

#include "io/tensor_file.h"
#include "ops/gemm_kernels.h"
#include "runtime/cpu.h"
#include "test_spawn.h"
#include "test_util.h"
#include "test_tensors.h"

static const char *cli;
/* the precisions other than fp32 */
static const char *const reduced[] = { "bf16", "int8" };

static int
run (const char *const *argv, char **out)
{
  return mc_test_run (argv, out, NULL);
}

/* Rows of {"embeddings": [[...], ...]} computed in precision prec against
 * the fp32 ref [n × d]. */
static void
check_rows (const char *what, const char *prec, const char *json,
    const float *ref, int n, int d)
{
  cJSON *root = cJSON_Parse (json ? json : "");
  const cJSON *rows = cJSON_GetObjectItem (root, "embeddings");
  double worst = 1.0, maxdiff = 0;

  if (!ref) {
    CHECK (0, "%s: the golden file has no reference embedding", what);
    cJSON_Delete (root);
    return;
  }

  CHECK (cJSON_GetArraySize (rows) == n, "%s: %d rows, expected %d", what,
      cJSON_GetArraySize (rows), n);
  for (int i = 0; i < n && i < cJSON_GetArraySize (rows); i++) {
    const cJSON *row = cJSON_GetArrayItem (rows, i);
    double dot = 0, na = 0, nb = 0;
    CHECK (cJSON_GetArraySize (row) == d, "%s: row %d has %d values", what, i,
        cJSON_GetArraySize (row));
    for (int j = 0; j < d && j < cJSON_GetArraySize (row); j++) {
      const double x = cJSON_GetArrayItem (row, j)->valuedouble;
      const double y = ref[(size_t) i * d + j];
      dot += x * y;
      na += x * x;
      nb += y * y;
      if (fabs (x - y) > maxdiff)
        maxdiff = fabs (x - y);
    }
    if (!(dot / sqrt (na * nb) >= worst))
      worst = dot / sqrt (na * nb);
  }
  printf ("  %-32s min cosine to the fp32 reference %.6f, max|diff| %.3g\n",
      what, worst, maxdiff);
  CHECK (worst >= 0.999, "%s: cosine %.6f < 0.999", what, worst);
  CHECK (maxdiff > 1e-6, "%s: identical to fp32: %s did not run", what, prec);
  cJSON_Delete (root);
}

int
main (int argc, char **argv)
{
  const char *golden = mc_test_golden_dir ();
  char *dir, *io_path, *tokens, *image, *out = NULL;
  mc_tensor_file *io = NULL;
  mc_error err = { 0 };

  if (!golden)
    return MC_TEST_SKIP;
  if (argc < 2) {
    fprintf (stderr, "usage: %s PATH-TO-mobileclip\n", argv[0]);
    return 1;
  }
  cli = argv[1];
  dir = g_build_filename (golden, "tiny_s0", NULL);
  io_path = g_build_filename (dir, "io.safetensors", NULL);
  tokens = g_strconcat (io_path, ":text_tokens", NULL);
  image = g_strconcat (io_path, ":image", NULL);
  if (mc_tensor_file_open (io_path, &io, &err) != MC_OK) {
    CHECK (0, "%s", err.message);
    return mc_test_finish ("cli-precision");
  }

  for (size_t p = 0; p < G_N_ELEMENTS (reduced); p++) {
    const char *args[] = { cli, "embed-text", "--model", dir, "--tokens", tokens,
      "--raw", "--precision", reduced[p], NULL };
    float *ref = mc_test_read_f32 (io, "text_embedding", NULL);
    char what[64];
    CHECK (run (args, &out) == 0, "embed-text --precision %s failed", reduced[p]);
    snprintf (what, sizeof what, "embed-text --precision %s", reduced[p]);
    check_rows (what, reduced[p], out, ref, 6, 32);
    g_free (ref);
    g_free (out);
  }
  for (size_t p = 0; p < G_N_ELEMENTS (reduced); p++) {
    const char *args[] = { cli, "embed-image", "--model", dir, "--tensor", image,
      "--raw", "--precision", reduced[p], NULL };
    float *ref = mc_test_read_f32 (io, "image_embedding", NULL);
    char what[64];
    CHECK (run (args, &out) == 0, "embed-image --precision %s failed", reduced[p]);
    snprintf (what, sizeof what, "embed-image --precision %s", reduced[p]);
    check_rows (what, reduced[p], out, ref, 2, 32);
    g_free (ref);
    g_free (out);
  }
  for (int p = 0; p < 3; p++) {
    const char *prec = p ? reduced[p - 1] : "fp32";
    const char *args[] = { cli, "bench", "--model", dir, "--iterations", "2",
      "--warmup", "0", "--precision", prec, NULL };
    cJSON *root;
    const char *ran, *kernel;
    CHECK (run (args, &out) == 0, "bench --precision %s failed", prec);
    root = cJSON_Parse (out ? out : "");
    ran = cJSON_GetStringValue (cJSON_GetObjectItem (root, "precision"));
    kernel = cJSON_GetStringValue (cJSON_GetObjectItem (root, "gemm_kernel"));
    printf ("  bench --precision %s: precision \"%s\", gemm_kernel \"%s\"\n", prec,
        ran ? ran : "(none)", kernel ? kernel : "(none)");
    CHECK (ran && !strcmp (ran, prec), "bench ran %s", ran ? ran : "(none)");
    /* the kernel of the precision's panels: "…bf16…", "…int8", or neither */
    CHECK (kernel && (strstr (kernel, "bf16") != NULL) == (p == 1)
        && (strstr (kernel, "int8") != NULL) == (p == 2), "kernel %s",
        kernel ? kernel : "(none)");
    if (p == 2 && kernel)
      CHECK (!strcmp (kernel, mc_gemm_kernel_name (MC_GEMM_INT8)),
          "bench says %s, the int8 kernel here is %s", kernel,
          mc_gemm_kernel_name (MC_GEMM_INT8));
    if (p == 1 && kernel) {
      /* a native kernel exactly where cpuid has AVX512-BF16; AMX where
       * this process may use it too, unless MC_GEMM_AMX says otherwise */
      const int native = !strcmp (kernel, "avx512bf16")
          || !strcmp (kernel, "amx-bf16");
      CHECK (native == !!mc_cpu_get_features ()->avx512_bf16,
          "bf16 kernel %s on a CPU %s AVX512-BF16", kernel,
          mc_cpu_get_features ()->avx512_bf16 ? "with" : "without");
      if (mc_gemm_bf16_amx_kernels (NULL) && !g_getenv ("MC_GEMM_AMX")
          && !g_getenv ("MC_GEMM_VARIANT"))
        CHECK (!strcmp (kernel, "amx-bf16"), "bf16 kernel %s where AMX is "
            "usable", kernel);
    }
    cJSON_Delete (root);
    g_free (out);
  }
  {
    const char *args[] = { cli, "embed-text", "--model", dir, "--precision", "int4",
      "a dog", NULL };
    CHECK (run (args, NULL) == 2, "--precision int4 is not a usage error");
  }

  mc_tensor_file_close (io);
  g_free (dir);
  g_free (io_path);
  g_free (tokens);
  g_free (image);
  return mc_test_finish ("cli-precision");
}
