/* gstmobileclipmeta.c — GstMobileClipMeta: registration, copies and the
 * structure form shared with the element's messages. */
#include "gstmobileclipmeta.h"

#include <string.h>
#include <gst/video/video.h>

static gboolean
gst_mobileclip_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstMobileClipMeta *m = (GstMobileClipMeta *) meta;

  m->pts = GST_CLOCK_TIME_NONE;
  m->roi_id = -1;
  m->x = m->y = m->width = m->height = 0;
  m->unknown = FALSE;
  m->n_results = 0;
  m->results = NULL;
  m->embedding_dim = 0;
  m->embedding = NULL;
  m->fingerprint = NULL;
  return TRUE;
}

static void
gst_mobileclip_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstMobileClipMeta *m = (GstMobileClipMeta *) meta;

  for (guint i = 0; i < m->n_results; i++)
    g_free (m->results[i].label);
  g_free (m->results);
  g_free (m->embedding);
  g_free (m->fingerprint);
}

static void
set_contents (GstMobileClipMeta * m, const GstMobileClipResult * results,
    guint n_results, const gfloat * embedding, guint embedding_dim,
    const gchar * fingerprint)
{
  m->n_results = n_results;
  m->results = n_results ? g_new0 (GstMobileClipResult, n_results) : NULL;
  for (guint i = 0; i < n_results; i++) {
    m->results[i] = results[i];
    m->results[i].label = g_strdup (results[i].label);
  }
  if (embedding && embedding_dim) {
    m->embedding_dim = embedding_dim;
    m->embedding = g_memdup2 (embedding, embedding_dim * sizeof (gfloat));
  }
  m->fingerprint = g_strdup (fingerprint);
}

static GstMobileClipMeta *
copy_to (GstBuffer * dest, const GstMobileClipMeta * src)
{
  GstMobileClipMeta *d = gst_buffer_add_mobileclip_meta (dest, src->results,
      src->n_results, src->embedding, src->embedding_dim, src->fingerprint);

  if (!d)
    return NULL;
  d->pts = src->pts;
  d->roi_id = src->roi_id;
  d->x = src->x;
  d->y = src->y;
  d->width = src->width;
  d->height = src->height;
  d->unknown = src->unknown;
  return d;
}

/* What the frame shows does not change when it is copied, converted or
 * scaled, so the labels always travel; only the region's pixel coordinates
 * follow a scale. */
static gboolean
gst_mobileclip_meta_transform (GstBuffer * dest, GstMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data)
{
  const GstMobileClipMeta *src = (const GstMobileClipMeta *) meta;
  GstMobileClipMeta *d;

  if (GST_META_TRANSFORM_IS_COPY (type))
    return copy_to (dest, src) != NULL;

  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    const GstVideoMetaTransform *t = data;
    const gint iw = GST_VIDEO_INFO_WIDTH (t->in_info);
    const gint ih = GST_VIDEO_INFO_HEIGHT (t->in_info);
    const gint ow = GST_VIDEO_INFO_WIDTH (t->out_info);
    const gint oh = GST_VIDEO_INFO_HEIGHT (t->out_info);

    if (iw <= 0 || ih <= 0)
      return FALSE;
    d = copy_to (dest, src);
    if (!d)
      return FALSE;
    d->x = (guint) gst_util_uint64_scale_int_round (src->x, ow, iw);
    d->y = (guint) gst_util_uint64_scale_int_round (src->y, oh, ih);
    d->width = (guint) gst_util_uint64_scale_int_round (src->width, ow, iw);
    d->height = (guint) gst_util_uint64_scale_int_round (src->height, oh, ih);
    return TRUE;
  }
  return FALSE;
}

GType
gst_mobileclip_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = {
    GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL
  };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstMobileClipMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

const GstMetaInfo *
gst_mobileclip_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *i = gst_meta_register (GST_MOBILECLIP_META_API_TYPE,
        "GstMobileClipMeta", sizeof (GstMobileClipMeta),
        gst_mobileclip_meta_init, gst_mobileclip_meta_free,
        gst_mobileclip_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) i);
  }
  return info;
}

GstMobileClipMeta *
gst_buffer_add_mobileclip_meta (GstBuffer * buffer,
    const GstMobileClipResult * results, guint n_results,
    const gfloat * embedding, guint embedding_dim, const gchar * fingerprint)
{
  GstMobileClipMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (results != NULL || n_results == 0, NULL);

  m = (GstMobileClipMeta *) gst_buffer_add_meta (buffer,
      GST_MOBILECLIP_META_INFO, NULL);
  if (m)
    set_contents (m, results, n_results, embedding, embedding_dim,
        fingerprint);
  return m;
}

