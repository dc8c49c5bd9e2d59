/* prompts.c — prompt sets, ensembling and the embeddings cache (see
 * prompts.h and the "Prompt sets" section of mobileclip.h). */
#include "prompts.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "runtime/error.h"

struct mc_prompt_set {
  GPtrArray *labels;     /* of GStrv: the label's phrasings, [0] is its name */
  GStrv templates;       /* NULL-terminated; empty: phrasings used as written */
};

struct mc_prompt_embeddings {
  int n, d;
  float *data;           /* [n, d] */
  GStrv labels;
  GStrv keys;            /* per label: its phrasings as a JSON array, or NULL
                            for files that do not record them */
  char *templates;       /* JSON array, or NULL when unknown */
  char fingerprint[64];
  float logit_scale;     /* raw parameter; NAN when unknown */
  float logit_scale_exp; /* 0 when unknown */
};

/* ---- prompt sets -------------------------------------------------------- */

static mc_prompt_set *
set_new (void)
{
  mc_prompt_set *s = g_new0 (mc_prompt_set, 1);
  s->labels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  s->templates = g_new0 (char *, 1);
  return s;
}

void
mc_prompt_set_free (mc_prompt_set *set)
{
  if (!set)
    return;
  g_ptr_array_free (set->labels, TRUE);
  g_strfreev (set->templates);
  g_free (set);
}

/* Adds the label written as "name | phrasing | ..." (pieces trimmed, empty
 * ones dropped); a line with nothing left adds nothing. */
static void
add_label (mc_prompt_set *s, const char *entry)
{
  char **pieces = g_strsplit (entry, "|", -1);
  GPtrArray *kept = g_ptr_array_new ();

  for (char **p = pieces; *p; p++) {
    g_strstrip (*p);
    if (**p)
      g_ptr_array_add (kept, g_strdup (*p));
  }
  g_strfreev (pieces);
  if (kept->len) {
    g_ptr_array_add (kept, NULL);
    g_ptr_array_add (s->labels, g_ptr_array_free (kept, FALSE));
  } else {
    g_ptr_array_free (kept, TRUE);
  }
}

/* Where the first invalid UTF-8 byte is, as a 1-based line number. */
static int
invalid_utf8_line (const char *text, gsize len)
{
  const char *end;
  int line = 1;
  if (g_utf8_validate (text, (gssize) len, &end))
    return 0;
  for (const char *p = text; p < end; p++)
    line += *p == '\n';
  return line;
}

mc_status
mc_prompt_set_from_string (const char *spec, mc_prompt_set **out, mc_error *err)
{
  mc_prompt_set *s;
  char **entries;

  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_set_from_string: out is NULL");
  *out = NULL;
  if (!spec)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no prompts given");
  if (!g_utf8_validate (spec, -1, NULL))
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "prompts: not valid UTF-8 text");
  s = set_new ();
  entries = g_strsplit (spec, ";", -1);
  for (char **e = entries; *e; e++)
    add_label (s, *e);
  g_strfreev (entries);
  if (s->labels->len == 0) {
    mc_prompt_set_free (s);
    return mc_err (err, MC_ERR_INVALID_ARGUMENT,
        "no prompts: '%.60s' holds no label (separate labels with ';')", spec);
  }
  *out = s;
  return MC_OK;
}

/* Reads a UTF-8 text file whole and splits it into lines (CRLF accepted,
 * a leading BOM dropped).  Errors name the file and the line. */
static mc_status
read_lines (const char *path, const char *what, char ***lines, mc_error *err)
{
  char *text = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  const char *start;
  int bad;

  *lines = NULL;
  if (!path)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no %s file given", what);
  if (!g_file_get_contents (path, &text, &len, &gerr)) {
    mc_status st = mc_err (err, MC_ERR_IO, "%s file %s: %s", what, path, gerr->message);
    g_error_free (gerr);
    return st;
  }
  if (strlen (text) != len) {
    g_free (text);
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "%s file %s: holds a NUL byte (not a text file)", what, path);
  }
  bad = invalid_utf8_line (text, len);
  if (bad) {
    g_free (text);
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "%s file %s: line %d is not valid UTF-8", what, path, bad);
  }
  start = g_str_has_prefix (text, "\xEF\xBB\xBF") ? text + 3 : text;
  *lines = g_strsplit (start, "\n", -1);
  g_free (text);
  for (char **l = *lines; *l; l++)
    g_strstrip (*l);    /* also drops the \r of CRLF */
  return MC_OK;
}

