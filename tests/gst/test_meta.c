/* test_meta.c — the public GstMobileClipMeta library on its own: contents
 * are copied in, survive buffer copies and videoscale-style transforms, are
 * found per ROI, and read back as the structure messages carry. */
#include "gst_test_util.h"

static GstMobileClipMeta *
add_sample (GstBuffer *buf, gint roi_id, const float *emb, guint dim)
{
  GstMobileClipResult results[2] = {
    { (gchar *) "a cat", 3, 0.75f, 0.31f },
    { (gchar *) "a dog", 0, 0.20f, 0.27f },
  };
  GstMobileClipMeta *m = gst_buffer_add_mobileclip_meta (buf, results, 2, emb,
      dim, "0123456789abcdef");
  m->pts = 40 * GST_MSECOND;
  m->roi_id = roi_id;
  m->x = 10;
  m->y = 20;
  m->width = 100;
  m->height = 50;
  return m;
}

static void
check_sample (const char *what, const GstMobileClipMeta *m, gint roi_id,
    const float *emb, guint dim)
{
  CHECK (m != NULL, "%s: meta missing", what);
  if (!m)
    return;
  CHECK (m->n_results == 2 && !strcmp (m->results[0].label, "a cat")
      && m->results[0].label_id == 3 && m->results[0].probability == 0.75f
      && m->results[0].cosine == 0.31f && !strcmp (m->results[1].label, "a dog"),
      "%s: results differ", what);
  CHECK (m->pts == 40 * GST_MSECOND && m->roi_id == roi_id, "%s: pts/roi", what);
  CHECK (m->fingerprint && !strcmp (m->fingerprint, "0123456789abcdef"),
      "%s: fingerprint", what);
  CHECK (m->embedding_dim == dim && (dim == 0 ? m->embedding == NULL
          : !memcmp (m->embedding, emb, dim * sizeof (float))),
      "%s: embedding", what);
}

int
main (int argc, char **argv)
{
  float emb[4] = { 0.5f, -0.5f, 0.5f, 0.5f };
  GstBuffer *buf, *copy;
  GstMobileClipMeta *m;
  GstStructure *s;
  const GValue *labels;
  const gchar *label;
  gint id;
  gdouble conf;

  gst_init (&argc, &argv);

  buf = gst_buffer_new_allocate (NULL, 16, NULL);
  m = add_sample (buf, -1, emb, 4);
  /* the caller's arrays are copied, not kept */
  emb[0] = 9.0f;
  CHECK (m->embedding[0] == 0.5f, "embedding not copied");
  emb[0] = 0.5f;
  add_sample (buf, 7, NULL, 0);

  check_sample ("whole frame", gst_buffer_get_mobileclip_meta (buf), -1, emb, 4);
  check_sample ("roi 7", gst_buffer_get_mobileclip_meta_for_roi (buf, 7), 7, NULL, 0);
  CHECK (gst_buffer_get_mobileclip_meta_for_roi (buf, 8) == NULL, "roi 8 found");
  CHECK (!strcmp (gst_mobileclip_meta_get_label (m), "a cat"), "label");
  m->unknown = TRUE;
  CHECK (!strcmp (gst_mobileclip_meta_get_label (m), "unknown"), "unknown label");
  m->unknown = FALSE;

  /* a copy (what in-place elements do to shared buffers) keeps everything */
  copy = gst_buffer_copy (buf);
  check_sample ("copy", gst_buffer_get_mobileclip_meta (copy), -1, emb, 4);
  check_sample ("copy roi 7", gst_buffer_get_mobileclip_meta_for_roi (copy, 7), 7, NULL, 0);
  gst_buffer_unref (copy);
  copy = gst_buffer_copy_deep (buf);
  check_sample ("deep copy", gst_buffer_get_mobileclip_meta (copy), -1, emb, 4);
  gst_buffer_unref (copy);

  /* a scale to half size: labels kept, region scaled */
  {
    GstVideoInfo in, out;
    GstVideoMetaTransform t = { &in, &out };
    GQuark scale = gst_video_meta_transform_scale_get_quark ();
    GstBuffer *dst = gst_buffer_new ();

    gst_video_info_set_format (&in, GST_VIDEO_FORMAT_RGB, 640, 480);
    gst_video_info_set_format (&out, GST_VIDEO_FORMAT_RGB, 320, 240);
    CHECK (m->meta.info->transform_func (dst, &m->meta, buf, scale, &t), "scale failed");
    check_sample ("scaled", gst_buffer_get_mobileclip_meta (dst), -1, emb, 4);
    m = gst_buffer_get_mobileclip_meta (dst);
    CHECK (m && m->x == 5 && m->y == 10 && m->width == 50 && m->height == 25,
        "scaled region %u,%u %ux%u", m ? m->x : 0, m ? m->y : 0,
        m ? m->width : 0, m ? m->height : 0);
    gst_buffer_unref (dst);
  }
  /* tags: a video meta that follows size changes */
  CHECK (gst_meta_api_type_has_tag (GST_MOBILECLIP_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_STR)), "video tag");

  /* the structure form */
  m = gst_buffer_get_mobileclip_meta (buf);
  s = gst_mobileclip_meta_to_structure (m, NULL);
  label = gst_structure_get_string (s, "label");
  labels = gst_structure_get_value (s, "labels");
  CHECK (gst_structure_has_name (s, "mobileclip"), "name");
  CHECK (label && !strcmp (label, "a cat"), "label %s", label);
  CHECK (gst_structure_get_int (s, "label-id", &id) && id == 3, "label-id");
  CHECK (gst_structure_get_double (s, "confidence", &conf) && conf == 0.75f, "confidence");
  CHECK (labels && gst_value_array_get_size (labels) == 2
      && !strcmp (g_value_get_string (gst_value_array_get_value (labels, 1)), "a dog"),
      "labels array");
  {
    gchar *str = gst_structure_to_string (s);
    printf ("  %s\n", str);
    g_free (str);
  }
  gst_structure_free (s);
  gst_buffer_unref (buf);
  return mc_test_finish ("gst-meta");
}