GstMobileClipMeta *
gst_buffer_get_mobileclip_meta_for_roi (GstBuffer * buffer, gint roi_id)
{
  gpointer state = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_MOBILECLIP_META_API_TYPE))) {
    if (((GstMobileClipMeta *) meta)->roi_id == roi_id)
      return (GstMobileClipMeta *) meta;
  }
  return NULL;
}

GstMobileClipMeta *
gst_buffer_get_mobileclip_meta (GstBuffer * buffer)
{
  GstMobileClipMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  m = gst_buffer_get_mobileclip_meta_for_roi (buffer, -1);
  if (!m)
    m = (GstMobileClipMeta *) gst_buffer_get_meta (buffer,
        GST_MOBILECLIP_META_API_TYPE);
  return m;
}

const GstMobileClipResult *
gst_mobileclip_meta_get_top (const GstMobileClipMeta * meta)
{
  g_return_val_if_fail (meta != NULL, NULL);

  return meta->n_results ? &meta->results[0] : NULL;
}

const gchar *
gst_mobileclip_meta_get_label (const GstMobileClipMeta * meta)
{
  g_return_val_if_fail (meta != NULL, NULL);

  if (meta->unknown || meta->n_results == 0)
    return GST_MOBILECLIP_UNKNOWN_LABEL;
  return meta->results[0].label;
}

/* A GstValueArray ("< a, b >" in gst-launch -m) of one column of results. */
static void
set_column (GstStructure * s, const gchar * field, const GstMobileClipMeta * m,
    GType type, gsize offset)
{
  GValue array = G_VALUE_INIT, v = G_VALUE_INIT;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (guint i = 0; i < m->n_results; i++) {
    const guint8 *r = (const guint8 *) &m->results[i];
    g_value_init (&v, type);
    if (type == G_TYPE_STRING)
      g_value_set_string (&v, *(gchar * const *) (r + offset));
    else if (type == G_TYPE_INT)
      g_value_set_int (&v, *(const gint *) (r + offset));
    else
      g_value_set_double (&v, *(const gfloat *) (r + offset));
    gst_value_array_append_and_take_value (&array, &v);
    memset (&v, 0, sizeof v);
  }
  gst_structure_take_value (s, field, &array);
}

GstStructure *
gst_mobileclip_meta_to_structure (const GstMobileClipMeta * meta,
    const gchar * name)
{
  const GstMobileClipResult *top;
  GstStructure *s;

  g_return_val_if_fail (meta != NULL, NULL);

  top = gst_mobileclip_meta_get_top (meta);
  s = gst_structure_new (name ? name : GST_MOBILECLIP_META_STRUCTURE_NAME,
      "label", G_TYPE_STRING, gst_mobileclip_meta_get_label (meta),
      "label-id", G_TYPE_INT, (meta->unknown || !top) ? -1 : top->label_id,
      "confidence", G_TYPE_DOUBLE, top ? (gdouble) top->probability : 0.0,
      "cosine", G_TYPE_DOUBLE, top ? (gdouble) top->cosine : 0.0,
      "unknown", G_TYPE_BOOLEAN, meta->unknown || !top,
      "pts", G_TYPE_UINT64, meta->pts,
      "roi-id", G_TYPE_INT, meta->roi_id,
      "x", G_TYPE_UINT, meta->x, "y", G_TYPE_UINT, meta->y,
      "width", G_TYPE_UINT, meta->width, "height", G_TYPE_UINT, meta->height,
      NULL);
  set_column (s, "labels", meta, G_TYPE_STRING,
      G_STRUCT_OFFSET (GstMobileClipResult, label));
  set_column (s, "label-ids", meta, G_TYPE_INT,
      G_STRUCT_OFFSET (GstMobileClipResult, label_id));
  set_column (s, "probabilities", meta, G_TYPE_DOUBLE,
      G_STRUCT_OFFSET (GstMobileClipResult, probability));
  set_column (s, "cosines", meta, G_TYPE_DOUBLE,
      G_STRUCT_OFFSET (GstMobileClipResult, cosine));
  if (meta->fingerprint)
    gst_structure_set (s, "fingerprint", G_TYPE_STRING, meta->fingerprint,
        NULL);
  return s;
}