static int
is_comment_or_blank (const char *line)
{
  return !*line || *line == '#';
}

mc_status
mc_prompt_set_from_file (const char *path, mc_prompt_set **out, mc_error *err)
{
  mc_prompt_set *s;
  char **lines;
  mc_status st;

  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_set_from_file: out is NULL");
  *out = NULL;
  st = read_lines (path, "prompts", &lines, err);
  if (st != MC_OK)
    return st;
  s = set_new ();
  for (char **l = lines; *l; l++)
    if (!is_comment_or_blank (*l))
      add_label (s, *l);
  g_strfreev (lines);
  if (s->labels->len == 0) {
    mc_prompt_set_free (s);
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "prompts file %s: holds no label", path);
  }
  *out = s;
  return MC_OK;
}

mc_status
mc_prompt_set_set_templates (mc_prompt_set *set, const char *const *templates,
    int n, mc_error *err)
{
  GStrv t;

  if (!set || n < 0 || (n > 0 && !templates))
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_set_set_templates: bad arguments");
  for (int i = 0; i < n; i++) {
    if (!templates[i] || !strstr (templates[i], "{}"))
      return mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "template %d ('%.60s') has no {} where the label goes", i + 1, templates[i] ? templates[i] : "");
    if (!g_utf8_validate (templates[i], -1, NULL))
      return mc_err (err, MC_ERR_INVALID_ARGUMENT, "template %d is not valid UTF-8", i + 1);
  }
  t = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    t[i] = g_strdup (templates[i]);
  g_strfreev (set->templates);
  set->templates = t;
  return MC_OK;
}

mc_status
mc_prompt_set_load_templates (mc_prompt_set *set, const char *path, mc_error *err)
{
  GPtrArray *kept;
  char **lines;
  mc_status st;
  int n = 0, line = 0;

  if (!set)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_set_load_templates: set is NULL");
  st = read_lines (path, "templates", &lines, err);
  if (st != MC_OK)
    return st;
  kept = g_ptr_array_new ();
  for (char **l = lines; *l && st == MC_OK; l++) {
    line++;
    if (is_comment_or_blank (*l))
      continue;
    if (!strstr (*l, "{}"))
      st = mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "templates file %s: line %d ('%.60s') has no {} where the label goes", path, line, *l);
    g_ptr_array_add (kept, *l);
    n++;
  }
  if (st == MC_OK && n == 0)
    st = mc_err (err, MC_ERR_INVALID_ARGUMENT, "templates file %s: holds no template", path);
  if (st == MC_OK)
    st = mc_prompt_set_set_templates (set, (const char *const *) kept->pdata, n, err);
  g_ptr_array_free (kept, TRUE);
  g_strfreev (lines);
  return st;
}

int
mc_prompt_set_count (const mc_prompt_set *set)
{
  return set ? (int) set->labels->len : 0;
}

static GStrv
phrasings_of (const mc_prompt_set *set, int label)
{
  return g_ptr_array_index (set->labels, label);
}

const char *
mc_prompt_set_label (const mc_prompt_set *set, int label)
{
  if (!set || label < 0 || label >= (int) set->labels->len)
    return NULL;
  return phrasings_of (set, label)[0];
}

int
mc_prompt_set_phrasing_count (const mc_prompt_set *set, int label)
{
  if (!set || label < 0 || label >= (int) set->labels->len)
    return 0;
  return (int) g_strv_length (phrasings_of (set, label));
}

const char *
mc_prompt_set_phrasing (const mc_prompt_set *set, int label, int i)
{
  if (i < 0 || i >= mc_prompt_set_phrasing_count (set, label))
    return NULL;
  return phrasings_of (set, label)[i];
}

int
mc_prompt_set_template_count (const mc_prompt_set *set)
{
  return set ? (int) g_strv_length (set->templates) : 0;
}

