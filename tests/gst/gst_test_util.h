/* gst_test_util.h — what the GStreamer tests share: setup, frames in every
 * format, the engine's own answer for a frame, and bus helpers.
 *
 * The tests run with GST_PLUGIN_PATH set to the build's gst/ folder and
 * GST_PLUGIN_SYSTEM_PATH to the system plugins (tests/gst/meson.build), so
 * the plugin under test is the one just built.
 */
#ifndef MC_GST_TEST_UTIL_H
#define MC_GST_TEST_UTIL_H

#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "test_util.h"
#include "mobileclip.h"
#include "gstmobileclipmeta.h"

/* Initializes GStreamer and finds the golden tiny model; NULL after printing
 * why the test must skip (or fail: a missing plugin is a failure). */
static inline const char *
gst_test_setup (int *argc, char ***argv, const char *model_name, char *model,
    size_t model_size)
{
  const char *golden;
  GstElementFactory *f;

  gst_init (argc, argv);
  f = gst_element_factory_find ("mobileclipfilter");
  if (!f) {
    fprintf (stderr, "FAIL: the mobileclip plugin did not load (GST_PLUGIN_PATH=%s)\n",
        g_getenv ("GST_PLUGIN_PATH"));
    exit (1);
  }
  gst_object_unref (f);
  golden = mc_test_golden_dir ();
  if (!golden)
    return NULL;
  snprintf (model, model_size, "%s/%s", golden, model_name);
  if (!mc_path_exists (model)) {
    printf ("SKIP: %s not found\n", model);
    return NULL;
  }
  return model;
}

/* A smooth colour pattern with a few edges, different for each seed, as
 * RGB of any size. */
static inline GstBuffer *
gst_test_rgb_frame (int w, int h, int seed, GstVideoInfo * info)
{
  GstBuffer *buf;
  GstVideoFrame frame;

  gst_video_info_set_format (info, GST_VIDEO_FORMAT_RGB, w, h);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_video_frame_map (&frame, info, buf, GST_MAP_WRITE);
  for (int y = 0; y < h; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
        + (size_t) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
    for (int x = 0; x < w; x++) {
      double u = (x + 0.5) / w, v = (y + 0.5) / h;
      int box = (u > 0.3 && u < 0.6 && v > 0.2 && v < 0.7);
      row[3 * x + 0] = (guint8) (255 * (0.5 + 0.5 * sin (6.0 * u + seed)));
      row[3 * x + 1] = (guint8) (box ? 230 : 255 * v);
      row[3 * x + 2] = (guint8) (255 * (0.5 + 0.5 * cos (4.0 * v * u + 2 * seed)));
    }
  }
  gst_video_frame_unmap (&frame);
  return buf;
}

/* Converts a frame to another format with GStreamer's own converter. */
static inline GstBuffer *
gst_test_convert (GstBuffer * in, const GstVideoInfo * in_info,
    GstVideoFormat format, GstVideoInfo * out_info)
{
  GstVideoConverter *conv;
  GstVideoFrame src, dst;
  GstBuffer *out;

  gst_video_info_set_format (out_info, format, GST_VIDEO_INFO_WIDTH (in_info),
      GST_VIDEO_INFO_HEIGHT (in_info));
  out = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (out_info), NULL);
  conv = gst_video_converter_new ((GstVideoInfo *) in_info, out_info,
      gst_structure_new ("options",
          GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
          GST_VIDEO_DITHER_NONE, NULL));
  gst_video_frame_map (&src, in_info, in, GST_MAP_READ);
  gst_video_frame_map (&dst, out_info, out, GST_MAP_WRITE);
  gst_video_converter_frame (conv, &src, &dst);
  gst_video_frame_unmap (&src);
  gst_video_frame_unmap (&dst);
  gst_video_converter_free (conv);
  return out;
}

/* The test's own description of a mapped frame for the engine (planes in
 * memory order), written independently of the plugin's. */
