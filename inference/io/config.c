/* config.c — see config.h. */
#include "config.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

typedef struct {
  const char *source;
  const char *section;
  mc_error *err;
  mc_status status;
} reader;

static const cJSON *
need (reader *r, const cJSON *obj, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
  if (!item && r->status == MC_OK)
    r->status = mc_err (r->err, MC_ERR_CONFIG, "%s: missing key '%s.%s'", r->source, r->section, key);
  return item;
}

static void
bad (reader *r, const char *key, const char *what)
{
  if (r->status == MC_OK)
    r->status = mc_err (r->err, MC_ERR_CONFIG, "%s: key '%s.%s' must be %s", r->source,
        r->section, key, what);
}

static int
get_int (reader *r, const cJSON *obj, const char *key, int lo, int hi)
{
  const cJSON *item = need (r, obj, key);
  if (!item)
    return lo;
  if (!cJSON_IsNumber (item) || item->valuedouble != floor (item->valuedouble)
      || item->valuedouble < lo || item->valuedouble > hi) {
    char what[64];
    snprintf (what, sizeof what, "an integer in %d..%d", lo, hi);
    bad (r, key, what);
    return lo;
  }
  return item->valueint;
}

static double
get_num (reader *r, const cJSON *obj, const char *key, double lo, double hi)
{
  const cJSON *item = need (r, obj, key);
  if (!item)
    return lo;
  if (!cJSON_IsNumber (item) || !(item->valuedouble >= lo && item->valuedouble <= hi)) {
    char what[64];
    snprintf (what, sizeof what, "a number in %g..%g", lo, hi);
    bad (r, key, what);
    return lo;
  }
  return item->valuedouble;
}

static int
get_bool (reader *r, const cJSON *obj, const char *key)
{
  const cJSON *item = need (r, obj, key);
  if (!item)
    return 0;
  if (!cJSON_IsBool (item)) {
    bad (r, key, "true or false");
    return 0;
  }
  return cJSON_IsTrue (item);
}

static const char *
get_str (reader *r, const cJSON *obj, const char *key)
{
  const cJSON *item = need (r, obj, key);
  if (!item)
    return "";
  if (!cJSON_IsString (item)) {
    bad (r, key, "a string");
    return "";
  }
  return item->valuestring;
}

/* An array of exactly n items (n < 0: any length up to max, returned). */
static const cJSON *
get_array (reader *r, const cJSON *obj, const char *key, int n, int max, int *len)
{
  const cJSON *item = need (r, obj, key);
  int size;
  if (!item)
    return NULL;
  if (!cJSON_IsArray (item)) {
    bad (r, key, "an array");
    return NULL;
  }
  size = cJSON_GetArraySize (item);
  if ((n >= 0 && size != n) || size < 1 || size > max) {
    char what[64];
    if (n >= 0)
      snprintf (what, sizeof what, "an array of %d items", n);
    else
      snprintf (what, sizeof what, "an array of 1..%d items", max);
    bad (r, key, what);
    return NULL;
  }
  if (len)
    *len = size;
  return item;
}

static void
int_array (reader *r, const cJSON *obj, const char *key, int n, int *out, int lo, int hi)
{
  const cJSON *arr = get_array (r, obj, key, n, MC_MAX_STAGES > n ? MC_MAX_STAGES : n, NULL);
  int i = 0;
  const cJSON *it;
  if (!arr)
    return;
  cJSON_ArrayForEach (it, arr) {
    if (!cJSON_IsNumber (it) || it->valuedouble != floor (it->valuedouble)
        || it->valuedouble < lo || it->valuedouble > hi) {
      bad (r, key, "an array of integers in range");
      return;
    }
    out[i++] = it->valueint;
  }
}

