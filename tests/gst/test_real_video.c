/* test_real_video.c — real footage end to end: cockatoo.mp4 (H.264, from
 * Debian's python3-imageio, fetched by scripts/fetch-test-media.sh) through
 * `decodebin ! videoconvert ! mobileclipfilter` with the COCO prompt set.
 * Every frame gets a meta and a message, and the first frames' metas equal
 * the engine's result on the same decoded frames.  (The clip decodes to Y444,
 * which the engine does not read, so videoconvert picks a format it does;
 * for I420 decoders videoconvert passes buffers through untouched.) */
#include "gst_test_util.h"

#include <gst/app/gstappsink.h>

static char model[1024];

static const char *
fetch_video (void)
{
  static char path[2048];
  const char *data = g_getenv ("MOBILECLIP_TEST_DATA");
  const char *script = g_getenv ("MOBILECLIP_FETCH_MEDIA");
  gchar *argv[] = { (gchar *) script, (gchar *) data, NULL };
  gint status = -1;

  if (!data || !script) {
    printf ("SKIP: MOBILECLIP_TEST_DATA / MOBILECLIP_FETCH_MEDIA not set\n");
    return NULL;
  }
  snprintf (path, sizeof path, "%s/cockatoo.mp4", data);
  if (!mc_path_exists (path)
      && (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
              &status, NULL) || status != 0 || !mc_path_exists (path))) {
    printf ("SKIP: %s could not fetch %s (no network or apt?)\n", script, path);
    return NULL;
  }
  return path;
}

int
main (int argc, char **argv)
{
  const char *video;
  gchar *desc, *prompts;
  GstElement *p, *sink;
  GstBus *bus;
  mc_context *ctx = NULL;
  mc_params params = mc_params_default ();
  mc_error err = { 0 };
  float *labels = NULL, *want = NULL;
  int n_labels = 0, d = 0, frames = 0, with_meta = 0, compared = 0, messages = 0;
  gint64 t0;
  gchar *format = NULL;

  if (!gst_test_setup (&argc, &argv, "tiny_s0", model, sizeof model))
    return MC_TEST_SKIP;
  if (!gst_element_factory_find ("avdec_h264")) {
    printf ("SKIP: no H.264 decoder (gstreamer1.0-libav)\n");
    return MC_TEST_SKIP;
  }
  if (!(video = fetch_video ()))
    return MC_TEST_SKIP;

  prompts = g_build_filename (MC_SOURCE_DIR, "prompts", "coco.txt", NULL);
  if (mc_context_load (model, &params, &ctx, &err) != MC_OK) {
    fprintf (stderr, "FAIL: %s\n", err.message);
    return 1;
  }
  d = mc_embed_dim (ctx);
  want = g_new (float, d);
  {
    /* the engine's label rows for the same prompt file */
    mc_prompt_set *set = NULL;
    mc_prompt_embeddings *pe = NULL;
    if (mc_prompt_set_from_file (prompts, &set, &err) == MC_OK
        && mc_prompt_embeddings_compute (ctx, set, NULL, &pe, NULL, &err) == MC_OK) {
      n_labels = mc_prompt_embeddings_count (pe);
      labels = g_memdup2 (mc_prompt_embeddings_data (pe), (gsize) n_labels * d * sizeof (float));
    }
    CHECK (labels != NULL, "%s: %s", prompts, err.message);
    if (pe)
      mc_prompt_embeddings_free (pe);
    if (set)
      mc_prompt_set_free (set);
  }

  desc = g_strdup_printf ("filesrc location=%s ! decodebin ! videoconvert ! "
      "mobileclipfilter model=%s prompts-file=%s top-k=3 attach-embedding=true ! "
      "appsink name=sink sync=false max-buffers=4", video, model, prompts);
  p = gst_parse_launch (desc, NULL);
  g_free (desc);
  sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  bus = gst_element_get_bus (p);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (p, GST_STATE_PLAYING);

  for (;;) {
    GstSample *s = gst_app_sink_pull_sample (GST_APP_SINK (sink));
    GstBuffer *buf;
    GstMobileClipMeta *m;
    GstVideoInfo info;

    if (!s)
      break;
    buf = gst_sample_get_buffer (s);
    gst_video_info_from_caps (&info, gst_sample_get_caps (s));
    if (!format)
      format = g_strdup_printf ("%s %dx%d", GST_VIDEO_INFO_NAME (&info),
          GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info));
    frames++;
    m = gst_buffer_get_mobileclip_meta (buf);
    if (m) {
      with_meta++;
      CHECK (m->pts == GST_BUFFER_PTS (buf), "frame %d: result of pts %" G_GUINT64_FORMAT,
          frames, m->pts);
    }
    if (m && m->embedding && labels && compared < 3) {
      mc_score *scores = g_new (mc_score, n_labels);
      char what[64];
      gst_test_engine_embed (ctx, buf, &info, NULL, want);
      mc_zero_shot (want, labels, n_labels, d, mc_logit_scale_exp (ctx), scores);
      snprintf (what, sizeof what, "frame %d embedding vs engine", frames);
      mc_check_close (what, m->embedding, want, d, 1e-6, 0);
      for (int k = 0; k < 3; k++)
        CHECK (m->results[k].label_id == scores[k].label
            && fabs (m->results[k].probability - scores[k].prob) < 1e-5,
            "frame %d rank %d: %s %g vs engine %d %g", frames, k, m->results[k].label,
            m->results[k].probability, scores[k].label, scores[k].prob);
      printf ("  frame %d: %s (p=%.4f), %s, %s\n", frames, m->results[0].label,
          m->results[0].probability, m->results[1].label, m->results[2].label);
      compared++;
      g_free (scores);
    }
    gst_sample_unref (s);
  }
  {
    GstMessage *msg;
    while ((msg = gst_bus_pop (bus))) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
        GError *e = NULL;
        gst_message_parse_error (msg, &e, NULL);
        CHECK (0, "pipeline error: %s", e->message);
        g_clear_error (&e);
      } else if (gst_message_has_name (msg, "mobileclip")) {
        messages++;
      }
      gst_message_unref (msg);
    }
  }
  printf ("  cockatoo.mp4 as %s: %d frames, %d metas, %d messages, %.2f s\n",
      format ? format : "?", frames, with_meta, messages,
      (g_get_monotonic_time () - t0) / 1e6);
  CHECK (frames > 200, "only %d frames decoded", frames);
  CHECK (with_meta == frames && messages == frames, "%d frames, %d metas, %d messages",
      frames, with_meta, messages);
  CHECK (compared == 3, "compared %d frames with the engine", compared);

  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (p);
  mc_context_free (ctx);
  g_free (labels);
  g_free (want);
  g_free (prompts);
  g_free (format);
  return mc_test_finish ("gst-real-video");
}
