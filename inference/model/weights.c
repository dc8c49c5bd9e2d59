/* weights.c — see weights.h. */
#include "weights.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

struct mc_weights {
  const mc_tensor_file *file;
  char *prefix;
  GHashTable *used;       /* full names asked for */
  GPtrArray *buffers;     /* converted F32 copies */
  int64_t params;
  mc_error *err;
  mc_status status;
  GString *key_table;     /* recorder mode (no file): "name\t[shape]" lines */
};

mc_weights *
mc_weights_new (const mc_tensor_file *file, const char *prefix, mc_error *err)
{
  mc_weights *w = g_new0 (mc_weights, 1);
  w->file = file;
  w->prefix = g_strdup (prefix ? prefix : "");
  w->used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->buffers = g_ptr_array_new_with_free_func (g_free);
  w->err = err;
  return w;
}

mc_weights *
mc_weights_new_recorder (const char *prefix)
{
  mc_weights *w = mc_weights_new (NULL, prefix, NULL);
  w->key_table = g_string_new (NULL);
  return w;
}

const char *
mc_weights_key_table (const mc_weights *w)
{
  return w->key_table ? w->key_table->str : "";
}

void
mc_weights_free (mc_weights *w)
{
  if (!w)
    return;
  if (w->key_table)
    g_string_free (w->key_table, TRUE);
  g_free (w->prefix);
  g_hash_table_destroy (w->used);
  g_ptr_array_free (w->buffers, TRUE);
  g_free (w);
}

static char *
full_name (mc_weights *w, const char *fmt, va_list ap)
{
  char *rel = g_strdup_vprintf (fmt, ap);
  char *name = g_strconcat (w->prefix, rel, NULL);
  g_free (rel);
  return name;
}

static const float *
zeros (mc_weights *w, int ndim, const int64_t *shape)
{
  int64_t n = 1;
  float *buf;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  buf = g_malloc0 ((gsize) (n ? n : 1) * sizeof (float));
  g_ptr_array_add (w->buffers, buf);
  return buf;
}

static int
is_float (mc_dtype d)
{
  return d == MC_DTYPE_F32 || d == MC_DTYPE_F16 || d == MC_DTYPE_BF16 || d == MC_DTYPE_F64;
}

const float *
mc_weights_get (mc_weights *w, int ndim, const int64_t *shape, const char *fmt, ...)
{
  va_list ap;
  char *name;
  const mc_tensor_info *t;
  float *buf;
  int same;

  va_start (ap, fmt);
  name = full_name (w, fmt, ap);
  va_end (ap);
  if (w->key_table) {
    char dims[128];
    g_string_append_printf (w->key_table, "%s\t%s\n", name,
        mc_shape_str (ndim, shape, dims, sizeof dims));
    g_free (name);
    return zeros (w, ndim, shape);
  }
  if (w->status != MC_OK) {
    g_free (name);
    return zeros (w, ndim, shape);
  }
  t = mc_tensor_file_find (w->file, name);
  if (!t) {
    w->status = mc_err (w->err, MC_ERR_WEIGHTS, "%s: missing tensor '%s'",
        mc_tensor_file_path (w->file), name);
    g_free (name);
    return zeros (w, ndim, shape);
  }
  same = (t->ndim == ndim);
  for (int i = 0; same && i < ndim; i++)
    same = (t->shape[i] == shape[i]);
  if (!same) {
    char want[128], got[128];
    w->status = mc_err (w->err, MC_ERR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %s",
        mc_tensor_file_path (w->file), name, mc_shape_str (t->ndim, t->shape, got, sizeof got),
        mc_shape_str (ndim, shape, want, sizeof want));
    g_free (name);
    return zeros (w, ndim, shape);
  }
  if (!is_float (t->dtype)) {
    w->status = mc_err (w->err, MC_ERR_WEIGHTS, "%s: tensor '%s' has dtype %s, expected a float type",
        mc_tensor_file_path (w->file), name, mc_dtype_name (t->dtype));
    g_free (name);
    return zeros (w, ndim, shape);
  }
  g_hash_table_add (w->used, name);
  buf = g_malloc ((gsize) (mc_tensor_numel (t) ? mc_tensor_numel (t) : 1) * sizeof (float));
  mc_tensor_to_f32 (t, buf);
  g_ptr_array_add (w->buffers, buf);
  /* parameters, not buffers: BN running statistics are not counted */
  if (!g_str_has_suffix (name, ".running_mean") && !g_str_has_suffix (name, ".running_var"))
    w->params += mc_tensor_numel (t);
  return buf;
}

void
mc_weights_skip (mc_weights *w, const char *fmt, ...)
{
  va_list ap;
  char *name;
  va_start (ap, fmt);
  name = full_name (w, fmt, ap);
  va_end (ap);
  g_hash_table_add (w->used, name);
}

mc_status
mc_weights_status (const mc_weights *w)
{
  return w->status;
}

mc_status
mc_weights_check_all_used (mc_weights *w, const char *prefix)
{
  size_t n;
  if (w->status != MC_OK || !w->file)
    return w->status;
  n = mc_tensor_file_count (w->file);
  for (size_t i = 0; i < n; i++) {
    const mc_tensor_info *t = mc_tensor_file_at (w->file, i);
    if (!g_str_has_prefix (t->name, prefix) || g_hash_table_contains (w->used, t->name))
      continue;
    if (g_str_has_suffix (t->name, ".num_batches_tracked"))
      continue;   /* a training counter, never read at inference */
    w->status = mc_err (w->err, MC_ERR_WEIGHTS,
        "%s: tensor '%s' is not part of the configured architecture (wrong config for these weights?)",
        mc_tensor_file_path (w->file), t->name);
    return w->status;
  }
  return MC_OK;
}

int64_t
mc_weights_params_read (const mc_weights *w)
{
  return w->params;
}
