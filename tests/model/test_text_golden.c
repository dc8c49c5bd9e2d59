/* test_text_golden.c — Apple's text towers against the reference outputs.
 *
 * tiny_s0 (`mct`, non-causal) and tiny_s1b (`base`, causal):
 *  - every dbg.text.* tap and text_embedding (and text_embedding_reparam for
 *    tiny_s0) from text_tokens, at |ours − ref| <= 1e-4 + 1e-4·max|ref|;
 *  - the same through the public context, plus logits_per_image from our
 *    image and text embeddings with the model's clamped scale;
 *  - with the vocabulary: prompts.json → mc_tokenize → ids equal to
 *    text_tokens, and their embeddings;
 *  - batches that are split into chunks, a causal batch of short prompts
 *    (the shortened pass) and one prompt alone give the same rows;
 *  - the training-form text parameter count equals the file's;
 *  - an out-of-range token id is refused.
 * tiny_b's text tower (`base`, dim 8, causal) through a config holding only
 * its text_cfg (its ViT image tower is not supported here).
 */
#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "io/config.h"
#include "io/tensor_file.h"
#include "model/text_encoder.h"
#include "model/weights.h"
#include "test_util.h"
#include "test_tensors.h"

#define TOL_ABS 1e-4
#define TOL_REL 1e-4

typedef struct {
  const mc_tensor_file *io;
  int checked;
} tap_ctx;

static void
compare_tap (void *user, const char *name, const float *x, int n, int T, int d)
{
  tap_ctx *t = user;
  char *key = g_strdup_printf ("dbg.text.%s", name);
  const mc_tensor_info *ref = mc_tensor_file_find (t->io, key);
  int64_t numel = (int64_t) n * T * d;

  CHECK (ref != NULL, "golden file lacks %s", key);
  if (ref) {
    CHECK (mc_tensor_numel (ref) == numel, "%s: size %lld, ours %lld", key,
        (long long) mc_tensor_numel (ref), (long long) numel);
    if (mc_tensor_numel (ref) == numel) {
      float *r = g_new (float, (gsize) numel);
      mc_tensor_to_f32 (ref, r);
      mc_check_close (key, x, r, (size_t) numel, TOL_ABS, TOL_REL);
      g_free (r);
      t->checked++;
    }
  }
  g_free (key);
}

static int32_t *
read_tokens (const mc_tensor_file *io, int *n)
{
  const mc_tensor_info *t = mc_tensor_file_find (io, "text_tokens");
  int32_t *ids;
  if (!t || t->dtype != MC_DTYPE_I32 || t->ndim != 2 || t->shape[1] != MC_CONTEXT_LENGTH)
    return NULL;
  *n = (int) t->shape[0];
  ids = g_new (int32_t, (gsize) mc_tensor_numel (t));
  memcpy (ids, t->data, t->nbytes);
  return ids;
}

/* Training-form parameters of the text tower as stored: every
 * text_encoder.* element except BatchNorm running statistics. */
static int64_t
count_text_params (const mc_tensor_file *f)
{
  int64_t n = 0;
  for (size_t i = 0; i < mc_tensor_file_count (f); i++) {
    const mc_tensor_info *t = mc_tensor_file_at (f, i);
    if (g_str_has_prefix (t->name, "text_encoder.")
        && !g_str_has_suffix (t->name, ".running_mean")
        && !g_str_has_suffix (t->name, ".running_var")
        && !g_str_has_suffix (t->name, ".num_batches_tracked"))
      n += mc_tensor_numel (t);
  }
  return n;
}

/* The encoder built directly, with taps on every stage. */
static void
check_taps (const mc_model_config *cfg, const mc_tensor_file *wf, const mc_tensor_file *io,
    const int32_t *tokens, int n, const float *ref_emb)
{
  mc_error err = { 0 };
  mc_weights *w = mc_weights_new (wf, "text_encoder.", &err);
  mc_text_encoder *te = NULL;
  mc_threadpool *pool = mc_threadpool_new (2);
  float *emb = g_new (float, (gsize) n * cfg->embed_dim);
  tap_ctx tc = { io, 0 };

  CHECK (mc_text_encoder_build (&cfg->text, cfg->embed_dim, w, &te, &err) == MC_OK, "%s", err.message);
  CHECK (mc_weights_check_all_used (w, "text_encoder.") == MC_OK, "unused text weights");
  mc_weights_free (w);
  if (te) {
    mc_text_encoder_set_tap (te, compare_tap, &tc);
    CHECK (mc_text_encoder_forward (te, pool, tokens, n, emb, &err) == MC_OK, "%s", err.message);
    mc_check_close ("text_embedding (taps on, all 77 positions)", emb, ref_emb,
        (size_t) n * cfg->embed_dim, TOL_ABS, TOL_REL);
    /* embed, one per layer, final_ln, eot_feature */
    int layers = cfg->text.n_layers + (cfg->text.variant == MC_TEXT_MCT ? 2 : 0);
    CHECK (tc.checked == layers + 3, "compared %d taps, expected %d", tc.checked, layers + 3);
    printf ("  (%d dbg.text taps compared)\n", tc.checked);
  }
  mc_text_encoder_free (te);
  mc_threadpool_free (pool);
  g_free (emb);
}