static void
parse_image (reader *r, const cJSON *ic, mc_mci_config *c)
{
  const cJSON *arr, *it;
  int n = 0, i;

  r->section = "image_cfg";
  g_strlcpy (c->model_name, get_str (r, ic, "model_name"), sizeof c->model_name);
  c->image_size = get_int (r, ic, "image_size", 32, 4096);
  arr = get_array (r, ic, "layers", -1, MC_MAX_STAGES, &n);
  if (!arr)
    return;
  c->n_stages = n;
  int_array (r, ic, "layers", n, c->layers, 0, 256);
  int_array (r, ic, "embed_dims", n, c->embed_dims, 1, 8192);
  arr = get_array (r, ic, "mlp_ratios", n, n, NULL);
  i = 0;
  if (arr)
    cJSON_ArrayForEach (it, arr) {
      if (!cJSON_IsNumber (it) || it->valuedouble <= 0) {
        bad (r, "mlp_ratios", "positive numbers");
        break;
      }
      c->mlp_ratios[i++] = (float) it->valuedouble;
    }
  arr = get_array (r, ic, "downsamples", n, n, NULL);
  i = 0;
  if (arr)
    cJSON_ArrayForEach (it, arr) {
      if (!cJSON_IsBool (it)) { bad (r, "downsamples", "booleans"); break; }
      c->downsamples[i++] = cJSON_IsTrue (it);
    }
  arr = get_array (r, ic, "se_downsamples", n, n, NULL);
  i = 0;
  if (arr)
    cJSON_ArrayForEach (it, arr) {
      if (!cJSON_IsBool (it)) { bad (r, "se_downsamples", "booleans"); break; }
      c->se_downsamples[i++] = cJSON_IsTrue (it);
    }
  arr = get_array (r, ic, "token_mixers", n, n, NULL);
  i = 0;
  if (arr)
    cJSON_ArrayForEach (it, arr) {
      if (cJSON_IsString (it) && !strcmp (it->valuestring, "repmixer"))
        c->token_mixers[i++] = MC_MIXER_REPMIXER;
      else if (cJSON_IsString (it) && !strcmp (it->valuestring, "attention"))
        c->token_mixers[i++] = MC_MIXER_ATTENTION;
      else { bad (r, "token_mixers", "\"repmixer\" or \"attention\" items"); break; }
    }
  arr = get_array (r, ic, "pos_embs", n, n, NULL);
  i = 0;
  if (arr)
    cJSON_ArrayForEach (it, arr) {
      if (cJSON_IsNull (it))
        c->pos_embs[i++] = 0;
      else if (cJSON_IsString (it) && !strcmp (it->valuestring, "rpce"))
        c->pos_embs[i++] = 1;
      else { bad (r, "pos_embs", "null or \"rpce\" items"); break; }
    }
  c->repmixer_kernel_size = get_int (r, ic, "repmixer_kernel_size", 1, 31);
  c->cls_ratio = (float) get_num (r, ic, "cls_ratio", 0.01, 64);
  c->down_patch_size = get_int (r, ic, "down_patch_size", 1, 31);
  c->down_stride = get_int (r, ic, "down_stride", 1, 8);
  c->down_small_kernel = get_int (r, ic, "down_small_kernel", 1, 31);
  c->use_layer_scale = get_bool (r, ic, "use_layer_scale");
  int_array (r, ic, "rpce_spatial_shape", 2, c->rpce_kernel, 1, 31);
  c->head_dim = get_int (r, ic, "head_dim", 1, 4096);
  c->qkv_bias = get_bool (r, ic, "qkv_bias");
  c->conv_ffn_kernel_size = get_int (r, ic, "conv_ffn_kernel_size", 1, 31);
  c->se_downsample_rd_ratio = (float) get_num (r, ic, "se_downsample_rd_ratio", 0, 1);
  c->se_downsample_rd_divisor = get_int (r, ic, "se_downsample_rd_divisor", 1, 1024);
  c->conv_exp_use_se = get_bool (r, ic, "conv_exp_use_se");
  c->conv_exp_se_rd_ratio = (float) get_num (r, ic, "conv_exp_se_rd_ratio", 0, 1);
  c->num_conv_branches = get_int (r, ic, "num_conv_branches", 1, 16);
  c->bn_eps = (float) get_num (r, ic, "bn_eps", 0, 1);
  if (r->status != MC_OK)
    return;
  if (strcmp (get_str (r, ic, "act_layer"), "gelu"))
    bad (r, "act_layer", "\"gelu\"");
  if (strcmp (get_str (r, ic, "projection"), "global_pool_2d"))
    bad (r, "projection", "\"global_pool_2d\"");
  if (strcmp (get_str (r, ic, "norm_layer"), "batch_norm"))
    bad (r, "norm_layer", "\"batch_norm\"");
  for (i = 0; i < n && r->status == MC_OK; i++)
    if (c->token_mixers[i] == MC_MIXER_ATTENTION && c->embed_dims[i] % c->head_dim)
      bad (r, "head_dim", "a divisor of every attention stage's embed_dims");
}