const char *
mc_prompt_set_template (const mc_prompt_set *set, int i)
{
  if (i < 0 || i >= mc_prompt_set_template_count (set))
    return NULL;
  return set->templates[i];
}

/* ---- JSON helpers ------------------------------------------------------- */

static char *
strv_to_json (const char *const *v)
{
  cJSON *a = cJSON_CreateArray ();
  char *s, *out;
  for (; v && *v; v++)
    cJSON_AddItemToArray (a, cJSON_CreateString (*v));
  s = cJSON_PrintUnformatted (a);
  out = g_strdup (s);
  cJSON_free (s);
  cJSON_Delete (a);
  return out;
}

/* A JSON array of strings, or NULL if it is anything else. */
static GStrv
json_to_strv (const cJSON *a)
{
  GStrv v;
  int n, i = 0;
  const cJSON *it;

  if (!cJSON_IsArray (a))
    return NULL;
  n = cJSON_GetArraySize (a);
  v = g_new0 (char *, n + 1);
  cJSON_ArrayForEach (it, a) {
    if (!cJSON_IsString (it)) {
      g_strfreev (v);
      return NULL;
    }
    v[i++] = g_strdup (it->valuestring);
  }
  return v;
}

/* ---- embeddings files --------------------------------------------------- */

static mc_prompt_embeddings *
embeddings_new (int n, int d)
{
  mc_prompt_embeddings *pe = g_new0 (mc_prompt_embeddings, 1);
  pe->n = n;
  pe->d = d;
  pe->data = g_try_new0 (float, (gsize) n * d);
  pe->labels = g_new0 (char *, n + 1);
  pe->keys = g_new0 (char *, n + 1);
  pe->logit_scale = NAN;
  if (!pe->data) {
    g_free (pe->labels);
    g_free (pe->keys);
    g_free (pe);
    return NULL;
  }
  return pe;
}

void
mc_prompt_embeddings_free (mc_prompt_embeddings *pe)
{
  if (!pe)
    return;
  g_free (pe->data);
  g_strfreev (pe->labels);
  /* keys may have NULL holes: free every slot */
  for (int i = 0; i < pe->n; i++)
    g_free (pe->keys[i]);
  g_free (pe->keys);
  g_free (pe->templates);
  g_free (pe);
}

int mc_prompt_embeddings_count (const mc_prompt_embeddings *pe) { return pe ? pe->n : 0; }
int mc_prompt_embeddings_dim (const mc_prompt_embeddings *pe) { return pe ? pe->d : 0; }
const float *mc_prompt_embeddings_data (const mc_prompt_embeddings *pe) { return pe ? pe->data : NULL; }
const char *mc_prompt_embeddings_fingerprint (const mc_prompt_embeddings *pe) { return pe ? pe->fingerprint : ""; }
float mc_prompt_embeddings_logit_scale_exp (const mc_prompt_embeddings *pe) { return pe ? pe->logit_scale_exp : 0.0f; }

const char *
mc_prompt_embeddings_label (const mc_prompt_embeddings *pe, int i)
{
  if (!pe || i < 0 || i >= pe->n)
    return NULL;
  return pe->labels[i];
}

static const char *
meta_string (const cJSON *meta, const char *key)
{
  return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (meta, key));
}

/* Fills labels, keys, templates, fingerprint and scales from the metadata
 * object (NULL: none).  Anything present must be well formed. */
