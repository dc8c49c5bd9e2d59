/* bench_text.c — time to embed a prompt set with a full-size text tower.
 *
 * No real MobileCLIP-S0 text weights are available here, so this writes a
 * checkpoint with the exact names and shapes of the real S0 text tower
 * (text_encoder.* of ../shared/real/mobileclip_s0.keys.tsv; random values
 * drawn as the golden README describes, see tests/common/random_weights.h),
 * loads it with configs/mobileclip_s0.json, and times mc_encode_texts on
 * the 80 COCO labels as "a photo of a <label>." (median and min of
 * --repeats runs after one warm-up).  With --ensemble it also times one
 * mc_prompt_embeddings_compute of coco.txt × templates.txt.
 *
 *   bench-text [--threads N] [--repeats R] [--keys TSV] [--config NAME]
 *              [--vocab FILE] [--ensemble]
 */
#include <getopt.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "random_weights.h"
#include "bench_timing.h"

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "threads", required_argument, NULL, 'j' },
    { "repeats", required_argument, NULL, 'r' },
    { "keys", required_argument, NULL, 'k' },
    { "config", required_argument, NULL, 'c' },
    { "vocab", required_argument, NULL, 'v' },
    { "ensemble", no_argument, NULL, 'e' },
    { NULL, 0, NULL, 0 },
  };
  int threads = 2, repeats = 5, ensemble = 0, opt, n;
  const char *keys = MC_SOURCE_DIR "/../shared/real/mobileclip_s0.keys.tsv";
  const char *config = "mobileclip_s0";
  const char *vocab = MC_DEFAULT_VOCAB_DIR "/bpe_simple_vocab_16e6.txt.gz";
  char *tmpdir, *weights, *coco, *tmpl;
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_prompt_set *set = NULL;
  mc_model_info info;
  mc_error err = { 0 };
  int32_t *ids;
  float *emb;
  double t0, *times;
  int rc = 1;

  while ((opt = getopt_long (argc, argv, "j:r:k:c:v:e", opts, NULL)) != -1) {
    switch (opt) {
      case 'j': threads = atoi (optarg); break;
      case 'r': repeats = MAX (1, atoi (optarg)); break;
      case 'k': keys = optarg; break;
      case 'c': config = optarg; break;
      case 'v': vocab = optarg; break;
      case 'e': ensemble = 1; break;
      default:
        fprintf (stderr, "usage: %s [--threads N] [--repeats R] [--keys TSV] [--config NAME] "
            "[--vocab FILE] [--ensemble]\n", argv[0]);
        return 2;
    }
  }

  tmpdir = g_dir_make_tmp ("mc-bench-text-XXXXXX", NULL);
  weights = g_build_filename (tmpdir, "text.safetensors", NULL);
  t0 = now_ms ();
  if (mc_write_random_weights (keys, "text_encoder.", MC_DTYPE_F32, 7, weights, &err) != MC_OK) {
    fprintf (stderr, "bench-text: %s\n", err.message);
    goto out;
  }
  printf ("random text weights with the real S0 shapes written in %.0f ms\n", now_ms () - t0);

  p.n_threads = threads;
  p.config = config;
  p.towers = MC_TOWER_TEXT;
  p.vocab_path = vocab;
  t0 = now_ms ();
  if (mc_context_load (weights, &p, &ctx, &err) != MC_OK) {
    fprintf (stderr, "bench-text: %s\n", err.message);
    goto out;
  }
  mc_get_model_info (ctx, &info);
  printf ("loaded in %.0f ms: %s, %.2f M parameters, %.3f GMAC per 77-token prompt, %d threads\n",
      now_ms () - t0, info.text_arch, info.text_params / 1e6, info.text_macs / 1e9, mc_n_threads (ctx));

  coco = g_build_filename (MC_SOURCE_DIR, "prompts", "coco.txt", NULL);
  tmpl = g_build_filename (MC_SOURCE_DIR, "prompts", "templates.txt", NULL);
  if (mc_prompt_set_from_file (coco, &set, &err) != MC_OK) {
    fprintf (stderr, "bench-text: %s\n", err.message);
    goto out;
  }
  n = mc_prompt_set_count (set);
  ids = g_new (int32_t, (gsize) n * MC_CONTEXT_LENGTH);
  emb = g_new (float, (gsize) n * mc_embed_dim (ctx));
  times = g_new (double, repeats);
  for (int i = 0; i < n; i++) {
    char *text = g_strdup_printf ("a photo of a %s.", mc_prompt_set_label (set, i));
    if (mc_tokenize (ctx, text, ids + (size_t) i * MC_CONTEXT_LENGTH, &err) != MC_OK) {
      fprintf (stderr, "bench-text: %s\n", err.message);
      g_free (text);
      goto out;
    }
    g_free (text);
  }

  t0 = now_ms ();
  mc_encode_texts (ctx, ids, n, emb, &err);   /* warm-up: plans buffers */
  printf ("first call (plans buffers): %.1f ms\n", now_ms () - t0);
  for (int r = 0; r < repeats; r++) {
    t0 = now_ms ();
    if (mc_encode_texts (ctx, ids, n, emb, &err) != MC_OK) {
      fprintf (stderr, "bench-text: %s\n", err.message);
      goto out;
    }
    times[r] = now_ms () - t0;
  }
  qsort (times, (size_t) repeats, sizeof *times, cmp_double);
  printf ("embed %d COCO prompts: median %.1f ms, min %.1f ms over %d runs "
      "(%.2f ms per prompt, %.1f GFLOP/s)\n", n, times[repeats / 2], times[0], repeats,
      times[repeats / 2] / n, 2.0 * info.text_macs * n / (times[repeats / 2] * 1e6));

  if (ensemble) {
    mc_prompt_embeddings *pe = NULL;
    mc_prompt_cache_report rep;
    if (mc_prompt_set_load_templates (set, tmpl, &err) != MC_OK
        || (t0 = now_ms (), mc_prompt_embeddings_compute (ctx, set, NULL, &pe, &rep, &err)) != MC_OK) {
      fprintf (stderr, "bench-text: %s\n", err.message);
      goto out;
    }
    printf ("ensemble coco.txt x templates.txt: %d texts in %.0f ms\n", rep.n_texts_encoded, now_ms () - t0);
    mc_prompt_embeddings_free (pe);
  }
  g_free (ids);
  g_free (emb);
  g_free (times);
  g_free (coco);
  g_free (tmpl);
  rc = 0;
out:
  mc_prompt_set_free (set);
  mc_context_free (ctx);
  g_unlink (weights);
  g_rmdir (tmpdir);
  g_free (weights);
  g_free (tmpdir);
  return rc;
}