static inline int
gst_test_image (const GstVideoFrame * f, mc_image * img)
{
  static const struct { GstVideoFormat g; mc_pixel_format m; } map[] = {
    { GST_VIDEO_FORMAT_RGB, MC_PIXEL_RGB }, { GST_VIDEO_FORMAT_BGR, MC_PIXEL_BGR },
    { GST_VIDEO_FORMAT_RGBx, MC_PIXEL_RGBX }, { GST_VIDEO_FORMAT_BGRx, MC_PIXEL_BGRX },
    { GST_VIDEO_FORMAT_xRGB, MC_PIXEL_XRGB }, { GST_VIDEO_FORMAT_xBGR, MC_PIXEL_XBGR },
    { GST_VIDEO_FORMAT_RGBA, MC_PIXEL_RGBA }, { GST_VIDEO_FORMAT_BGRA, MC_PIXEL_BGRA },
    { GST_VIDEO_FORMAT_ARGB, MC_PIXEL_ARGB }, { GST_VIDEO_FORMAT_ABGR, MC_PIXEL_ABGR },
    { GST_VIDEO_FORMAT_GRAY8, MC_PIXEL_GRAY8 }, { GST_VIDEO_FORMAT_I420, MC_PIXEL_I420 },
    { GST_VIDEO_FORMAT_YV12, MC_PIXEL_YV12 }, { GST_VIDEO_FORMAT_NV12, MC_PIXEL_NV12 },
    { GST_VIDEO_FORMAT_NV21, MC_PIXEL_NV21 }, { GST_VIDEO_FORMAT_YUY2, MC_PIXEL_YUY2 },
    { GST_VIDEO_FORMAT_UYVY, MC_PIXEL_UYVY }, { GST_VIDEO_FORMAT_Y444, MC_PIXEL_Y444 },
    { GST_VIDEO_FORMAT_Y42B, MC_PIXEL_Y42B }, { GST_VIDEO_FORMAT_I420_10LE, MC_PIXEL_I420_10LE },
  };
  const GstVideoColorimetry *c = &f->info.colorimetry;
  int found = 0;

  memset (img, 0, sizeof *img);
  for (size_t i = 0; i < G_N_ELEMENTS (map); i++)
    if (map[i].g == GST_VIDEO_FRAME_FORMAT (f)) {
      img->format = map[i].m;
      found = 1;
    }
  if (!found)
    return 0;
  img->width = GST_VIDEO_FRAME_WIDTH (f);
  img->height = GST_VIDEO_FRAME_HEIGHT (f);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (f); p++) {
    img->planes[p] = GST_VIDEO_FRAME_PLANE_DATA (f, p);
    img->strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (f, p);
  }
  img->matrix = c->matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? MC_YUV_BT709
      : c->matrix == GST_VIDEO_COLOR_MATRIX_BT2020 ? MC_YUV_BT2020 : MC_YUV_BT601;
  img->full_range = c->range == GST_VIDEO_COLOR_RANGE_0_255;
  return 1;
}

/* The engine's model input (NHWC floats, size × size × 3) for a frame. */
static inline float *
gst_test_engine_preprocess (GstBuffer * buf, const GstVideoInfo * info, int size)
{
  float *input = g_new (float, (size_t) size * size * 3);
  mc_preprocessor *pp = mc_preprocessor_new ();
  GstVideoFrame f;
  mc_image img;
  mc_error err = { 0 };
  int ok;

  gst_video_frame_map (&f, (GstVideoInfo *) info, buf, GST_MAP_READ);
  ok = gst_test_image (&f, &img)
      && mc_preprocess (pp, &img, NULL, size, input, &err) == MC_OK;
  gst_video_frame_unmap (&f);
  mc_preprocessor_free (pp);
  if (!ok) {
    fprintf (stderr, "preprocess: %s\n", err.message);
    g_clear_pointer (&input, g_free);
  }
  return input;
}