/* Our image and text embeddings → logits = scale · cosine, as
 * logits_per_image [n_img, n_txt]. */
static void
check_logits (mc_context *ctx, const mc_tensor_file *io, const float *text_emb, int n_txt)
{
  const mc_tensor_info *img = mc_tensor_file_find (io, "image");
  const int e = mc_embed_dim (ctx);
  mc_error err = { 0 };
  int64_t numel;
  float *ref = mc_test_read_f32 (io, "logits_per_image", &numel);
  float *px, *iemb, *logits;
  mc_score *scores = g_new (mc_score, n_txt);
  int n_img;

  if (!img || !ref || !mc_has_image (ctx)) {
    CHECK (0, "no image, logits_per_image or image tower");
    g_free (ref);
    g_free (scores);
    return;
  }
  n_img = (int) img->shape[0];
  px = mc_test_read_f32 (io, "image", NULL);
  iemb = g_new (float, (gsize) n_img * e);
  logits = g_new (float, (gsize) n_img * n_txt);
  CHECK (mc_encode_images (ctx, px, MC_LAYOUT_NCHW, n_img, (int) img->shape[2], (int) img->shape[3],
          iemb, &err) == MC_OK, "%s", err.message);
  for (int i = 0; i < n_img; i++) {
    mc_zero_shot (iemb + (size_t) i * e, text_emb, n_txt, e, mc_logit_scale_exp (ctx), scores);
    for (int j = 0; j < n_txt; j++)
      logits[(size_t) i * n_txt + scores[j].label] = mc_logit_scale_exp (ctx) * scores[j].cosine;
  }
  CHECK (numel == (int64_t) n_img * n_txt, "logits_per_image size");
  if (numel == (int64_t) n_img * n_txt)
    mc_check_close ("logits_per_image (scale · cosine)", logits, ref, (size_t) numel, TOL_ABS, TOL_REL);
  g_free (px);
  g_free (iemb);
  g_free (logits);
  g_free (ref);
  g_free (scores);
}

