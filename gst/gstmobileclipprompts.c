/* gstmobileclipprompts.c — label sets for the elements, from the engine's
 * prompt sets, prompt-embedding cache and embeddings files. */
#include "gstmobileclipprompts.h"

#include <glib/gstdio.h>
#include <string.h>

G_DEFINE_QUARK (gst-mobileclip-prompts-error-quark, gst_mobileclip_prompts_error);

void
gst_mobileclip_prompt_source_clear (GstMobileClipPromptSource * src)
{
  g_clear_pointer (&src->prompts, g_free);
  g_clear_pointer (&src->prompts_file, g_free);
  g_clear_pointer (&src->templates_file, g_free);
  g_clear_pointer (&src->embeddings_file, g_free);
  g_clear_pointer (&src->negative_prompts, g_free);
}

void
gst_mobileclip_prompt_source_copy (GstMobileClipPromptSource * dst,
    const GstMobileClipPromptSource * src)
{
  gst_mobileclip_prompt_source_clear (dst);
  dst->prompts = g_strdup (src->prompts);
  dst->prompts_file = g_strdup (src->prompts_file);
  dst->templates_file = g_strdup (src->templates_file);
  dst->embeddings_file = g_strdup (src->embeddings_file);
  dst->negative_prompts = g_strdup (src->negative_prompts);
}

/* A ';' list with at least one non-blank entry. */
static gboolean
has_labels (const gchar * list)
{
  gchar **labels = gst_mobileclip_split_labels (list);
  gboolean any = labels && labels[0];

  g_strfreev (labels);
  return any;
}

gchar **
gst_mobileclip_split_labels (const gchar * list)
{
  GPtrArray *out = g_ptr_array_new ();
  gchar **parts;

  if (list) {
    parts = g_strsplit (list, ";", -1);
    for (gchar ** p = parts; *p; p++) {
      gchar *label = g_strstrip (*p);
      if (*label)
        g_ptr_array_add (out, g_strdup (label));
    }
    g_strfreev (parts);
  }
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

void
gst_mobileclip_label_set_free (GstMobileClipLabelSet * set)
{
  if (!set)
    return;
  g_strfreev (set->labels);
  g_free (set->embeddings);
  g_free (set->cache_warning);
  g_free (set);
}

/* The prompt-embedding cache, one file per model, in the user's cache
 * folder: a prompt change re-encodes only labels not seen before. */
static gchar *
cache_path (mc_context * ctx)
{
  gchar *name = g_strdup_printf ("prompts-%s.safetensors", mc_fingerprint (ctx));
  gchar *dir = g_build_filename (g_get_user_cache_dir (), "mobileclip", NULL);
  gchar *path = NULL;

  if (g_mkdir_with_parents (dir, 0755) == 0)
    path = g_build_filename (dir, name, NULL);
  g_free (dir);
  g_free (name);
  return path;
}

static gboolean
fail (GError ** error, GstMobileClipPromptsError code, const mc_error * err,
    const gchar * what)
{
  g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR, code, "%s: %s", what,
      err->message);
  return FALSE;
}

/* Embeds a prompt set (templates applied) through the cache. */
static mc_prompt_embeddings *
embed_set (mc_context * ctx, mc_prompt_set * set, const gchar * templates_file,
    const gchar * what, GstMobileClipLabelSet * stats, GError ** error)
{
  mc_prompt_embeddings *pe = NULL;
  mc_prompt_cache_report report;
  mc_error err = { 0 };
  gchar *cache;

  if (templates_file
      && mc_prompt_set_load_templates (set, templates_file, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_FILE, &err, "templates-file");
    return NULL;
  }
  memset (&report, 0, sizeof report);
  cache = cache_path (ctx);
  /* a context without its text tower still serves complete cache hits */
  if (mc_prompt_embeddings_compute (ctx, set, cache, &pe, &report,
          &err) != MC_OK) {
    fail (error, mc_has_text (ctx) ? GST_MOBILECLIP_PROMPTS_ERROR_ENGINE :
        GST_MOBILECLIP_PROMPTS_ERROR_NEEDS_TEXT, &err, what);
    pe = NULL;
  } else {
    stats->n_reused += report.n_reused;
    stats->n_texts_encoded += report.n_texts_encoded;
    if (report.warning[0] && !stats->cache_warning)
      stats->cache_warning = g_strdup (report.warning);
  }
  g_free (cache);
  return pe;
}

