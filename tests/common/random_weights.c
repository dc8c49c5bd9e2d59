/* random_weights.c — see random_weights.h. */
#include "random_weights.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "runtime/error.h"

typedef struct {
  uint64_t s;
} rng;

static double
uniform (rng *r)
{
  /* splitmix64 → [0, 1) */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double) (z >> 11) / 9007199254740992.0;
}

static double
normal (rng *r)
{
  double u = uniform (r), v = uniform (r);
  return sqrt (-2.0 * log (u + 1e-300)) * cos (2.0 * G_PI * v);
}

static uint16_t
float_to_half (float f)
{
  /* round to nearest even; values here are far from the F16 limits */
  uint32_t x;
  memcpy (&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t) ((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10)
      return (uint16_t) sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t) (14 - exp);
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
      h++;
    return (uint16_t) (sign | h);
  }
  if (exp >= 31)
    return (uint16_t) (sign | 0x7c00);
  uint32_t h = sign | ((uint32_t) exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    h++;
  return (uint16_t) h;
}

/* Fills one tensor according to what its name says it is. */
static void
fill (rng *r, const char *name, int ndim, const int64_t *shape, int64_t numel,
    GHashTable *names, float *v)
{
  char *stem = NULL;
  int is_bn = 0;

  if (g_str_has_suffix (name, ".weight") || g_str_has_suffix (name, ".bias")) {
    stem = g_strndup (name, strrchr (name, '.') - name);
    char *rm = g_strconcat (stem, ".running_mean", NULL);
    is_bn = g_hash_table_contains (names, rm);
    g_free (rm);
  }
  for (int64_t i = 0; i < numel; i++) {
    double x;
    if (!strcmp (name, "logit_scale"))
      x = log (100.0);
    else if (g_str_has_suffix (name, ".running_var"))
      x = 0.5 + uniform (r);
    else if (g_str_has_suffix (name, ".running_mean"))
      x = 0.1 * normal (r);
    else if (strstr (name, "layer_scale"))
      x = 0.01 + 0.09 * uniform (r);
    else if (g_str_has_suffix (name, ".bias"))
      x = 0.1 * normal (r);
    else if (is_bn || (ndim == 1 && g_str_has_suffix (name, ".weight")))
      x = 0.5 + uniform (r);                       /* BN and LayerNorm γ */
    else if (strstr (name, "embedding_layer"))
      x = normal (r);
    else if (strstr (name, "pos_embed"))
      x = 0.5 * normal (r);
    else if (ndim == 4)
      x = normal (r) / sqrt ((double) (shape[1] * shape[2] * shape[3]));
    else if (ndim == 2 && (strstr (name, "proj") && !strstr (name, ".weight")))
      x = normal (r) / sqrt ((double) shape[0]);   /* [in, out] projections */
    else if (ndim == 2)
      x = normal (r) / sqrt ((double) shape[1]);   /* Linear [out, in] */
    else
      x = 0.1 * normal (r);
    v[i] = (float) x;
  }
  g_free (stem);
}

static int
parse_shape (const char *s, int *ndim, int64_t *shape)
{
  *ndim = 0;
  if (*s != '[')
    return 0;
  s++;
  while (*s && *s != ']') {
    char *end;
    long long d = strtoll (s, &end, 10);
    if (end == s || *ndim >= MC_MAX_DIMS)
      return 0;
    shape[(*ndim)++] = d;
    s = end;
    while (*s == ',' || *s == ' ')
      s++;
  }
  return *s == ']';
}

mc_status
mc_write_random_weights (const char *keys_tsv, const char *prefix,
    mc_dtype dtype, unsigned seed, const char *out_path, mc_error *err)
{
  char *text = NULL;
  char **lines;
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GArray *outs = g_array_new (FALSE, TRUE, sizeof (mc_tensor_out));
  GPtrArray *buffers = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *keep = g_ptr_array_new_with_free_func (g_free);
  rng r = { seed * 0x2545f4914f6cdd1dull + 1 };
  mc_status st = MC_OK;

  if (!g_file_get_contents (keys_tsv, &text, NULL, NULL)) {
    st = mc_err (err, MC_ERR_IO, "%s: cannot read", keys_tsv);
    goto out;
  }
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *tab = strchr (*l, '\t');
    if (tab)
      g_hash_table_add (names, g_strndup (*l, tab - *l));
  }
  for (char **l = lines; *l && st == MC_OK; l++) {
    char **f = g_strsplit (*l, "\t", 3);
    mc_tensor_out t;
    int64_t numel = 1;
    if (!f[0] || !f[1] || !g_str_has_prefix (f[0], prefix)
        || g_str_has_suffix (f[0], ".num_batches_tracked")) {
      g_strfreev (f);
      continue;
    }
    memset (&t, 0, sizeof t);
    if (!parse_shape (f[1], &t.ndim, t.shape)) {
      st = mc_err (err, MC_ERR_FORMAT, "%s: bad shape '%s' for %s", keys_tsv, f[1], f[0]);
      g_strfreev (f);
      break;
    }
    for (int d = 0; d < t.ndim; d++)
      numel *= t.shape[d];
    float *v = g_malloc ((gsize) (numel ? numel : 1) * sizeof (float));
    fill (&r, f[0], t.ndim, t.shape, numel, names, v);
    if (dtype == MC_DTYPE_F16) {
      uint16_t *h = g_malloc ((gsize) (numel ? numel : 1) * 2);
      for (int64_t i = 0; i < numel; i++)
        h[i] = float_to_half (v[i]);
      g_free (v);
      t.data = h;
      g_ptr_array_add (buffers, h);
    } else {
      t.data = v;
      g_ptr_array_add (buffers, v);
    }
    t.dtype = dtype == MC_DTYPE_F16 ? MC_DTYPE_F16 : MC_DTYPE_F32;
    t.name = g_strdup (f[0]);
    g_ptr_array_add (keep, (char *) t.name);
    g_array_append_val (outs, t);
    g_strfreev (f);
  }
  g_strfreev (lines);
  if (st == MC_OK)
    st = mc_safetensors_write (out_path, (mc_tensor_out *) outs->data, outs->len,
        NULL, NULL, 0, err);
out:
  g_free (text);
  g_hash_table_destroy (names);
  g_array_free (outs, TRUE);
  g_ptr_array_free (buffers, TRUE);
  g_ptr_array_free (keep, TRUE);
  return st;
}
