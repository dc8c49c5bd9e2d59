/* context.c — the public context: finds the files of a model, builds its
 * towers and owns the thread pool (see mobileclip.h). */
#include "mobileclip.h"

#include <glib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/config.h"
#include "io/tensor_file.h"
#include "model/mci.h"
#include "model/text_encoder.h"
#include "model/weights.h"
#include "ops/gemm.h"
#include "runtime/error.h"
#include "runtime/threadpool.h"
#include "text/tokenizer.h"

#define IMAGE_PREFIX "image_encoder.model."
#define TEXT_PREFIX "text_encoder."

struct mc_context {
  mc_model_config cfg;
  char *model_dir;          /* folder of the weights file */
  char fingerprint[17];
  float logit_scale;
  mc_threadpool *pool;
  mc_precision precision;   /* FP32, BF16 or INT8: the format of packed weights */
  mc_mci *image;
  int64_t image_params;
  float *nhwc;              /* NCHW → NHWC staging, planned per batch size */
  size_t nhwc_size;
  mc_text_encoder *text;
  int64_t text_params;
  mc_tokenizer *tokenizer;  /* NULL when no vocabulary was found ... */
  mc_error vocab_error;     /* ... and this says where it looked */
  mc_profile_entry profile[MC_PROFILE_MAX];        /* image encoder */
  mc_profile_entry text_profile[MC_PROFILE_MAX];   /* text encoder */
};

mc_params
mc_params_default (void)
{
  mc_params p;
  memset (&p, 0, sizeof p);
  return p;
}

const char *
mc_precision_name (mc_precision p)
{
  switch (p) {
    case MC_PRECISION_AUTO: return "auto";
    case MC_PRECISION_FP32: return "fp32";
    case MC_PRECISION_BF16: return "bf16";
    case MC_PRECISION_INT8: return "int8";
    default: return "?";
  }
}

int
mc_precision_from_name (const char *name)
{
  for (int p = MC_PRECISION_FP32; p <= MC_PRECISION_INT8; p++)
    if (name && !strcmp (name, mc_precision_name (p)))
      return p;
  return -1;
}

/* AUTO: bf16 only where products run on the CPU's bf16 instruction (the
 * emulation is slower than fp32), unless MOBILECLIP_PRECISION says (int8
 * is never picked by itself: it has to be named). */
static mc_status
resolve_precision (mc_precision requested, mc_precision *out, mc_error *err)
{
  const char *env = getenv ("MOBILECLIP_PRECISION");

  if (requested < MC_PRECISION_FP32 || requested > MC_PRECISION_INT8)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "precision %d: not auto, fp32, bf16 or int8",
        (int) requested);
  if (requested == MC_PRECISION_AUTO && env && *env) {
    const int p = mc_precision_from_name (env);
    if (p < 0)
      return mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "MOBILECLIP_PRECISION=%s: not auto, fp32, bf16 or int8", env);
    requested = (mc_precision) p;
  }
  if (requested == MC_PRECISION_AUTO)
    requested = mc_gemm_bf16_native () ? MC_PRECISION_BF16 : MC_PRECISION_FP32;
  *out = requested;
  return MC_OK;
}

/* The panel format of a resolved precision's packed weights. */
static mc_gemm_format
pack_format_of (mc_precision p)
{
  switch (p) {
    case MC_PRECISION_BF16: return MC_GEMM_BF16;
    case MC_PRECISION_INT8: return MC_GEMM_INT8;
    default: return MC_GEMM_F32;
  }
}

/* Picks the weights file of a model folder. */
static char *
find_weights_in_dir (const char *dir, mc_error *err)
{
  const char *names[] = { "weights.safetensors", "weights.pt" };
  GDir *d;
  const char *entry;
  char *found = NULL;
  int count = 0;

  for (size_t i = 0; i < G_N_ELEMENTS (names); i++) {
    char *p = g_build_filename (dir, names[i], NULL);
    if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
      return p;
    g_free (p);
  }
  /* otherwise the one checkpoint the folder holds (download layout) */
  d = g_dir_open (dir, 0, NULL);
  while (d && (entry = g_dir_read_name (d))) {
    if (g_str_has_suffix (entry, ".pt") || g_str_has_suffix (entry, ".safetensors")) {
      count++;
      g_free (found);
      found = g_build_filename (dir, entry, NULL);
    }
  }
  if (d)
    g_dir_close (d);
  if (count == 1)
    return found;
  g_free (found);
  mc_err (err, MC_ERR_IO, "%s: no weights.safetensors or weights.pt%s", dir,
      count > 1 ? " and several other checkpoints: name one" : "");
  return NULL;
}

/* A fast 64-bit hash of every weight's name, dtype, shape and bytes: the
 * model fingerprint that caches of prompt embeddings are keyed by. */