static mc_status
read_metadata (mc_prompt_embeddings *pe, const cJSON *meta, const char *path, mc_error *err)
{
  const char *s;
  mc_status st = MC_OK;

  s = meta_string (meta, MC_PROMPTS_KEY_LABELS);
  if (s) {
    cJSON *a = cJSON_Parse (s);
    GStrv v = json_to_strv (a);
    cJSON_Delete (a);
    if (!v || (int) g_strv_length (v) != pe->n) {
      g_strfreev (v);
      return mc_err (err, MC_ERR_FORMAT, "%s: metadata '%s' is not an array of %d strings",
          path, MC_PROMPTS_KEY_LABELS, pe->n);
    }
    g_strfreev (pe->labels);
    pe->labels = v;
  } else {
    for (int i = 0; i < pe->n; i++)
      pe->labels[i] = g_strdup_printf ("%d", i);
  }

  s = meta_string (meta, MC_PROMPTS_KEY_PHRASINGS);
  if (s) {
    cJSON *a = cJSON_Parse (s);
    if (!cJSON_IsArray (a) || cJSON_GetArraySize (a) != pe->n)
      st = mc_err (err, MC_ERR_FORMAT, "%s: metadata '%s' is not an array of %d arrays",
          path, MC_PROMPTS_KEY_PHRASINGS, pe->n);
    for (int i = 0; st == MC_OK && i < pe->n; i++) {
      GStrv v = json_to_strv (cJSON_GetArrayItem (a, i));
      if (!v || !v[0])
        st = mc_err (err, MC_ERR_FORMAT, "%s: entry %d of metadata '%s' is not a non-empty array of strings",
            path, i, MC_PROMPTS_KEY_PHRASINGS);
      else
        pe->keys[i] = strv_to_json ((const char *const *) v);
      g_strfreev (v);
    }
    cJSON_Delete (a);
    if (st != MC_OK)
      return st;
  }

  s = meta_string (meta, MC_PROMPTS_KEY_TEMPLATES);
  if (s) {
    cJSON *a = cJSON_Parse (s);
    GStrv v = json_to_strv (a);
    cJSON_Delete (a);
    if (!v)
      return mc_err (err, MC_ERR_FORMAT, "%s: metadata '%s' is not an array of strings",
          path, MC_PROMPTS_KEY_TEMPLATES);
    pe->templates = strv_to_json ((const char *const *) v);
    g_strfreev (v);
  }

  s = meta_string (meta, MC_PROMPTS_KEY_FINGERPRINT);
  if (s)
    g_strlcpy (pe->fingerprint, s, sizeof pe->fingerprint);
  s = meta_string (meta, MC_PROMPTS_KEY_LOGIT_SCALE);
  if (s)
    pe->logit_scale = (float) g_ascii_strtod (s, NULL);
  s = meta_string (meta, MC_PROMPTS_KEY_LOGIT_SCALE_EXP);
  if (s)
    pe->logit_scale_exp = (float) g_ascii_strtod (s, NULL);
  else if (isfinite (pe->logit_scale))
    pe->logit_scale_exp = fminf (fmaxf (expf (pe->logit_scale), 0.0f), 100.0f);
  if (!(pe->logit_scale_exp >= 0.0f && pe->logit_scale_exp < INFINITY))
    return mc_err (err, MC_ERR_FORMAT, "%s: bad logit scale in the metadata", path);
  return MC_OK;
}

mc_status
mc_prompt_embeddings_load (const char *path, mc_prompt_embeddings **out, mc_error *err)
{
  mc_tensor_file *f = NULL;
  const mc_tensor_info *t;
  mc_prompt_embeddings *pe = NULL;
  cJSON *meta = NULL;
  mc_status st;

  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_embeddings_load: out is NULL");
  *out = NULL;
  if (!path)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no embeddings file given");
  st = mc_tensor_file_open (path, &f, err);
  if (st != MC_OK)
    return st;
  t = mc_tensor_file_find (f, MC_PROMPTS_TENSOR);
  if (!t || t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > INT32_MAX
      || t->shape[1] > INT32_MAX
      || (t->dtype != MC_DTYPE_F32 && t->dtype != MC_DTYPE_F16 && t->dtype != MC_DTYPE_BF16)) {
    st = mc_err (err, MC_ERR_FORMAT, "%s: needs a float tensor '%s' [N, D]", path, MC_PROMPTS_TENSOR);
    goto out;
  }
  pe = embeddings_new ((int) t->shape[0], (int) t->shape[1]);
  if (!pe) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  mc_tensor_to_f32 (t, pe->data);
  for (size_t i = 0; i < (size_t) pe->n * pe->d; i++)
    if (!isfinite (pe->data[i])) {
      st = mc_err (err, MC_ERR_FORMAT, "%s: row %zu of '%s' is not finite", path,
          i / pe->d, MC_PROMPTS_TENSOR);
      goto out;
    }
  mc_l2_normalize (pe->data, pe->n, pe->d);
  if (mc_tensor_file_metadata (f)) {
    meta = cJSON_Parse (mc_tensor_file_metadata (f));
    if (!cJSON_IsObject (meta)) {
      st = mc_err (err, MC_ERR_FORMAT, "%s: malformed __metadata__", path);
      goto out;
    }
  }
  st = read_metadata (pe, meta, path, err);

out:
  cJSON_Delete (meta);
  mc_tensor_file_close (f);
  if (st != MC_OK)
    mc_prompt_embeddings_free (pe);
  else
    *out = pe;
  return st;
}