/* prompts.json → mc_tokenize → the golden ids and embeddings. */
static void
check_real_text (mc_context *ctx, const char *dir, const int32_t *tokens, int n, const float *ref)
{
  char *path = g_build_filename (dir, "prompts.json", NULL);
  char *json = NULL;
  cJSON *arr;
  int32_t *ids;
  float *emb;
  mc_error err = { 0 };
  int same = 1;

  if (!g_file_get_contents (path, &json, NULL, NULL)) {
    CHECK (0, "cannot read %s", path);
    g_free (path);
    return;
  }
  arr = cJSON_Parse (json);
  CHECK (cJSON_GetArraySize (arr) == n, "prompts.json has %d prompts", cJSON_GetArraySize (arr));
  ids = g_new0 (int32_t, (gsize) n * MC_CONTEXT_LENGTH);
  emb = g_new (float, (gsize) n * mc_embed_dim (ctx));
  for (int i = 0; i < n && i < cJSON_GetArraySize (arr); i++) {
    const char *s = cJSON_GetStringValue (cJSON_GetArrayItem (arr, i));
    CHECK (mc_tokenize (ctx, s, ids + (size_t) i * MC_CONTEXT_LENGTH, &err) == MC_OK, "%s", err.message);
    if (memcmp (ids + (size_t) i * MC_CONTEXT_LENGTH, tokens + (size_t) i * MC_CONTEXT_LENGTH,
            MC_CONTEXT_LENGTH * sizeof (int32_t))) {
      CHECK (0, "prompt %d: our token ids differ from text_tokens", i);
      same = 0;
    }
  }
  printf ("  prompts.json tokenized: %s\n", same ? "ids identical to text_tokens" : "ids DIFFER");
  CHECK (mc_encode_texts (ctx, ids, n, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("text_embedding from prompts.json strings", emb, ref,
      (size_t) n * mc_embed_dim (ctx), TOL_ABS, TOL_REL);
  cJSON_Delete (arr);
  g_free (json);
  g_free (ids);
  g_free (emb);
  g_free (path);
}

/* Rows must not depend on the batch around them: chunked batches, a batch
 * of short prompts (a causal model runs only their positions) and one row
 * alone on one thread. */
static void
check_batches (mc_context *ctx, const int32_t *tokens, int n, const float *ref)
{
  const int e = mc_embed_dim (ctx), reps = 7, big = n * reps;   /* 42 rows: 3 chunks */
  int32_t *many = g_new (int32_t, (gsize) big * MC_CONTEXT_LENGTH);
  float *emb = g_new (float, (gsize) big * e), *refs = g_new (float, (gsize) big * e);
  mc_error err = { 0 };

  for (int r = 0; r < reps; r++) {
    memcpy (many + (size_t) r * n * MC_CONTEXT_LENGTH, tokens, (size_t) n * MC_CONTEXT_LENGTH * sizeof (int32_t));
    memcpy (refs + (size_t) r * n * e, ref, (size_t) n * e * sizeof (float));
  }
  CHECK (mc_encode_texts (ctx, many, big, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("42 prompts in chunks", emb, refs, (size_t) big * e, TOL_ABS, TOL_REL);
  /* the first five golden prompts are at most 23 tokens long */
  CHECK (mc_encode_texts (ctx, tokens, 5, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("5 short prompts", emb, ref, (size_t) 5 * e, TOL_ABS, TOL_REL);
  CHECK (mc_encode_texts (ctx, tokens + 3 * MC_CONTEXT_LENGTH, 1, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("prompt 3 alone", emb, ref + 3 * e, (size_t) e, TOL_ABS, TOL_REL);

  /* an id outside the vocabulary is refused, naming it */
  many[5] = 49408;
  CHECK (mc_encode_texts (ctx, many, 1, emb, &err) == MC_ERR_INVALID_ARGUMENT, "id 49408 accepted");
  printf ("  out-of-vocabulary id: %s\n", err.message);
  g_free (many);
  g_free (emb);
  g_free (refs);
}

static mc_context *
load_context (const char *model, const char *config, unsigned towers, const char *vocab)
{
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  p.n_threads = 2;
  p.config = config;
  p.towers = towers;
  p.vocab_path = vocab;
  CHECK (mc_context_load (model, &p, &ctx, &err) == MC_OK, "%s: %s", model, err.message);
  return ctx;
}

static void
run_case (const char *golden, const char *vocab, const char *name)
{
  char *dir = g_build_filename (golden, name, NULL);
  char *cfg_path = g_build_filename (dir, "config.json", NULL);
  char *wpath = g_build_filename (dir, "weights.safetensors", NULL);
  char *iopath = g_build_filename (dir, "io.safetensors", NULL);
  mc_tensor_file *wf = NULL, *io = NULL;
  mc_model_config cfg;
  mc_error err = { 0 };
  mc_context *ctx = NULL;
  int32_t *tokens = NULL;
  float *ref = NULL, *ref_rp = NULL, *emb = NULL;
  int n = 0;

  printf ("%s:\n", name);
  CHECK (mc_config_load (cfg_path, &cfg, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (wpath, &wf, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (iopath, &io, &err) == MC_OK, "%s", err.message);
  if (!wf || !io)
    goto out;
  tokens = read_tokens (io, &n);
  ref = mc_test_read_f32 (io, "text_embedding", NULL);
  ref_rp = mc_test_read_f32 (io, "text_embedding_reparam", NULL);
  CHECK (tokens && ref, "io.safetensors lacks text_tokens or text_embedding");
  if (!tokens || !ref)
    goto out;

  check_taps (&cfg, wf, io, tokens, n, ref);

  ctx = load_context (dir, NULL, 0, vocab);
  if (!ctx)
    goto out;
  CHECK (mc_has_text (ctx) && mc_has_image (ctx), "both towers expected");
  emb = g_new (float, (gsize) n * cfg.embed_dim);
  CHECK (mc_encode_texts (ctx, tokens, n, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("text_embedding (context)", emb, ref, (size_t) n * cfg.embed_dim, TOL_ABS, TOL_REL);
  if (ref_rp)
    mc_check_close ("text_embedding_reparam (context)", emb, ref_rp, (size_t) n * cfg.embed_dim,
        TOL_ABS, TOL_REL);
  check_logits (ctx, io, emb, n);
  check_batches (ctx, tokens, n, ref);
  {
    mc_model_info info;
    mc_get_model_info (ctx, &info);
    CHECK (info.text_arch && !strcmp (info.text_arch, cfg.text.model_name), "text_arch");
    CHECK (info.text_params == count_text_params (wf), "text_params %lld, file holds %lld",
        (long long) info.text_params, (long long) count_text_params (wf));
    CHECK (info.text_macs > 0, "text_macs");
    printf ("  info: %s, %lld text parameters, %lld MACs per prompt\n", info.text_arch,
        (long long) info.text_params, (long long) info.text_macs);
  }
  if (vocab)
    check_real_text (ctx, dir, tokens, n, ref);

out:
  mc_context_free (ctx);
  mc_tensor_file_close (wf);
  mc_tensor_file_close (io);
  g_free (tokens);
  g_free (ref);
  g_free (ref_rp);
  g_free (emb);
  g_free (dir);
  g_free (cfg_path);
  g_free (wpath);
  g_free (iopath);
}

/* tiny_b: its image tower is a ViT, so load the text tower alone through a
 * config made of tiny_b's embed_dim and text_cfg. */
static void
run_tiny_b (const char *golden, const char *vocab)
{
  char *dir = g_build_filename (golden, "tiny_b", NULL);
  char *cfg_path = g_build_filename (dir, "config.json", NULL);
  char *wpath = g_build_filename (dir, "weights.safetensors", NULL);
  char *iopath = g_build_filename (dir, "io.safetensors", NULL);
  char *tmpdir = g_dir_make_tmp ("mc-text-golden-XXXXXX", NULL);
  char *text_cfg = g_build_filename (tmpdir, "tiny_b_text.json", NULL);
  char *json = NULL;
  cJSON *root = NULL, *only = NULL;
  mc_tensor_file *io = NULL, *wf = NULL;
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  int32_t *tokens = NULL;
  float *ref = NULL, *emb = NULL;
  int n = 0;

  printf ("tiny_b (text tower only):\n");
  if (!g_file_get_contents (cfg_path, &json, NULL, NULL)) {
    CHECK (0, "cannot read %s", cfg_path);
    goto out;
  }
  root = cJSON_Parse (json);
  only = cJSON_CreateObject ();
  cJSON_AddItemToObject (only, "embed_dim",
      cJSON_Duplicate (cJSON_GetObjectItem (root, "embed_dim"), 1));
  cJSON_AddItemToObject (only, "text_cfg",
      cJSON_Duplicate (cJSON_GetObjectItem (root, "text_cfg"), 1));
  {
    char *s = cJSON_Print (only);
    g_file_set_contents (text_cfg, s, -1, NULL);
    free (s);
  }
  CHECK (mc_tensor_file_open (iopath, &io, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (wpath, &wf, &err) == MC_OK, "%s", err.message);
  if (!io || !wf)
    goto out;
  tokens = read_tokens (io, &n);
  ref = mc_test_read_f32 (io, "text_embedding", NULL);
  ctx = load_context (wpath, text_cfg, MC_TOWER_TEXT, vocab);
  if (!ctx || !tokens || !ref)
    goto out;
  {
    mc_model_config cfg;
    mc_config_load (text_cfg, &cfg, &err);
    check_taps (&cfg, wf, io, tokens, n, ref);
  }
  emb = g_new (float, (gsize) n * mc_embed_dim (ctx));
  CHECK (mc_encode_texts (ctx, tokens, n, emb, &err) == MC_OK, "%s", err.message);
  mc_check_close ("text_embedding (context)", emb, ref, (size_t) n * mc_embed_dim (ctx), TOL_ABS, TOL_REL);
  {
    mc_model_info info;
    mc_get_model_info (ctx, &info);
    /* the golden README's count for tiny_b's text tower */
    CHECK (info.text_params == 397896, "text_params %lld, README says 397,896", (long long) info.text_params);
    printf ("  info: %s, %lld text parameters (README: 397,896)\n", info.text_arch,
        (long long) info.text_params);
  }
  if (vocab)
    check_real_text (ctx, dir, tokens, n, ref);

out:
  mc_context_free (ctx);
  mc_tensor_file_close (io);
  mc_tensor_file_close (wf);
  cJSON_Delete (root);
  cJSON_Delete (only);
  g_free (json);
  g_free (tokens);
  g_free (ref);
  g_free (emb);
  g_unlink (text_cfg);
  g_rmdir (tmpdir);
  g_free (text_cfg);
  g_free (tmpdir);
  g_free (dir);
  g_free (cfg_path);
  g_free (wpath);
  g_free (iopath);
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  const char *vocab_dir = getenv ("MOBILECLIP_VOCAB_DIR");
  char *vocab = NULL;

  if (!golden)
    return MC_TEST_SKIP;
  if (!vocab_dir || !*vocab_dir)
    vocab_dir = MC_DEFAULT_VOCAB_DIR;
  vocab = g_build_filename (vocab_dir, "bpe_simple_vocab_16e6.txt.gz", NULL);
  if (!mc_path_exists (vocab)) {
    printf ("note: %s missing: the tokenized-text checks are left out\n", vocab);
    g_free (vocab);
    vocab = NULL;
  }
  run_case (golden, vocab, "tiny_s0");
  run_case (golden, vocab, "tiny_s1b");
  run_tiny_b (golden, vocab);
  g_free (vocab);
  return mc_test_finish ("text-golden");
}
