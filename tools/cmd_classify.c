/* cmd_classify.c — `mobileclip classify`: zero-shot labels for preprocessed
 * images, from a prompt set (with its embeddings cache). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void
usage (FILE *f)
{
  fprintf (f,
      "usage: mobileclip classify --model MODEL --tensor FILE.safetensors:NAME\n"
      "                           (--prompts \"a;b|b2;c\" | --prompts-file FILE)\n"
      "                           [--templates-file FILE] [--embeddings-file FILE]\n"
      "                           [--top-k K] [--config NAME|PATH] [--vocab FILE] [--threads N]\n"
      "                           [--precision fp32|auto|bf16|int8]\n"
      "Embeds the images of an F32 tensor [N,3,H,W] (RGB in [0,1]) and the prompts\n"
      "(one embedding per label: the mean over its phrasings x templates), and prints\n"
      "for each image the K most probable labels (softmax of scale x cosine; K = 0:\n"
      "all) as JSON.  --embeddings-file caches the prompt embeddings between runs;\n"
      "the prompt file format is described in docs/prompts.md.\n");
}

static void
print_json_string (FILE *out, const char *s)
{
  fputc ('"', out);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf (out, "\\%c", *p);
    else if (*p == '\n')
      fputs ("\\n", out);
    else if (*p == '\t')
      fputs ("\\t", out);
    else if (*p < 0x20)
      fprintf (out, "\\u%04x", *p);
    else
      fputc (*p, out);
  }
  fputc ('"', out);
}

static void
print_results (const mc_prompt_embeddings *pe, const float *img, int n_img, int d,
    float scale, int top_k, const mc_prompt_cache_report *rep, mc_score *scores)
{
  const int n_labels = mc_prompt_embeddings_count (pe);
  const int k = top_k <= 0 || top_k > n_labels ? n_labels : top_k;

  printf ("{\n  \"labels\": [");
  for (int l = 0; l < n_labels; l++) {
    fputs (l ? ", " : "", stdout);
    print_json_string (stdout, mc_prompt_embeddings_label (pe, l));
  }
  printf ("],\n  \"logit_scale\": %.9g,\n", scale);
  if (rep)
    printf ("  \"prompt_cache\": {\"reused\": %d, \"computed\": %d, \"hit\": %s, \"written\": %s},\n",
        rep->n_reused, rep->n_computed, rep->cache_hit ? "true" : "false",
        rep->cache_written ? "true" : "false");
  printf ("  \"results\": [");
  for (int i = 0; i < n_img; i++) {
    mc_zero_shot (img + (size_t) i * d, mc_prompt_embeddings_data (pe), n_labels, d, scale, scores);
    printf ("%s\n    {\"image\": %d, \"top\": [", i ? "," : "", i);
    for (int j = 0; j < k; j++) {
      printf ("%s\n      {\"label\": ", j ? "," : "");
      print_json_string (stdout, mc_prompt_embeddings_label (pe, scores[j].label));
      printf (", \"index\": %d, \"prob\": %.6g, \"cosine\": %.6g}", scores[j].label,
          scores[j].prob, scores[j].cosine);
    }
    printf ("\n    ]}");
  }
  printf ("\n  ]\n}\n");
}

int
cli_classify (int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "config", required_argument, NULL, 'c' },
    { "tensor", required_argument, NULL, 't' },
    { "prompts", required_argument, NULL, 'p' },
    { "prompts-file", required_argument, NULL, 'P' },
    { "templates-file", required_argument, NULL, 'T' },
    { "embeddings-file", required_argument, NULL, 'e' },
    { "top-k", required_argument, NULL, 'k' },
    { "vocab", required_argument, NULL, 'v' },
    { "threads", required_argument, NULL, 'j' },
    { "precision", required_argument, NULL, CLI_OPT_PRECISION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model = NULL, *config = NULL, *spec = NULL, *prompts = NULL;
  const char *prompts_file = NULL, *templates_file = NULL, *cache = NULL, *vocab = NULL;
  int threads = 0, top_k = 5, opt, rc = 1, n_img, img_h, img_w, d;
  int precision = MC_PRECISION_FP32;
  mc_tensor_file *file = NULL;
  const mc_tensor_info *t;
  mc_context *ctx = NULL;
  mc_prompt_set *set = NULL;
  mc_prompt_embeddings *pe = NULL;
  mc_prompt_cache_report rep;
  float *pixels = NULL, *emb = NULL;
  mc_score *scores = NULL;
  mc_error err = { 0 };

  optind = 1;
  while ((opt = getopt_long (argc, argv, "m:c:t:p:P:T:e:k:v:j:h", opts, NULL)) != -1) {
    switch (opt) {
      case 'm': model = optarg; break;
      case 'c': config = optarg; break;
      case 't': spec = optarg; break;
      case 'p': prompts = optarg; break;
      case 'P': prompts_file = optarg; break;
      case 'T': templates_file = optarg; break;
      case 'e': cache = optarg; break;
      case 'k': top_k = atoi (optarg); break;
      case 'v': vocab = optarg; break;
      case 'j': threads = atoi (optarg); break;
      case CLI_OPT_PRECISION:
        if ((precision = cli_parse_precision ("classify", optarg)) < 0)
          return 2;
        break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
    }
  }
  if (!model || !spec || (!prompts) == (!prompts_file) || optind < argc) {
    fprintf (stderr, "mobileclip classify: give --model, --tensor and one of --prompts / --prompts-file\n");
    usage (stderr);
    return 2;
  }

  /* the prompt set first: a bad prompt file fails before the model loads */
  if ((prompts ? mc_prompt_set_from_string (prompts, &set, &err)
          : mc_prompt_set_from_file (prompts_file, &set, &err)) != MC_OK
      || (templates_file && mc_prompt_set_load_templates (set, templates_file, &err) != MC_OK)) {
    cli_fail ("classify", &err);
    goto out;
  }
  t = cli_open_tensor ("classify", spec, &file);
  if (!t)
    goto out;
  if (!cli_image_batch ("classify", t, &n_img, &img_h, &img_w))
    goto out;
  ctx = cli_load_model ("classify", model, config, threads, vocab, MC_TOWER_ALL,
      (mc_precision) precision);
  if (!ctx)
    goto out;
  if (mc_prompt_embeddings_compute (ctx, set, cache, &pe, &rep, &err) != MC_OK) {
    cli_fail ("classify", &err);
    goto out;
  }
  if (rep.warning[0])
    fprintf (stderr, "mobileclip classify: warning: %s\n", rep.warning);

  d = mc_embed_dim (ctx);
  pixels = malloc ((size_t) mc_tensor_numel (t) * sizeof (float));
  emb = malloc ((size_t) n_img * d * sizeof (float));
  scores = malloc ((size_t) mc_prompt_embeddings_count (pe) * sizeof (mc_score));
  if (!pixels || !emb || !scores) {
    fprintf (stderr, "mobileclip classify: out of memory\n");
    goto out;
  }
  mc_tensor_to_f32 (t, pixels);
  if (mc_encode_images (ctx, pixels, MC_LAYOUT_NCHW, n_img, img_h, img_w, emb, &err) != MC_OK) {
    cli_fail ("classify", &err);
    goto out;
  }
  print_results (pe, emb, n_img, d, mc_logit_scale_exp (ctx), top_k, cache ? &rep : NULL, scores);
  rc = 0;
out:
  free (pixels);
  free (emb);
  free (scores);
  mc_prompt_embeddings_free (pe);
  mc_prompt_set_free (set);
  mc_context_free (ctx);
  mc_tensor_file_close (file);
  return rc;
}
