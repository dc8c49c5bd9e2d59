/* cmd_embed_image.c — `mobileclip embed-image`: embeddings of preprocessed
 * image tensors. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip embed-image --model MODEL --tensor FILE.safetensors:NAME\n"
      "                              [--config NAME|PATH] [--threads N] [--raw]\n"
      "                              [--precision fp32|auto|bf16|int8]\n"
      "Reads an F32 (or F16/BF16) tensor [N,3,H,W] (or one image [3,H,W]) of RGB in\n"
      "[0,1] and prints "
      "{\"embeddings\": [[...], ...]}, L2-normalized unless --raw.\n");
}

int
cli_embed_image (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "tensor", required_argument, NULL, 't' },
    { "threads", required_argument, NULL, 'j' },
    { "raw", no_argument, NULL, 'r' },
    { "precision", required_argument, NULL, CLI_OPT_PRECISION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL, *spec = NULL;
  int threads = 0, raw = 0, opt, rc = 1, n, h, w, precision = MC_PRECISION_FP32;
  mc_tensor_file *file = NULL;
  const mc_tensor_info *t;
  mc_context *ctx = NULL;
  float *pixels = NULL, *emb = NULL;
  mc_error err = { 0 };

  optind = 1;
  while ((opt = getopt_long (argc, argv, "m:c:t:j:rh", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 't': spec = optarg; break;
      case 'j': threads = atoi (optarg); break;
      case 'r': raw = 1; break;
      case CLI_OPT_PRECISION:
        if ((precision = cli_parse_precision ("embed-image", optarg)) < 0)
          return 2;
        break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  if (!model || !spec) {
    usage (stderr);
    return 2;
  }
  t = cli_open_tensor ("embed-image", spec, &file);
  if (!t)
    return 1;
  if (!cli_image_batch ("embed-image", t, &n, &h, &w))
    goto out;
  ctx = cli_load_model ("embed-image", model, config, threads, NULL, MC_TOWER_IMAGE,
      (mc_precision) precision);
  if (!ctx)
    goto out;
  pixels = malloc ((size_t) mc_tensor_numel (t) * sizeof (float));
  emb = malloc ((size_t) n * mc_embed_dim (ctx) * sizeof (float));
  if (!pixels || !emb) {
    fprintf (stderr, "mobileclip embed-image: out of memory\n");
    goto out;
  }
  mc_tensor_to_f32 (t, pixels);
  if (mc_encode_images (ctx, pixels, MC_LAYOUT_NCHW, n, h, w, emb, &err) != MC_OK) {
    cli_fail ("embed-image", &err);
    goto out;
  }
  if (!raw)
    mc_l2_normalize (emb, n, mc_embed_dim (ctx));
  cli_print_rows (stdout, "embeddings", emb, n, mc_embed_dim (ctx));
  rc = 0;
out:
  free (pixels);
  free (emb);
  mc_context_free (ctx);
  mc_tensor_file_close (file);
  return rc;
}