mc_status
mc_prompt_embeddings_save (const mc_prompt_embeddings *pe, const char *path, mc_error *err)
{
  const char *keys[8], *values[8];
  char scale[G_ASCII_DTOSTR_BUF_SIZE], scale_exp[G_ASCII_DTOSTR_BUF_SIZE];
  char *labels, *phrasings = NULL;
  mc_tensor_out t;
  int have_keys = 1, n = 0;
  mc_status st;

  if (!pe || !path)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_embeddings_save: NULL argument");
  memset (&t, 0, sizeof t);
  t.name = MC_PROMPTS_TENSOR;
  t.dtype = MC_DTYPE_F32;
  t.ndim = 2;
  t.shape[0] = pe->n;
  t.shape[1] = pe->d;
  t.data = pe->data;

  labels = strv_to_json ((const char *const *) pe->labels);
  for (int i = 0; i < pe->n; i++)
    have_keys &= pe->keys[i] != NULL;
  if (have_keys) {
    GString *s = g_string_new ("[");
    for (int i = 0; i < pe->n; i++)
      g_string_append_printf (s, "%s%s", i ? "," : "", pe->keys[i]);
    g_string_append_c (s, ']');
    phrasings = g_string_free (s, FALSE);
  }
  keys[n] = MC_PROMPTS_KEY_FORMAT; values[n++] = MC_PROMPTS_FORMAT;
  keys[n] = MC_PROMPTS_KEY_LABELS; values[n++] = labels;
  if (phrasings) {
    keys[n] = MC_PROMPTS_KEY_PHRASINGS; values[n++] = phrasings;
  }
  if (pe->templates) {
    keys[n] = MC_PROMPTS_KEY_TEMPLATES; values[n++] = pe->templates;
  }
  if (pe->fingerprint[0]) {
    keys[n] = MC_PROMPTS_KEY_FINGERPRINT; values[n++] = pe->fingerprint;
  }
  if (isfinite (pe->logit_scale)) {
    g_ascii_formatd (scale, sizeof scale, "%.9g", pe->logit_scale);
    keys[n] = MC_PROMPTS_KEY_LOGIT_SCALE; values[n++] = scale;
  }
  if (pe->logit_scale_exp > 0.0f) {
    g_ascii_formatd (scale_exp, sizeof scale_exp, "%.9g", pe->logit_scale_exp);
    keys[n] = MC_PROMPTS_KEY_LOGIT_SCALE_EXP; values[n++] = scale_exp;
  }
  st = mc_safetensors_write (path, &t, 1, keys, values, (size_t) n, err);
  g_free (labels);
  g_free (phrasings);
  return st;
}

/* ---- computing ---------------------------------------------------------- */

/* Every "{}" of a template replaced by the phrasing. */
static char *
fill_template (const char *tmpl, const char *phrasing)
{
  GString *s = g_string_new (NULL);
  const char *p = tmpl, *hole;
  while ((hole = strstr (p, "{}"))) {
    g_string_append_len (s, p, hole - p);
    g_string_append (s, phrasing);
    p = hole + 2;
  }
  g_string_append (s, p);
  return g_string_free (s, FALSE);
}

typedef struct {
  mc_context *ctx;
  int d, count;
  int32_t *tokens;       /* [MC_PROMPTS_BATCH, 77] */
  float *emb;            /* [MC_PROMPTS_BATCH, d] */
  int owner[MC_PROMPTS_BATCH];
  double *acc;           /* [n labels, d] sums of normalized rows */
  int encoded;
} ensemble;

