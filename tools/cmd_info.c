/* cmd_info.c — `mobileclip info`: architecture, parameters and MACs. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip info --model MODEL [--config NAME|PATH]\n"
      "Prints the model's architecture, training-form parameter counts and the\n"
      "multiply-accumulates of one forward pass at the config's image size, and\n"
      "the precision and GEMM kernel a default (auto) load runs here (JSON).\n");
}

int
cli_info (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL;
  mc_context *ctx;
  mc_model_info info;
  int opt;

  optind = 1;
  while ((opt = getopt_long (argc, argv, "m:c:h", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  ctx = cli_load_model ("info", model, config, 1, NULL, 0, MC_PRECISION_AUTO);
  if (!ctx)
    return 1;
  mc_get_model_info (ctx, &info);
  printf ("{\n");
  printf ("  \"fingerprint\": \"%s\",\n", mc_fingerprint (ctx));
  printf ("  \"embed_dim\": %d,\n", mc_embed_dim (ctx));
  printf ("  \"logit_scale\": %.9g,\n", mc_logit_scale (ctx));
  /* the kernel the load packed for (e.g. amx-bf16, avx512bf16, avx2) */
  printf ("  \"precision\": \"%s\", \"gemm_kernel\": \"%s\",\n",
      mc_precision_name (mc_context_precision (ctx)), cli_gemm_kernel (ctx));
  if (info.image_arch)
    printf ("  \"image\": {\"arch\": \"%s\", \"image_size\": %d, \"params\": %lld, "
        "\"macs\": %lld, \"gmacs\": %.4f},\n", info.image_arch, mc_image_size (ctx),
        (long long) info.image_params, (long long) info.image_macs, info.image_macs / 1e9);
  else
    printf ("  \"image\": null,\n");
  if (info.text_arch)
    printf ("  \"text\": {\"arch\": \"%s\", \"context_length\": %d, \"params\": %lld, "
        "\"macs\": %lld, \"gmacs\": %.4f}\n", info.text_arch, mc_context_length (ctx),
        (long long) info.text_params, (long long) info.text_macs, info.text_macs / 1e9);
  else
    printf ("  \"text\": null\n");
  printf ("}\n");
  mc_context_free (ctx);
  return 0;
}
