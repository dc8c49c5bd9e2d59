/* test_bad_model.c — broken model files give a clear error, never a crash.
 *
 * Each case writes a damaged copy of golden tiny_s0 (weights or config) into
 * a temporary folder, loads it and checks the status code and that the
 * message names the cause (the tensor, the key, "truncated", ...).
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "io/safetensors.h"
#include "test_util.h"

static char *tmp;
static const char *golden_case;

/* Makes <tmp>/<name>/ with config.json (given text or the golden one) and
 * weights.safetensors (given bytes). */
static char *
make_model (const char *name, const char *config_text, const void *weights, gsize len)
{
  char *dir = g_build_filename (tmp, name, NULL);
  char *cfg = g_build_filename (dir, "config.json", NULL);
  char *w = g_build_filename (dir, "weights.safetensors", NULL);
  char *golden_cfg = g_build_filename (golden_case, "config.json", NULL);
  char *text = NULL;

  g_mkdir_with_parents (dir, 0755);
  if (!config_text) {
    g_file_get_contents (golden_cfg, &text, NULL, NULL);
    config_text = text;
  }
  g_file_set_contents (cfg, config_text, -1, NULL);
  if (weights)
    g_file_set_contents (w, weights, (gssize) len, NULL);
  g_free (text);
  g_free (golden_cfg);
  g_free (cfg);
  g_free (w);
  return dir;
}

static void
expect (const char *what, const char *dir, mc_status code, const char *needle)
{
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  mc_status st = mc_context_load (dir, NULL, &ctx, &err);
  printf ("  %-34s → %s: %s\n", what, mc_status_name (st), st ? err.message : "");
  CHECK (st == code, "%s: got %s, expected %s", what, mc_status_name (st), mc_status_name (code));
  CHECK (ctx == NULL, "%s: context returned on failure", what);
  CHECK (needle == NULL || strstr (err.message, needle), "%s: message lacks '%s'", what, needle);
  mc_context_free (ctx);
}

/* Rewrites the golden weights with one tensor changed by `edit`. */
typedef void (*edit_fn) (mc_tensor_out *t, size_t *n, size_t i);

static void
drop (mc_tensor_out *t, size_t *n, size_t i)
{
  memmove (&t[i], &t[i + 1], (*n - i - 1) * sizeof *t);
  (*n)--;
}

static void
reshape (mc_tensor_out *t, size_t *n, size_t i)
{
  /* same bytes, transposed shape [16,3,3,3] → [3,16,3,3] */
  int64_t a = t[i].shape[0];
  t[i].shape[0] = t[i].shape[1];
  t[i].shape[1] = a;
}

static void
as_int (mc_tensor_out *t, size_t *n, size_t i)
{
  t[i].dtype = MC_DTYPE_I32;
}