static mc_status
flush (ensemble *e, mc_error *err)
{
  mc_status st;
  if (!e->count)
    return MC_OK;
  st = mc_encode_texts (e->ctx, e->tokens, e->count, e->emb, err);
  if (st != MC_OK)
    return st;
  mc_l2_normalize (e->emb, e->count, e->d);
  for (int i = 0; i < e->count; i++) {
    double *a = e->acc + (size_t) e->owner[i] * e->d;
    const float *r = e->emb + (size_t) i * e->d;
    for (int j = 0; j < e->d; j++)
      a[j] += r[j];
  }
  e->encoded += e->count;
  e->count = 0;
  return MC_OK;
}

/* Encodes every phrasing × template of the labels not yet `done` and
 * writes their ensembled rows into pe. */
static mc_status
encode_missing (mc_context *ctx, const mc_prompt_set *set, const int *done,
    mc_prompt_embeddings *pe, int *n_texts, mc_error *err)
{
  static const char *const as_written[] = { "{}", NULL };
  const char *const *tmpls = set->templates[0] ? (const char *const *) set->templates : as_written;
  ensemble e = { ctx, pe->d, 0, NULL, NULL, { 0 }, NULL, 0 };
  mc_status st = MC_OK;

  e.tokens = g_try_new (int32_t, (gsize) MC_PROMPTS_BATCH * MC_CONTEXT_LENGTH);
  e.emb = g_try_new (float, (gsize) MC_PROMPTS_BATCH * pe->d);
  e.acc = g_try_new0 (double, (gsize) pe->n * pe->d);
  if (!e.tokens || !e.emb || !e.acc)
    st = mc_err (err, MC_ERR_NOMEM, "out of memory embedding %d prompts", pe->n);

  for (int l = 0; l < pe->n && st == MC_OK; l++) {
    GStrv ph = phrasings_of (set, l);
    if (done[l])
      continue;
    for (int p = 0; ph[p] && st == MC_OK; p++)
      for (int t = 0; tmpls[t] && st == MC_OK; t++) {
        char *text = fill_template (tmpls[t], ph[p]);
        st = mc_tokenize (ctx, text, e.tokens + (size_t) e.count * MC_CONTEXT_LENGTH, err);
        if (st != MC_OK)
          mc_err_prefix (err, "label '%s', text '%.60s'", ph[0], text);
        g_free (text);
        if (st == MC_OK) {
          e.owner[e.count++] = l;
          if (e.count == MC_PROMPTS_BATCH)
            st = flush (&e, err);
        }
      }
  }
  if (st == MC_OK)
    st = flush (&e, err);
  /* the mean of unit vectors, normalized again: the mean's scale drops out */
  for (int l = 0; l < pe->n && st == MC_OK; l++) {
    if (done[l])
      continue;
    for (int j = 0; j < pe->d; j++)
      pe->data[(size_t) l * pe->d + j] = (float) e.acc[(size_t) l * pe->d + j];
    mc_l2_normalize (pe->data + (size_t) l * pe->d, 1, pe->d);
  }
  *n_texts = e.encoded;
  g_free (e.tokens);
  g_free (e.emb);
  g_free (e.acc);
  return st;
}

/* Whether the cache file already holds exactly what we would write. */
static int
same_content (const mc_prompt_embeddings *a, const mc_prompt_embeddings *b)
{
  if (a->n != b->n || a->d != b->d || strcmp (a->fingerprint, b->fingerprint)
      || g_strcmp0 (a->templates, b->templates)
      || a->logit_scale_exp != b->logit_scale_exp
      || !(a->logit_scale == b->logit_scale))
    return 0;
  for (int i = 0; i < a->n; i++)
    if (g_strcmp0 (a->labels[i], b->labels[i]) || g_strcmp0 (a->keys[i], b->keys[i]))
      return 0;
  return 1;
}