static void
fingerprint (const mc_tensor_file *f, char out[17])
{
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < mc_tensor_file_count (f); i++) {
    const mc_tensor_info *t = mc_tensor_file_at (f, i);
    const uint8_t *p = t->data;
    size_t n = t->nbytes, j = 0;
    /* training counters are not weights: skipping them gives a .pt and its
     * safetensors export the same fingerprint */
    if (g_str_has_suffix (t->name, ".num_batches_tracked"))
      continue;
    for (const char *c = t->name; *c; c++)
      h = (h ^ (uint8_t) *c) * 0x100000001b3ull;
    h = (h ^ (uint64_t) t->dtype) * 0x100000001b3ull;
    for (int d = 0; d < t->ndim; d++)
      h = (h ^ (uint64_t) t->shape[d]) * 0x100000001b3ull;
    for (; j + 8 <= n; j += 8) {
      uint64_t v;
      memcpy (&v, p + j, 8);
      h ^= v * 0xff51afd7ed558ccdull;
      h = ((h << 31) | (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
    }
    for (; j < n; j++)
      h = (h ^ p[j]) * 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  g_snprintf (out, 17, "%016llx", (unsigned long long) h);
}

static int
has_prefix (const mc_tensor_file *f, const char *prefix)
{
  for (size_t i = 0; i < mc_tensor_file_count (f); i++)
    if (g_str_has_prefix (mc_tensor_file_at (f, i)->name, prefix))
      return 1;
  return 0;
}

static mc_status
build_image (mc_context *ctx, const mc_tensor_file *file, mc_error *err)
{
  mc_weights *w = mc_weights_new (file, IMAGE_PREFIX, err);
  mc_status st = mc_mci_build (&ctx->cfg.image, ctx->cfg.embed_dim, w, &ctx->image, err);
  if (st == MC_ERR_CONFIG)
    mc_err_prefix (err, "%s", ctx->cfg.source);
  if (st == MC_OK)
    st = mc_weights_check_all_used (w, IMAGE_PREFIX);
  ctx->image_params = mc_weights_params_read (w);
  mc_weights_free (w);
  return st;
}

static mc_status
build_text (mc_context *ctx, const mc_tensor_file *file, mc_error *err)
{
  mc_weights *w = mc_weights_new (file, TEXT_PREFIX, err);
  mc_status st = mc_text_encoder_build (&ctx->cfg.text, ctx->cfg.embed_dim, w, &ctx->text, err);
  if (st == MC_OK)
    st = mc_weights_check_all_used (w, TEXT_PREFIX);
  ctx->text_params = mc_weights_params_read (w);
  mc_weights_free (w);
  return st;
}

/* The vocabulary goes with the text tower.  One named by the caller must
 * load; otherwise a missing vocabulary only matters to mc_tokenize (token
 * ids can still be encoded), which then reports where it was looked for. */
static mc_status
load_tokenizer (mc_context *ctx, const char *vocab_path, mc_error *err)
{
  char *path = mc_vocab_find (vocab_path, ctx->model_dir, &ctx->vocab_error);
  mc_status st;

  if (!path)
    return vocab_path ? mc_err (err, ctx->vocab_error.code, "%s", ctx->vocab_error.message) : MC_OK;
  st = mc_tokenizer_load (path, &ctx->tokenizer, &ctx->vocab_error);
  g_free (path);
  if (st != MC_OK && vocab_path)
    return mc_err (err, st, "%s", ctx->vocab_error.message);
  return MC_OK;
}

mc_status
mc_context_load (const char *model, const mc_params *params, mc_context **out,
    mc_error *err)
{
  mc_params defaults = mc_params_default ();
  mc_context *ctx;
  mc_tensor_file *file = NULL;
  char *weights = NULL;
  unsigned towers;
  mc_gemm_format pack_format = mc_gemm_get_pack_format ();
  int int8_min_k = 0;
  mc_status st;

  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_context_load: out is NULL");
  *out = NULL;
  if (!params)
    params = &defaults;
  if (!model || !*model)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no model given");

  ctx = g_new0 (mc_context, 1);
  st = resolve_precision (params->precision, &ctx->precision, err);
  if (st != MC_OK)
    goto fail;
  /* the towers' weights are packed in the context's precision */
  pack_format = mc_gemm_set_pack_format (pack_format_of (ctx->precision));
  int8_min_k = mc_gemm_set_int8_min_k (MC_GEMM_INT8_MODEL_MIN_K);
  if (g_file_test (model, G_FILE_TEST_IS_DIR)) {
    char *cfg_path = params->config ? g_strdup (params->config)
        : g_build_filename (model, "config.json", NULL);
    weights = find_weights_in_dir (model, err);
    st = weights ? mc_config_load (cfg_path, &ctx->cfg, err) : MC_ERR_IO;
    g_free (cfg_path);
    ctx->model_dir = g_strdup (model);
  } else if (g_file_test (model, G_FILE_TEST_IS_REGULAR)) {
    weights = g_strdup (model);
    ctx->model_dir = g_path_get_dirname (model);
    if (!params->config)
      st = mc_err (err, MC_ERR_CONFIG,
          "%s: a weights file needs a config (a name such as mobileclip_s0, or a JSON path)", model);
    else
      st = mc_config_load (params->config, &ctx->cfg, err);
  } else {
    st = mc_err (err, MC_ERR_IO, "%s: no such model file or folder", model);
  }
  if (st == MC_OK)
    st = mc_tensor_file_open (weights, &file, err);
  if (st != MC_OK)
    goto fail;

  towers = params->towers ? params->towers : MC_TOWER_ALL;
  if (!params->towers) {
    towers = 0;
    if (ctx->cfg.has_image && has_prefix (file, IMAGE_PREFIX))
      towers |= MC_TOWER_IMAGE;
    if (ctx->cfg.has_text && has_prefix (file, TEXT_PREFIX))
      towers |= MC_TOWER_TEXT;
    if (!towers) {
      st = mc_err (err, MC_ERR_WEIGHTS, "%s: holds no tensor of an image ('%s') or text ('%s') tower the config describes",
          weights, IMAGE_PREFIX, TEXT_PREFIX);
      goto fail;
    }
  }
  if ((towers & MC_TOWER_IMAGE) && !ctx->cfg.has_image) {
    st = mc_err (err, MC_ERR_CONFIG, "%s: has no image_cfg", ctx->cfg.source);
    goto fail;
  }
  fingerprint (file, ctx->fingerprint);
  {
    const mc_tensor_info *ls = mc_tensor_file_find (file, "logit_scale");
    float v = logf (100.0f);
    if (ls && mc_tensor_numel (ls) == 1)
      mc_tensor_to_f32 (ls, &v);
    ctx->logit_scale = v;
  }
  if (towers & MC_TOWER_IMAGE) {
    st = build_image (ctx, file, err);
    if (st != MC_OK)
      goto fail;
  }
  if (towers & MC_TOWER_TEXT) {
    if (!ctx->cfg.has_text)
      st = mc_err (err, MC_ERR_CONFIG, "%s: has no text_cfg", ctx->cfg.source);
    else
      st = build_text (ctx, file, err);
    if (st == MC_OK)
      st = load_tokenizer (ctx, params->vocab_path, err);
    if (st != MC_OK)
      goto fail;
  }
  ctx->pool = mc_threadpool_new (params->n_threads);
  if (!ctx->pool) {
    st = mc_err (err, MC_ERR_NOMEM, "cannot start worker threads");
    goto fail;
  }
  mc_gemm_set_pack_format (pack_format);
  mc_gemm_set_int8_min_k (int8_min_k);
  mc_tensor_file_close (file);
  g_free (weights);
#ifdef __GLIBC__
  /* the F32 copies read while folding are freed by now; hand their pages
   * back so a loaded model's footprint is its runtime weights */
  malloc_trim (0);
#endif
  *out = ctx;
  return MC_OK;

fail:
  mc_gemm_set_pack_format (pack_format);
  mc_gemm_set_int8_min_k (int8_min_k);
  mc_tensor_file_close (file);
  g_free (weights);
  mc_context_free (ctx);
  return st;
}

void
mc_context_free (mc_context *ctx)
{
  if (!ctx)
    return;
  mc_mci_free (ctx->image);
  mc_text_encoder_free (ctx->text);
  mc_tokenizer_free (ctx->tokenizer);
  mc_threadpool_free (ctx->pool);
  free (ctx->nhwc);
  g_free (ctx->model_dir);
  g_free (ctx);
}

int mc_image_size (const mc_context *ctx) { return ctx->image ? ctx->cfg.image.image_size : 0; }
int mc_embed_dim (const mc_context *ctx) { return ctx->cfg.embed_dim; }
int mc_context_length (const mc_context *ctx) { return MC_CONTEXT_LENGTH; }
int mc_has_image (const mc_context *ctx) { return ctx->image != NULL; }
int mc_has_text (const mc_context *ctx) { return ctx->text != NULL; }
int mc_n_threads (const mc_context *ctx) { return mc_threadpool_size (ctx->pool); }
mc_precision mc_context_precision (const mc_context *ctx) { return ctx->precision; }
const char *mc_model_name (const mc_context *ctx) { return ctx->cfg.image.model_name; }
const char *mc_fingerprint (const mc_context *ctx) { return ctx->fingerprint; }
float mc_logit_scale (const mc_context *ctx) { return ctx->logit_scale; }

float
mc_logit_scale_exp (const mc_context *ctx)
{
  float s = expf (ctx->logit_scale);
  return s > 100.0f ? 100.0f : (s < 0.0f ? 0.0f : s);
}

mc_status
mc_encode_images (mc_context *ctx, const float *pixels, mc_layout layout,
    int n, int h, int w, float *out, mc_error *err)
{
  const float *x = pixels;

  if (!ctx || !pixels || !out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_encode_images: NULL argument");
  if (!ctx->image)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "this model has no image tower loaded");
  if (n < 1 || h < 32 || w < 32 || h % 32 || w % 32)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "image batch %d×%d×%d: need n >= 1 and sides that are multiples of 32", n, h, w);
  if (layout == MC_LAYOUT_NCHW) {
    size_t need = (size_t) n * h * w * 3;
    if (need > ctx->nhwc_size) {
      float *p = realloc (ctx->nhwc, need * sizeof (float));
      if (!p)
        return mc_err (err, MC_ERR_NOMEM, "out of memory");
      ctx->nhwc = p;
      ctx->nhwc_size = need;
    }
    for (int b = 0; b < n; b++)
      for (int ch = 0; ch < 3; ch++)
        for (int i = 0; i < h * w; i++)
          ctx->nhwc[((size_t) b * h * w + i) * 3 + ch] = pixels[((size_t) b * 3 + ch) * h * w + i];
    x = ctx->nhwc;
  }
  return mc_mci_forward (ctx->image, ctx->pool, x, n, h, w, out, err);
}

mc_status
mc_tokenize (mc_context *ctx, const char *text, int32_t tokens[MC_CONTEXT_LENGTH],
    mc_error *err)
{
  if (!ctx || !text || !tokens)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_tokenize: NULL argument");
  if (!ctx->text)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "this model has no text tower loaded");
  if (!ctx->tokenizer)
    return mc_err (err, ctx->vocab_error.code ? ctx->vocab_error.code : MC_ERR_VOCAB,
        "no BPE vocabulary: %s", ctx->vocab_error.message);
  return mc_tokenizer_encode (ctx->tokenizer, text, tokens, NULL, err);
}