static char *
rewrite (const char *name, const char *target, edit_fn edit)
{
  char *src = g_build_filename (golden_case, "weights.safetensors", NULL);
  char *dir = make_model (name, NULL, NULL, 0);
  char *dst = g_build_filename (dir, "weights.safetensors", NULL);
  mc_tensor_file *f = NULL;
  mc_error err = { 0 };
  size_t n;
  mc_tensor_out *t;

  CHECK (mc_tensor_file_open (src, &f, &err) == MC_OK, "%s", err.message);
  n = mc_tensor_file_count (f);
  t = g_new0 (mc_tensor_out, n);
  for (size_t i = 0; i < n; i++) {
    const mc_tensor_info *in = mc_tensor_file_at (f, i);
    t[i].name = in->name;
    t[i].dtype = in->dtype;
    t[i].ndim = in->ndim;
    memcpy (t[i].shape, in->shape, sizeof in->shape);
    t[i].data = in->data;
  }
  for (size_t i = 0; i < n; i++)
    if (!strcmp (t[i].name, target)) {
      edit (t, &n, i);
      break;
    }
  CHECK (mc_safetensors_write (dst, t, n, NULL, NULL, 0, &err) == MC_OK, "%s", err.message);
  g_free (t);
  mc_tensor_file_close (f);
  g_free (src);
  g_free (dst);
  return dir;
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  char *wpath, *bytes = NULL, *dir, *cfg_text = NULL, *cfg_path;
  gsize len;
  const char *conv0 = "image_encoder.model.patch_embed.0.rbr_conv.0.conv.weight";

  if (!golden)
    return MC_TEST_SKIP;
  golden_case = g_build_filename (golden, "tiny_s0", NULL);
  tmp = g_dir_make_tmp ("mc-bad-model-XXXXXX", NULL);
  wpath = g_build_filename (golden_case, "weights.safetensors", NULL);
  cfg_path = g_build_filename (golden_case, "config.json", NULL);
  g_file_get_contents (wpath, &bytes, &len, NULL);
  g_file_get_contents (cfg_path, &cfg_text, NULL, NULL);

  expect ("no such path", "/nonexistent/model", MC_ERR_IO, "no such model");
  dir = make_model ("empty-dir", NULL, NULL, 0);
  expect ("folder without weights", dir, MC_ERR_IO, "weights.safetensors");
  g_free (dir);
  dir = make_model ("empty-file", NULL, "", 0);
  expect ("empty weights file", dir, MC_ERR_FORMAT, "empty");
  g_free (dir);
  dir = make_model ("truncated", NULL, bytes, len / 2);
  expect ("truncated weights", dir, MC_ERR_FORMAT, "truncated");
  g_free (dir);
  {
    char *b = g_memdup2 (bytes, len);
    b[6] = 0x7f;   /* header length far past the end */
    dir = make_model ("header-past-end", NULL, b, len);
    expect ("header length past the end", dir, MC_ERR_FORMAT, "past the end");
    g_free (dir);
    memcpy (b, bytes, len);
    b[8] = '[';    /* the JSON header becomes invalid */
    dir = make_model ("bad-json", NULL, b, len);
    expect ("bad JSON header", dir, MC_ERR_FORMAT, "JSON");
    g_free (dir);
    g_free (b);
  }
  dir = make_model ("tiny-file", NULL, "abc", 3);
  expect ("3-byte file", dir, MC_ERR_FORMAT, "too short");
  g_free (dir);

  dir = rewrite ("missing-tensor", conv0, drop);
  expect ("missing tensor", dir, MC_ERR_WEIGHTS, conv0);
  g_free (dir);
  dir = rewrite ("wrong-shape", conv0, reshape);
  expect ("wrong shape", dir, MC_ERR_WEIGHTS, "[3, 16, 3, 3]");
  g_free (dir);
  dir = rewrite ("wrong-dtype", conv0, as_int);
  expect ("wrong dtype", dir, MC_ERR_WEIGHTS, "I32");
  g_free (dir);

  dir = make_model ("config-not-json", "{ not json", bytes, len);
  expect ("config is not JSON", dir, MC_ERR_CONFIG, "config.json");
  g_free (dir);
  {
    char *c = g_strdup (cfg_text);
    char *p = strstr (c, "\"head_dim\"");
    memcpy (p, "\"head_dix\"", 10);
    dir = make_model ("config-missing-key", c, bytes, len);
    expect ("config missing a key", dir, MC_ERR_CONFIG, "image_cfg.head_dim");
    g_free (dir);
    g_free (c);
    c = g_strdup (cfg_text);
    p = strstr (c, "\"downsample");
    p = strstr (c, "\"down_stride\": 2");
    p[strlen ("\"down_stride\": ")] = '0';
    dir = make_model ("config-bad-value", c, bytes, len);
    expect ("config value out of range", dir, MC_ERR_CONFIG, "down_stride");
    g_free (dir);
    g_free (c);
    c = g_strdup (cfg_text);
    p = strstr (c, "\"embed_dims\"");
    memcpy (strstr (p, "16"), "17", 2);
    dir = make_model ("config-wrong-dims", c, bytes, len);
    expect ("config that does not fit weights", dir, MC_ERR_CONFIG, NULL);
    g_free (dir);
    g_free (c);
  }
  {
    mc_params p = mc_params_default ();
    mc_context *ctx = NULL;
    mc_error err = { 0 };
    p.config = "no_such_config";
    CHECK (mc_context_load (wpath, &p, &ctx, &err) == MC_ERR_CONFIG, "unknown config name");
    printf ("  %-34s → %s\n", "unknown config name", err.message);
    CHECK (mc_context_load (wpath, NULL, &ctx, &err) == MC_ERR_CONFIG, "file without config");
    printf ("  %-34s → %s\n", "weights file without a config", err.message);
  }

  g_free (bytes);
  g_free (cfg_text);
  g_free (wpath);
  g_free (cfg_path);
  return mc_test_finish ("bad-model");
}
