/* cmd_embed_text.c — `mobileclip embed-text`: embeddings of prompt texts or
 * of token ids stored in a safetensors tensor. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip embed-text --model MODEL (TEXT... | --tokens FILE.safetensors:NAME)\n"
      "                             [--config NAME|PATH] [--vocab FILE] [--threads N] [--raw]\n"
      "                             [--precision fp32|auto|bf16|int8]\n"
      "Tokenizes each TEXT (or reads integer token ids [N,77]) and prints\n"
      "{\"embeddings\": [[...], ...]}, L2-normalized unless --raw.\n");
}

/* Integer ids [N, 77] (or one row [77]) as int32. */
static int32_t *
read_token_rows (const mc_tensor_info *t, int *n)
{
  const int64_t rows = t->ndim == 1 ? 1 : t->shape[0];
  const int64_t cols = t->shape[t->ndim - 1];
  int32_t *ids;

  if ((t->ndim != 1 && t->ndim != 2) || cols != MC_CONTEXT_LENGTH || rows < 1 || rows > (1 << 24)
      || (t->dtype != MC_DTYPE_I32 && t->dtype != MC_DTYPE_I64)) {
    char s[128];
    fprintf (stderr, "mobileclip embed-text: tensor '%s' is %s %s, expected integer ids [N,%d]\n",
        t->name, mc_dtype_name (t->dtype), mc_shape_str (t->ndim, t->shape, s, sizeof s),
        MC_CONTEXT_LENGTH);
    return NULL;
  }
  ids = malloc ((size_t) rows * cols * sizeof (int32_t));
  if (!ids)
    return NULL;
  for (int64_t i = 0; i < rows * cols; i++) {
    int64_t v = t->dtype == MC_DTYPE_I32 ? ((const int32_t *) t->data)[i] : ((const int64_t *) t->data)[i];
    /* out-of-range ids are refused by the encoder, which names them */
    ids[i] = v < INT32_MIN || v > INT32_MAX ? -1 : (int32_t) v;
  }
  *n = (int) rows;
  return ids;
}

int
cli_embed_text (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "tokens", required_argument, NULL, 't' },
    { "vocab", required_argument, NULL, 'v' },
    { "threads", required_argument, NULL, 'j' },
    { "raw", no_argument, NULL, 'r' },
    { "precision", required_argument, NULL, CLI_OPT_PRECISION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL, *spec = NULL, *vocab = NULL;
  int threads = 0, raw = 0, opt, rc = 1, n = 0, precision = MC_PRECISION_FP32;
  mc_tensor_file *file = NULL;
  mc_context *ctx = NULL;
  int32_t *ids = NULL;
  float *emb = NULL;
  mc_error err = { 0 };

  optind = 1;
  while ((opt = getopt_long (argc, argv, "m:c:t:v:j:rh", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 't': spec = optarg; break;
      case 'v': vocab = optarg; break;
      case 'j': threads = atoi (optarg); break;
      case 'r': raw = 1; break;
      case CLI_OPT_PRECISION:
        if ((precision = cli_parse_precision ("embed-text", optarg)) < 0)
          return 2;
        break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  if (!model || (!spec) == (optind >= argc)) {
    fprintf (stderr, "mobileclip embed-text: give --model and either TEXT arguments or --tokens\n");
    usage (stderr);
    return 2;
  }
  if (spec) {
    const mc_tensor_info *t = cli_open_tensor ("embed-text", spec, &file);
    if (!t || !(ids = read_token_rows (t, &n)))
      goto out;
  }
  ctx = cli_load_model ("embed-text", model, config, threads, vocab, MC_TOWER_TEXT,
      (mc_precision) precision);
  if (!ctx)
    goto out;
  if (!spec) {
    n = argc - optind;
    ids = malloc ((size_t) n * MC_CONTEXT_LENGTH * sizeof (int32_t));
    if (!ids) {
      fprintf (stderr, "mobileclip embed-text: out of memory\n");
      goto out;
    }
    for (int i = 0; i < n; i++)
      if (mc_tokenize (ctx, argv[optind + i], ids + (size_t) i * MC_CONTEXT_LENGTH, &err) != MC_OK) {
        fprintf (stderr, "mobileclip embed-text: text %d: %s\n", i + 1, err.message);
        goto out;
      }
  }
  emb = malloc ((size_t) n * mc_embed_dim (ctx) * sizeof (float));
  if (!emb) {
    fprintf (stderr, "mobileclip embed-text: out of memory\n");
    goto out;
  }
  if (mc_encode_texts (ctx, ids, n, emb, &err) != MC_OK) {
    cli_fail ("embed-text", &err);
    goto out;
  }
  if (!raw)
    mc_l2_normalize (emb, n, mc_embed_dim (ctx));
  cli_print_rows (stdout, "embeddings", emb, n, mc_embed_dim (ctx));
  rc = 0;
out:
  free (ids);
  free (emb);
  mc_context_free (ctx);
  mc_tensor_file_close (file);
  return rc;
}