mc_status
mc_encode_texts (mc_context *ctx, const int32_t *tokens, int n, float *out,
    mc_error *err)
{
  if (!ctx || !tokens || !out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_encode_texts: NULL argument");
  if (!ctx->text)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "this model has no text tower loaded");
  return mc_text_encoder_forward (ctx->text, ctx->pool, tokens, n, out, err);
}

void
mc_get_model_info (const mc_context *ctx, mc_model_info *info)
{
  memset (info, 0, sizeof *info);
  if (ctx->image) {
    info->image_arch = ctx->cfg.image.model_name;
    info->image_params = ctx->image_params;
    info->image_macs = mc_mci_macs (ctx->image, ctx->cfg.image.image_size);
  }
  if (ctx->text) {
    info->text_arch = ctx->cfg.text.model_name;
    info->text_params = ctx->text_params;
    info->text_macs = mc_text_encoder_macs (ctx->text);
  }
}

void
mc_set_profiling (mc_context *ctx, int enabled)
{
  memset (ctx->profile, 0, sizeof ctx->profile);
  memset (ctx->text_profile, 0, sizeof ctx->text_profile);
  if (ctx->image)
    mc_mci_set_profile (ctx->image, enabled ? ctx->profile : NULL);
  if (ctx->text)
    mc_text_encoder_set_profile (ctx->text, enabled ? ctx->text_profile : NULL);
}

static int
copy_profile (const mc_profile_entry *table, mc_profile_entry *out, int max)
{
  int n = 0;
  for (int i = 0; i < MC_PROFILE_MAX && n < max; i++)
    if (table[i].family)
      out[n++] = table[i];
  return n;
}

int
mc_get_profile (const mc_context *ctx, mc_profile_entry *out, int max)
{
  return copy_profile (ctx->profile, out, max);
}

int
mc_get_text_profile (const mc_context *ctx, mc_profile_entry *out, int max)
{
  return copy_profile (ctx->text_profile, out, max);
}

void
mc_l2_normalize (float *rows, int n, int d)
{
  for (int i = 0; i < n; i++) {
    float *r = rows + (size_t) i * d;
    double s = 0.0;
    for (int j = 0; j < d; j++)
      s += (double) r[j] * r[j];
    if (s > 0.0) {
      float inv = (float) (1.0 / sqrt (s));
      for (int j = 0; j < d; j++)
        r[j] *= inv;
    }
  }
}
