/* cli_common.c — helpers shared by the subcommands (see cli.h). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"

int
cli_fail (const char *cmd, const mc_error *err)
{
  fprintf (stderr, "mobileclip %s: %s\n", cmd, err->message);
  return 1;
}

const mc_tensor_info *
cli_open_tensor (const char *cmd, const char *spec, mc_tensor_file **file)
{
  const char *colon = strrchr (spec, ':');
  char *path;
  mc_error err = { 0 };
  const mc_tensor_info *t;

  *file = NULL;
  if (!colon || colon == spec || !colon[1]) {
    fprintf (stderr, "mobileclip %s: '%s' is not FILE:TENSOR\n", cmd, spec);
    return NULL;
  }
  path = strndup (spec, (size_t) (colon - spec));
  if (mc_tensor_file_open (path, file, &err) != MC_OK) {
    cli_fail (cmd, &err);
    free (path);
    return NULL;
  }
  t = mc_tensor_file_find (*file, colon + 1);
  if (!t) {
    fprintf (stderr, "mobileclip %s: %s has no tensor '%s'\n", cmd, path, colon + 1);
    mc_tensor_file_close (*file);
    *file = NULL;
  }
  free (path);
  return t;
}

void
cli_print_rows (FILE *out, const char *key, const float *rows, int n, int d)
{
  fprintf (out, "{\"%s\": [", key);
  for (int i = 0; i < n; i++) {
    fputs (i ? ",\n  [" : "\n  [", out);
    for (int j = 0; j < d; j++)
      fprintf (out, j ? ", %.9g" : "%.9g", rows[(size_t) i * d + j]);
    fputc (']', out);
  }
  fputs ("\n]}\n", out);
}

int
cli_parse_precision (const char *cmd, const char *value)
{
  const int p = mc_precision_from_name (value);
  if (p < 0)
    fprintf (stderr, "mobileclip %s: --precision %s: expected auto, fp32, bf16 or int8\n", cmd, value);
  return p;
}

const char *
cli_gemm_kernel (const mc_context *ctx)
{
  switch (mc_context_precision (ctx)) {
    case MC_PRECISION_BF16: return mc_gemm_kernel_name (MC_GEMM_BF16);
    case MC_PRECISION_INT8: return mc_gemm_kernel_name (MC_GEMM_INT8);
    default: return mc_gemm_kernel_name (MC_GEMM_F32);
  }
}

mc_context *
cli_load_model (const char *cmd, const char *model, const char *config,
    int threads, const char *vocab, unsigned towers, mc_precision precision)
{
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };

  if (!model) {
    fprintf (stderr, "mobileclip %s: --model is required\n", cmd);
    return NULL;
  }
  p.config = config;
  p.n_threads = threads;
  p.vocab_path = vocab;
  p.towers = towers;
  p.precision = precision;
  if (mc_context_load (model, &p, &ctx, &err) != MC_OK) {
    cli_fail (cmd, &err);
    return NULL;
  }
  return ctx;
}

int
cli_image_batch (const char *cmd, const mc_tensor_info *t, int *n, int *h, int *w)
{
  const int lead = t->ndim == 4 ? 1 : 0;
  char s[128];
  if ((t->ndim != 4 && t->ndim != 3) || t->shape[lead] != 3 || (lead && t->shape[0] < 1)
      || (t->dtype != MC_DTYPE_F32 && t->dtype != MC_DTYPE_F16 && t->dtype != MC_DTYPE_BF16)) {
    fprintf (stderr, "mobileclip %s: tensor '%s' is %s %s, expected a float [N,3,H,W] or [3,H,W]\n",
        cmd, t->name, mc_dtype_name (t->dtype), mc_shape_str (t->ndim, t->shape, s, sizeof s));
    return 0;
  }
  *n = lead ? (int) t->shape[0] : 1;
  *h = (int) t->shape[lead + 1];
  *w = (int) t->shape[lead + 2];
  return 1;
}