/* Copies the rows of labels the cache holds with the same phrasings. */
static int
reuse_from_cache (const mc_prompt_embeddings *cache, mc_prompt_embeddings *pe, int *done)
{
  GHashTable *rows = g_hash_table_new (g_str_hash, g_str_equal);
  int reused = 0;

  for (int i = 0; i < cache->n; i++)
    if (cache->keys[i] && !g_hash_table_contains (rows, cache->keys[i]))
      g_hash_table_insert (rows, cache->keys[i], GINT_TO_POINTER (i + 1));
  for (int l = 0; l < pe->n; l++) {
    int row = GPOINTER_TO_INT (g_hash_table_lookup (rows, pe->keys[l]));
    if (row) {
      memcpy (pe->data + (size_t) l * pe->d, cache->data + (size_t) (row - 1) * cache->d,
          (size_t) pe->d * sizeof (float));
      done[l] = 1;
      reused++;
    }
  }
  g_hash_table_destroy (rows);
  return reused;
}

mc_status
mc_prompt_embeddings_compute (mc_context *ctx, const mc_prompt_set *set,
    const char *cache_path, mc_prompt_embeddings **out,
    mc_prompt_cache_report *report, mc_error *err)
{
  mc_prompt_cache_report local;
  mc_prompt_embeddings *pe, *cache = NULL;
  int *done = NULL, n;
  mc_status st = MC_OK;

  if (!report)
    report = &local;
  memset (report, 0, sizeof *report);
  if (!out)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_embeddings_compute: out is NULL");
  *out = NULL;
  if (!ctx || !set)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "mc_prompt_embeddings_compute: NULL argument");
  n = mc_prompt_set_count (set);
  if (n < 1)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no prompts");
  report->n_labels = n;

  pe = embeddings_new (n, mc_embed_dim (ctx));
  if (!pe)
    return mc_err (err, MC_ERR_NOMEM, "out of memory for %d prompt embeddings", n);
  for (int l = 0; l < n; l++) {
    pe->labels[l] = g_strdup (mc_prompt_set_label (set, l));
    pe->keys[l] = strv_to_json ((const char *const *) phrasings_of (set, l));
  }
  pe->templates = strv_to_json ((const char *const *) set->templates);
  g_strlcpy (pe->fingerprint, mc_fingerprint (ctx), sizeof pe->fingerprint);
  pe->logit_scale = mc_logit_scale (ctx);
  pe->logit_scale_exp = mc_logit_scale_exp (ctx);
  done = g_new0 (int, n);

  if (cache_path && g_file_test (cache_path, G_FILE_TEST_EXISTS)) {
    mc_error cerr = { 0 };
    if (mc_prompt_embeddings_load (cache_path, &cache, &cerr) != MC_OK) {
      report->cache_invalid = 1;
      g_snprintf (report->warning, sizeof report->warning,
          "prompt cache ignored and rebuilt: %s", cerr.message);
    } else if (cache->d != pe->d || strcmp (cache->fingerprint, pe->fingerprint)) {
      report->model_changed = 1;
    } else if (!g_strcmp0 (cache->templates, pe->templates)) {
      report->n_reused = reuse_from_cache (cache, pe, done);
    }
  }

  report->n_computed = n - report->n_reused;
  if (report->n_computed > 0) {
    if (!mc_has_text (ctx))
      st = mc_err (err, MC_ERR_INVALID_ARGUMENT,
          "%d of %d prompts are not in the cache and this model has no text tower loaded",
          report->n_computed, n);
    else
      st = encode_missing (ctx, set, done, pe, &report->n_texts_encoded, err);
  }

  if (st == MC_OK && cache_path) {
    report->cache_hit = cache && report->n_reused == n && same_content (cache, pe);
    if (!report->cache_hit) {
      mc_error werr = { 0 };
      if (mc_prompt_embeddings_save (pe, cache_path, &werr) == MC_OK)
        report->cache_written = 1;
      else if (!report->warning[0])
        g_snprintf (report->warning, sizeof report->warning,
            "prompt cache not written: %s", werr.message);
    }
  }

  mc_prompt_embeddings_free (cache);
  g_free (done);
  if (st != MC_OK) {
    mc_prompt_embeddings_free (pe);
    return st;
  }
  *out = pe;
  return MC_OK;
}