/* The engine's embedding (L2-normalized) of a region of a frame: the answer
 * the element's meta must match.  roi NULL: the whole frame. */
static inline int
gst_test_engine_embed (mc_context * ctx, GstBuffer * buf,
    const GstVideoInfo * info, const mc_rect * roi, float *embedding)
{
  const int s = mc_image_size (ctx);
  float *input = g_new (float, (size_t) s * s * 3);
  mc_preprocessor *pp = mc_preprocessor_new ();
  GstVideoFrame f;
  mc_image img;
  mc_error err = { 0 };
  int ok;

  gst_video_frame_map (&f, (GstVideoInfo *) info, buf, GST_MAP_READ);
  ok = gst_test_image (&f, &img)
      && mc_preprocess (pp, &img, roi, s, input, &err) == MC_OK
      && mc_encode_images (ctx, input, MC_LAYOUT_NHWC, 1, s, s, embedding,
          &err) == MC_OK;
  gst_video_frame_unmap (&f);
  if (!ok)
    fprintf (stderr, "engine: %s\n", err.message);
  mc_l2_normalize (embedding, 1, mc_embed_dim (ctx));
  mc_preprocessor_free (pp);
  g_free (input);
  return ok;
}

/* Label embeddings for a ';' list, as the element builds them. */
static inline float *
gst_test_label_embeddings (mc_context * ctx, const char *prompts, int *n)
{
  mc_prompt_set *set = NULL;
  mc_prompt_embeddings *pe = NULL;
  mc_error err = { 0 };
  float *rows = NULL;

  if (mc_prompt_set_from_string (prompts, &set, &err) == MC_OK
      && mc_prompt_embeddings_compute (ctx, set, NULL, &pe, NULL, &err) == MC_OK) {
    *n = mc_prompt_embeddings_count (pe);
    rows = g_memdup2 (mc_prompt_embeddings_data (pe),
        (gsize) *n * mc_embed_dim (ctx) * sizeof (float));
  } else {
    fprintf (stderr, "labels: %s\n", err.message);
  }
  if (pe)
    mc_prompt_embeddings_free (pe);
  if (set)
    mc_prompt_set_free (set);
  return rows;
}

/* Collects the element messages named "mobileclip" waiting on a bus. */
static inline GList *
gst_test_pop_results (GstBus * bus)
{
  GList *out = NULL;
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (s && gst_structure_has_name (s, "mobileclip"))
      out = g_list_append (out, gst_structure_copy (s));
    gst_message_unref (m);
  }
  return out;
}

static inline void
gst_test_free_results (GList * l)
{
  g_list_free_full (l, (GDestroyNotify) gst_structure_free);
}

/* Runs a pipeline to EOS or error; returns the error message (to be freed)
 * or NULL.  Element messages stay in *results when results is not NULL. */
static inline gchar *
gst_test_run_pipeline (GstElement * pipeline, GList ** results,
    GstClockTime timeout)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gchar *error = NULL;
  gboolean done = FALSE;

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    error = g_strdup ("state change to PLAYING failed");
  while (!done) {
    GstMessage *m = gst_bus_timed_pop (bus, timeout);
    if (!m) {
      if (!error)
        error = g_strdup ("timeout");
      break;
    }
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      case GST_MESSAGE_ERROR:{
        GError *e = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error (m, &e, &dbg);
        g_free (error);
        error = g_strdup_printf ("%s (%s)", e->message, dbg ? dbg : "");
        g_clear_error (&e);
        g_free (dbg);
        done = TRUE;
        break;
      }
      case GST_MESSAGE_ELEMENT:
        if (results && gst_message_has_name (m, "mobileclip"))
          *results = g_list_append (*results,
              gst_structure_copy (gst_message_get_structure (m)));
        break;
      default:
        break;
    }
    gst_message_unref (m);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  return error;
}

#endif