/* Appends pe's rows and labels to the set being built. */
static gboolean
append (GstMobileClipLabelSet * out, GPtrArray * labels, GArray * rows,
    const mc_prompt_embeddings * pe, const gchar * what, GError ** error)
{
  const gint n = mc_prompt_embeddings_count (pe);
  const gint d = mc_prompt_embeddings_dim (pe);

  if (out->dim && (guint) d != out->dim) {
    g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_MODEL,
        "%s: embeddings have %d dimensions, the model's have %u", what, d,
        out->dim);
    return FALSE;
  }
  for (gint i = 0; i < n; i++)
    g_ptr_array_add (labels, g_strdup (mc_prompt_embeddings_label (pe, i)));
  g_array_append_vals (rows, mc_prompt_embeddings_data (pe), (guint) (n * d));
  out->n_labels += n;
  return TRUE;
}

/* Embeds a ';' list (prompts or negatives); NULL with no error when empty. */
static mc_prompt_embeddings *
embed_list (mc_context * ctx, const gchar * list, const gchar * templates_file,
    const gchar * what, GstMobileClipLabelSet * stats, GError ** error)
{
  mc_prompt_set *set = NULL;
  mc_prompt_embeddings *pe;
  mc_error err = { 0 };

  if (!has_labels (list))
    return NULL;
  if (mc_prompt_set_from_string (list, &set, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_EMPTY, &err, what);
    return NULL;
  }
  pe = embed_set (ctx, set, templates_file, what, stats, error);
  mc_prompt_set_free (set);
  return pe;
}

static mc_prompt_embeddings *
embed_file (mc_context * ctx, const gchar * path, const gchar * templates_file,
    GstMobileClipLabelSet * stats, GError ** error)
{
  mc_prompt_set *set = NULL;
  mc_prompt_embeddings *pe;
  mc_error err = { 0 };

  if (mc_prompt_set_from_file (path, &set, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_FILE, &err, "prompts-file");
    return NULL;
  }
  pe = embed_set (ctx, set, templates_file, "prompts-file", stats, error);
  mc_prompt_set_free (set);
  return pe;
}

static mc_prompt_embeddings *
load_embeddings_file (mc_context * ctx, const gchar * path, GError ** error)
{
  mc_prompt_embeddings *pe = NULL;
  mc_error err = { 0 };
  const gchar *made_by;

  if (mc_prompt_embeddings_load (path, &pe, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_FILE, &err, "embeddings-file");
    return NULL;
  }
  made_by = mc_prompt_embeddings_fingerprint (pe);
  if (made_by[0] && strcmp (made_by, mc_fingerprint (ctx)) != 0) {
    g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_MODEL,
        "embeddings-file: %s was made by the model with fingerprint %s, "
        "this model's is %s", path, made_by, mc_fingerprint (ctx));
    mc_prompt_embeddings_free (pe);
    return NULL;
  }
  return pe;
}