static void
parse_text (reader *r, const cJSON *tc, mc_text_config *c)
{
  const cJSON *heads, *ffn;
  const char *name;

  r->section = "text_cfg";
  name = get_str (r, tc, "model_name");
  g_strlcpy (c->model_name, name, sizeof c->model_name);
  if (!strcmp (name, "base"))
    c->variant = MC_TEXT_BASE;
  else if (!strcmp (name, "mct"))
    c->variant = MC_TEXT_MCT;
  else if (r->status == MC_OK)
    bad (r, "model_name", "\"base\" or \"mct\"");
  c->context_length = get_int (r, tc, "context_length", 1, 4096);
  c->vocab_size = get_int (r, tc, "vocab_size", 1, 1 << 24);
  c->dim = get_int (r, tc, "dim", 1, 16384);
  c->n_layers = get_int (r, tc, "n_transformer_layers", 0, MC_MAX_TEXT_LAYERS);
  c->causal = get_bool (r, tc, "causal_masking");
  c->layer_norm_eps = (float) get_num (r, tc, "layer_norm_eps", 0, 1);
  c->embed_scale_applied = get_bool (r, tc, "embed_scale_applied");
  if (r->status != MC_OK)
    return;
  if (strcmp (get_str (r, tc, "norm_layer"), "layer_norm_fp32"))
    bad (r, "norm_layer", "\"layer_norm_fp32\"");

  heads = need (r, tc, "n_heads_per_layer");
  for (int i = 0; heads && i < c->n_layers; i++) {
    const cJSON *h = cJSON_IsArray (heads) ? cJSON_GetArrayItem (heads, i) : heads;
    if (!cJSON_IsNumber (h) || h->valueint < 1 || c->dim % h->valueint) {
      bad (r, "n_heads_per_layer", "a positive divisor of dim (or one per layer)");
      return;
    }
    c->n_heads[i] = h->valueint;
  }
  ffn = cJSON_GetObjectItemCaseSensitive (tc, "ffn_dims");
  for (int i = 0; i < c->n_layers; i++) {
    if (ffn) {
      const cJSON *f = cJSON_IsArray (ffn) ? cJSON_GetArrayItem (ffn, i) : ffn;
      if (!cJSON_IsNumber (f) || f->valueint < 1) {
        bad (r, "ffn_dims", "positive integers, one per layer");
        return;
      }
      c->ffn_dims[i] = f->valueint;
    } else {
      /* Apple: ffn dim = ceil(dim · multiplier / 16) · 16 */
      double mult = get_num (r, tc, "ffn_multiplier_per_layer", 0.01, 64);
      c->ffn_dims[i] = (int) (ceil (c->dim * mult / 16.0) * 16);
    }
  }
  if (c->variant == MC_TEXT_MCT) {
    c->repmixer_kernel_size = get_int (r, tc, "text_repmixer_kernel_size", 1, 63);
    c->repmixer_mlp_ratio = (float) get_num (r, tc, "text_repmixer_mlp_ratio", 0.01, 64);
  }
}

mc_status
mc_config_parse (const char *json, const char *source, mc_model_config *cfg, mc_error *err)
{
  cJSON *root = cJSON_Parse (json);
  const cJSON *ic, *tc;
  reader r = { source, "", err, MC_OK };

  memset (cfg, 0, sizeof *cfg);
  g_strlcpy (cfg->source, source, sizeof cfg->source);
  if (!cJSON_IsObject (root)) {
    cJSON_Delete (root);
    return mc_err (err, MC_ERR_CONFIG, "%s: not a JSON object (parse error near '%.20s')",
        source, cJSON_GetErrorPtr () ? cJSON_GetErrorPtr () : "");
  }
  cfg->embed_dim = get_int (&r, root, "embed_dim", 1, 65536);
  ic = cJSON_GetObjectItemCaseSensitive (root, "image_cfg");
  tc = cJSON_GetObjectItemCaseSensitive (root, "text_cfg");
  if (!ic && !tc && r.status == MC_OK)
    r.status = mc_err (err, MC_ERR_CONFIG, "%s: neither 'image_cfg' nor 'text_cfg' is present", source);
  if (ic && r.status == MC_OK) {
    cfg->has_image = 1;
    parse_image (&r, ic, &cfg->image);
  }
  if (tc && r.status == MC_OK) {
    cfg->has_text = 1;
    parse_text (&r, tc, &cfg->text);
  }
  cJSON_Delete (root);
  return r.status;
}

static int
looks_like_path (const char *s)
{
  return strchr (s, '/') || g_str_has_suffix (s, ".json");
}

mc_status
mc_config_load (const char *name_or_path, mc_model_config *cfg, mc_error *err)
{
  char *path = NULL, *text = NULL;
  gsize len;
  GError *gerr = NULL;
  mc_status st;

  if (!name_or_path || !*name_or_path)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no model config given");
  if (looks_like_path (name_or_path)) {
    path = g_strdup (name_or_path);
  } else {
    const char *dirs[] = { g_getenv ("MOBILECLIP_CONFIG_DIR"), MC_CONFIG_DIR, MC_INSTALLED_CONFIG_DIR };
    for (size_t i = 0; i < G_N_ELEMENTS (dirs) && !path; i++) {
      char *p, *file;
      if (!dirs[i] || !*dirs[i])
        continue;
      file = g_strconcat (name_or_path, ".json", NULL);
      p = g_build_filename (dirs[i], file, NULL);
      g_free (file);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        path = p;
      else
        g_free (p);
    }
    if (!path)
      return mc_err (err, MC_ERR_CONFIG,
          "no config named '%s' (looked in $MOBILECLIP_CONFIG_DIR, %s and %s)",
          name_or_path, MC_CONFIG_DIR, MC_INSTALLED_CONFIG_DIR);
  }
  if (!g_file_get_contents (path, &text, &len, &gerr)) {
    st = mc_err (err, MC_ERR_IO, "%s: cannot read config: %s", path, gerr->message);
    g_error_free (gerr);
    g_free (path);
    return st;
  }
  st = mc_config_parse (text, path, cfg, err);
  g_free (text);
  g_free (path);
  return st;
}