GstMobileClipLabelSet *
gst_mobileclip_label_set_build (mc_context * ctx,
    const GstMobileClipPromptSource * src, GError ** error)
{
  GstMobileClipLabelSet *out = g_new0 (GstMobileClipLabelSet, 1);
  GPtrArray *labels = g_ptr_array_new ();
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (gfloat));
  mc_prompt_embeddings *parts[3] = { NULL, NULL, NULL };
  mc_prompt_embeddings *negatives = NULL;
  const gchar *names[3] = { "embeddings-file", "prompts-file", "prompts" };
  GError *local = NULL;

  out->dim = (guint) mc_embed_dim (ctx);
  if (src->embeddings_file) {
    parts[0] = load_embeddings_file (ctx, src->embeddings_file, &local);
  } else {
    if (src->prompts_file)
      parts[1] = embed_file (ctx, src->prompts_file, src->templates_file, out,
          &local);
    if (!local)
      parts[2] = embed_list (ctx, src->prompts, src->templates_file,
          "prompts", out, &local);
  }
  for (guint i = 0; !local && i < G_N_ELEMENTS (parts); i++)
    if (parts[i])
      append (out, labels, rows, parts[i], names[i], &local);
  if (!local && out->n_labels == 0) {
    g_set_error (&local, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_EMPTY, "no labels to classify into: set "
        "'prompts', 'prompts-file' or 'embeddings-file'%s%s%s",
        src->prompts_file ? " (" : "",
        src->prompts_file ? src->prompts_file : "",
        src->prompts_file ? " holds none)" : "");
  }
  if (!local)
    negatives = embed_list (ctx, src->negative_prompts, src->templates_file,
        "negative-prompts", out, &local);
  if (!local && negatives) {
    guint before = out->n_labels;
    if (append (out, labels, rows, negatives, "negative-prompts", &local))
      out->n_negatives = out->n_labels - before;
  }
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i])
      mc_prompt_embeddings_free (parts[i]);
  if (negatives)
    mc_prompt_embeddings_free (negatives);

  g_ptr_array_add (labels, NULL);
  out->labels = (gchar **) g_ptr_array_free (labels, FALSE);
  out->embeddings = (gfloat *) g_array_free (rows, FALSE);
  if (local) {
    g_propagate_error (error, local);
    gst_mobileclip_label_set_free (out);
    return NULL;
  }
  return out;
}

GBytes *
gst_mobileclip_embeddings_serialize (mc_context * ctx, const gchar * text,
    const gchar * templates_file, GError ** error)
{
  GError *io_error = NULL;
  mc_prompt_set *set = NULL;
  mc_prompt_embeddings *pe = NULL;
  mc_error err = { 0 };
  gchar *dir, *prompts_path, *out_path, *contents = NULL;
  gsize length = 0;
  GBytes *bytes = NULL;
  GstMobileClipLabelSet stats = { 0 };

  /* The engine reads prompt files and writes embeddings files; a private
   * temporary folder lets the element share those formats exactly. */
  dir = g_dir_make_tmp ("mobileclipprompt-XXXXXX", &io_error);
  if (!dir) {
    g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_FILE, "temporary folder: %s",
        io_error->message);
    g_clear_error (&io_error);
    return NULL;
  }
  prompts_path = g_build_filename (dir, "prompts.txt", NULL);
  out_path = g_build_filename (dir, "embeddings.safetensors", NULL);

  if (!g_file_set_contents (prompts_path, text, -1, &io_error)) {
    g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_FILE, "%s", io_error->message);
    g_clear_error (&io_error);
  } else if (mc_prompt_set_from_file (prompts_path, &set, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_EMPTY, &err, "prompt text");
  } else if ((pe = embed_set (ctx, set, templates_file, "prompt text",
              &stats, error)) == NULL) {
    /* error set */
  } else if (mc_prompt_embeddings_save (pe, out_path, &err) != MC_OK) {
    fail (error, GST_MOBILECLIP_PROMPTS_ERROR_ENGINE, &err, "embeddings");
  } else if (!g_file_get_contents (out_path, &contents, &length, &io_error)) {
    g_set_error (error, GST_MOBILECLIP_PROMPTS_ERROR,
        GST_MOBILECLIP_PROMPTS_ERROR_FILE, "%s", io_error->message);
    g_clear_error (&io_error);
  } else {
    bytes = g_bytes_new_take (contents, length);
  }
  if (pe)
    mc_prompt_embeddings_free (pe);
  if (set)
    mc_prompt_set_free (set);
  g_unlink (prompts_path);
  g_unlink (out_path);
  g_rmdir (dir);
  g_free (stats.cache_warning);
  g_free (prompts_path);
  g_free (out_path);
  g_free (dir);
  return bytes;
}
