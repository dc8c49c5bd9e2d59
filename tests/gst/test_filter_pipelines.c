/* test_filter_pipelines.c — mobileclipfilter in real pipelines:
 *  - the documented launch line gives one message per frame;
 *  - 100 NULL→PLAYING→NULL cycles;
 *  - a live source with a model slower than the frame period keeps its
 *    frame rate (results come from the worker, tagged with their frame),
 *    answers the latency query, and takes new prompts while playing;
 *  - a bad model, config, vocabulary, prompts or embeddings file is an
 *    error on the bus that names the file.
 */
#include "gst_test_util.h"

#include <glib/gstdio.h>

static char model[1024];
static char tmpdir[1024];

static GstElement *
parse (const char *fmt, ...)
{
  GError *e = NULL;
  va_list ap;
  gchar *desc;
  GstElement *p;

  va_start (ap, fmt);
  desc = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  p = gst_parse_launch (desc, &e);
  if (!p)
    fprintf (stderr, "FAIL: %s: %s\n", desc, e ? e->message : "?");
  g_clear_error (&e);
  g_free (desc);
  return p;
}

static void
test_launch_line (void)
{
  GList *results = NULL;
  GstElement *p = parse ("videotestsrc num-buffers=30 ! mobileclipfilter model=%s "
      "prompts=\"a;b;c\" ! fakesink", model);
  gchar *error = gst_test_run_pipeline (p, &results, 20 * GST_SECOND);
  guint64 last = 0, ts = 0;
  int i = 0;

  CHECK (error == NULL, "pipeline error: %s", error);
  printf ("  videotestsrc num-buffers=30: %u messages\n", g_list_length (results));
  CHECK (g_list_length (results) == 30, "%u messages, expected 30", g_list_length (results));
  for (GList *l = results; l; l = l->next, i++) {
    gst_structure_get_uint64 (l->data, "timestamp", &ts);
    CHECK (i == 0 || ts > last, "timestamps out of order");
    last = ts;
  }
  gst_test_free_results (results);
  g_free (error);
  gst_object_unref (p);
}

/* Downstream converters keep the meta: videoconvert copies it, videoscale
 * scales its region. */
static void
test_meta_through_converters (void)
{
  GstElement *p = parse ("videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=320,height=240 ! "
      "mobileclipfilter model=%s prompts=\"a;b;c\" ! videoconvert ! video/x-raw,format=I420 ! "
      "videoscale ! video/x-raw,width=160,height=120 ! appsink name=sink", model);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstSample *sample;
  GstMobileClipMeta *m;

  gst_element_set_state (p, GST_STATE_PLAYING);
  g_signal_emit_by_name (sink, "pull-sample", &sample);
  CHECK (sample != NULL, "no sample");
  if (sample) {
    m = gst_buffer_get_mobileclip_meta (gst_sample_get_buffer (sample));
    CHECK (m != NULL, "meta lost in videoconvert ! videoscale");
    CHECK (m && m->width == 160 && m->height == 120 && m->n_results == 3,
        "region %ux%u after scaling to 160x120", m ? m->width : 0, m ? m->height : 0);
    printf ("  after videoconvert ! videoscale: meta %s, region %ux%u\n",
        m ? m->results[0].label : "(none)", m ? m->width : 0, m ? m->height : 0);
    gst_sample_unref (sample);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
}

static void
test_state_cycles (void)
{
  GstElement *p = parse ("videotestsrc ! mobileclipfilter model=%s prompts=\"a;b;c\" "
      "! fakesink", model);
  GstBus *bus = gst_element_get_bus (p);
  gint64 t0 = g_get_monotonic_time ();
  int failures = 0;

  for (int i = 0; i < 100; i++) {
    GstStateChangeReturn r = gst_element_set_state (p, GST_STATE_PLAYING);
    if (r == GST_STATE_CHANGE_ASYNC)
      r = gst_element_get_state (p, NULL, NULL, 10 * GST_SECOND);
    if (r == GST_STATE_CHANGE_FAILURE)
      failures++;
    gst_element_set_state (p, GST_STATE_NULL);
  }
  {
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    CHECK (m == NULL, "error during the cycles");
    if (m)
      gst_message_unref (m);
  }
  printf ("  100 NULL->PLAYING->NULL cycles: %.2f s, %d failures\n",
      (g_get_monotonic_time () - t0) / 1e6, failures);
  CHECK (failures == 0, "%d state changes failed", failures);
  gst_object_unref (bus);
  gst_object_unref (p);
}

/* ---- live source, slow model -------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GMutex lock;
  int buffers;
  int results;
  int stale_pts;               /* results claiming a frame not yet seen */
  int new_labels;              /* results with labels of the second set */
  GstClockTimeDiff max_lateness;
  GstClockTimeDiff period;     /* the frame period */
  int late_frames;             /* frames held a frame period or longer */
  GArray *pts_seen;
} LiveStats;

static GstPadProbeReturn
live_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  LiveStats *st = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClock *clock = gst_element_get_clock (st->pipeline);
  GstMobileClipMeta *m = gst_buffer_get_mobileclip_meta (buf);

  g_mutex_lock (&st->lock);
  st->buffers++;
  if (clock) {
    /* how long after its capture the frame got here */
    GstClockTime now = gst_clock_get_time (clock) - gst_element_get_base_time (st->pipeline);
    GstClockTimeDiff late = GST_CLOCK_DIFF (GST_BUFFER_PTS (buf), now)
        - (GstClockTimeDiff) GST_BUFFER_DURATION (buf);
    st->max_lateness = MAX (st->max_lateness, late);
    st->late_frames += late >= st->period;
    gst_object_unref (clock);
  }
  g_array_append_val (st->pts_seen, GST_BUFFER_PTS (buf));
  if (m) {
    gboolean seen = FALSE;
    st->results++;
    for (guint i = 0; i < st->pts_seen->len; i++)
      if (g_array_index (st->pts_seen, GstClockTime, i) == m->pts
          && m->pts < GST_BUFFER_PTS (buf))
        seen = TRUE;
    if (!seen)
      st->stale_pts++;
    if (m->n_results && g_str_has_prefix (m->results[0].label, "second"))
      st->new_labels++;
  }
  g_mutex_unlock (&st->lock);
  return GST_PAD_PROBE_OK;
}

/* Milliseconds of one warm forward pass of the model at size × size on one
 * thread (the second of two). */
static double
time_encoder (const char *weights, const char *config, int size)
{
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  float *img, *emb;
  double ms = 0;

  p.config = config;
  p.n_threads = 1;
  p.towers = MC_TOWER_IMAGE;
  if (mc_context_load (weights, &p, &ctx, &err) != MC_OK) {
    CHECK (0, "%s", err.message);
    return 0;
  }
  img = g_new0 (float, (gsize) size * size * 3);
  emb = g_new (float, (gsize) mc_embed_dim (ctx));
  for (int i = 0; i < 2; i++) {
    gint64 t0 = g_get_monotonic_time ();
    mc_encode_images (ctx, img, MC_LAYOUT_NHWC, 1, size, size, emb, &err);
    ms = (g_get_monotonic_time () - t0) / 1000.0;
  }
  g_free (img);
  g_free (emb);
  mc_context_free (ctx);
  return ms;
}

static void
test_live_slow_model (void)
{
  double encode_ms;
  const int fps = 30, frames = 60;
  char weights[1100], config[1100], *json = NULL;
  gsize len;
  GstElement *filter, *sink;
  GstPad *pad;
  GstBus *bus;
  LiveStats st = { 0 };

  st.max_lateness = G_MININT64;
  st.period = GST_SECOND / fps;
  gboolean live = FALSE, done = FALSE;
  GstClockTime min_lat = 0, max_lat = 0;
  gint64 t0, elapsed;
  int messages = 0;

  /* the tiny model at 1280×1280 (1.5 GMAC): an encoder about as long as a
   * frame period or longer on one thread; its real cost on this machine is
   * measured below, so the test knows whether frames must be skipped */
  snprintf (weights, sizeof weights, "%s/weights.safetensors", model);
  snprintf (config, sizeof config, "%s/config.json", model);
  if (!g_file_get_contents (config, &json, &len, NULL)) {
    CHECK (0, "cannot read %s", config);
    return;
  }
  {
    GRegex *re = g_regex_new ("\"image_size\"\\s*:\\s*64", 0, 0, NULL);
    gchar *slow = g_regex_replace_literal (re, json, -1, 0, "\"image_size\": 1280", 0, NULL);
    snprintf (config, sizeof config, "%s/slow_config.json", tmpdir);
    g_file_set_contents (config, slow, -1, NULL);
    CHECK (strstr (slow, "\"image_size\": 1280") != NULL, "config not rewritten");
    g_free (slow);
    g_regex_unref (re);
  }
  g_free (json);
  encode_ms = time_encoder (weights, config, 1280);

  st.pipeline = parse ("videotestsrc is-live=true num-buffers=%d pattern=ball ! "
      "video/x-raw,format=I420,width=320,height=240,framerate=%d/1 ! "
      "mobileclipfilter name=f model=%s config=%s threads=1 prompts=\"first a;first b\" ! "
      "fakesink name=sink sync=true", frames, fps, weights, config);
  g_mutex_init (&st.lock);
  st.pts_seen = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  filter = gst_bin_get_by_name (GST_BIN (st.pipeline), "f");
  sink = gst_bin_get_by_name (GST_BIN (st.pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, live_probe, &st, NULL);
  bus = gst_element_get_bus (st.pipeline);

  t0 = g_get_monotonic_time ();
  gst_element_set_state (st.pipeline, GST_STATE_PLAYING);
  while (!done) {
    GstMessage *m = gst_bus_timed_pop (bus, 30 * GST_SECOND);
    if (!m)
      break;
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      case GST_MESSAGE_ERROR:{
        GError *e = NULL;
        gst_message_parse_error (m, &e, NULL);
        CHECK (0, "error: %s", e->message);
        g_clear_error (&e);
        done = TRUE;
        break;
      }
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (m, "mobileclip") && ++messages == 3) {
          GstQuery *q = gst_query_new_latency ();
          if (gst_element_query (st.pipeline, q))
            gst_query_parse_latency (q, &live, &min_lat, &max_lat);
          gst_query_unref (q);
          /* new prompts while playing */
          g_object_set (filter, "prompts", "second a;second b", NULL);
        }
        break;
      default:
        break;
    }
    gst_message_unref (m);
  }
  elapsed = g_get_monotonic_time () - t0;
  gst_element_set_state (st.pipeline, GST_STATE_NULL);

  printf ("  live %d fps, %d frames, 1280x1280 tiny model on 1 thread: %.2f s wall, "
      "%d buffers, %d results (%d messages), %d with new prompts, max lateness %.1f ms, "
      "%d frames late by a frame period\n",
      fps, frames, elapsed / 1e6, st.buffers, st.results, messages, st.new_labels,
      st.max_lateness / 1e6, st.late_frames);
  printf ("  latency query: live %d, min %" GST_TIME_FORMAT "\n", live, GST_TIME_ARGS (min_lat));
  CHECK (st.buffers == frames, "%d of %d frames reached the sink", st.buffers, frames);
  /* 60 frames at 30 fps take 2 s when nothing stalls; a synchronous 1280×1280
   * encoder would take several times longer */
  CHECK (elapsed < 3.0e6, "the live stream slowed down: %.2f s", elapsed / 1e6);
  /* An element that held frames for the encoder would make most of them
   * late.  One or two may be late for other reasons: on the 2-vCPU VMs
   * this runs on, a single frame was seen held 68-71 ms in about 1 run of
   * 8, by a stall of the whole process (with either preprocessing
   * variant, and before this session's changes). */
  CHECK (st.late_frames <= frames / 20, "%d of %d frames were held a frame period or "
      "longer (the longest %.1f ms)", st.late_frames, frames, st.max_lateness / 1e6);
  CHECK (st.results >= 2, "%d results", st.results);
  /* an encoder longer than two frame periods cannot see every other frame */
  if (encode_ms > 2000.0 / fps)
    CHECK (st.results < frames * 3 / 4,
        "%d results with a %.0f ms encoder: the worker should analyse some, not all, frames",
        st.results, encode_ms);
  else
    printf ("  the encoder takes %.1f ms here, within two frame periods: frame skipping not checked\n",
        encode_ms);
  CHECK (st.stale_pts == 0, "%d results name a frame that had not passed before", st.stale_pts);
  CHECK (st.new_labels >= 1, "prompts changed while playing were not used");
  CHECK (live, "the latency query does not say live");

  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (filter);
  gst_object_unref (st.pipeline);
  g_array_free (st.pts_seen, TRUE);
  g_mutex_clear (&st.lock);
  g_unlink (config);
}

/* ---- errors ------------------------------------------------------------- */

static void
expect_error (const char *what, const char *props, const char *must_name)
{
  GstElement *p = parse ("videotestsrc num-buffers=2 ! mobileclipfilter %s ! fakesink", props);
  gchar *error = gst_test_run_pipeline (p, NULL, 10 * GST_SECOND);

  printf ("  %-22s -> %s\n", what, error ? error : "(no error)");
  CHECK (error != NULL, "%s: no error on the bus", what);
  CHECK (error && strstr (error, must_name), "%s: the error does not name '%s'", what,
      must_name);
  g_free (error);
  gst_object_unref (p);
}

static void
test_errors (void)
{
  char broken[1100], garbage[1100], empty[1100], props[4096], cfg[1100];

  /* a model folder whose weights are cut short */
  snprintf (broken, sizeof broken, "%s/broken_model", tmpdir);
  g_mkdir_with_parents (broken, 0755);
  {
    gchar *w = g_build_filename (broken, "weights.safetensors", NULL);
    gchar *c = g_build_filename (broken, "config.json", NULL);
    gchar *src_c = g_build_filename (model, "config.json", NULL), *json = NULL;
    g_file_set_contents (w, "\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13, NULL);
    g_file_get_contents (src_c, &json, NULL, NULL);
    g_file_set_contents (c, json ? json : "{}", -1, NULL);
    g_free (json);
    g_free (src_c);
    g_free (w);
    g_free (c);
  }
  snprintf (garbage, sizeof garbage, "%s/garbage.emb", tmpdir);
  g_file_set_contents (garbage, "this is not a safetensors file at all", -1, NULL);
  snprintf (empty, sizeof empty, "%s/empty_prompts.txt", tmpdir);
  g_file_set_contents (empty, "# only a comment\n\n", -1, NULL);
  snprintf (cfg, sizeof cfg, "%s/bad_config.json", tmpdir);
  g_file_set_contents (cfg, "{\"embed_dim\": ", -1, NULL);

  expect_error ("missing model", "model=/nonexistent/model prompts=a", "/nonexistent/model");
  snprintf (props, sizeof props, "model=%s prompts=a", broken);
  expect_error ("truncated weights", props, "weights.safetensors");
  snprintf (props, sizeof props, "model=%s config=%s prompts=a", model, cfg);
  expect_error ("malformed config", props, cfg);
  /* a label never embedded, so not in the prompt cache: the text tower (and
   * its vocabulary) must load */
  snprintf (props, sizeof props, "model=%s vocab=/nonexistent/vocab.txt.gz "
      "prompts=\"never embedded label\"", model);
  expect_error ("missing vocabulary", props, "/nonexistent/vocab.txt.gz");
  snprintf (props, sizeof props, "model=%s prompts-file=/nonexistent/prompts.txt", model);
  expect_error ("missing prompts-file", props, "/nonexistent/prompts.txt");
  snprintf (props, sizeof props, "model=%s prompts-file=%s", model, empty);
  expect_error ("empty prompts-file", props, empty);
  snprintf (props, sizeof props, "model=%s", model);
  expect_error ("no prompts", props, "prompts");
  snprintf (props, sizeof props, "model=%s prompts=\" ; ;\"", model);
  expect_error ("blank prompts", props, "prompts");
  snprintf (props, sizeof props, "model=%s embeddings-file=%s", model, garbage);
  expect_error ("bad embeddings-file", props, garbage);
  expect_error ("no model", "prompts=a", "model");

  g_unlink (garbage);
  g_unlink (empty);
  g_unlink (cfg);
  {
    gchar *w = g_build_filename (broken, "weights.safetensors", NULL);
    gchar *c = g_build_filename (broken, "config.json", NULL);
    g_unlink (w);
    g_unlink (c);
    g_rmdir (broken);
    g_free (w);
    g_free (c);
  }
}

int
main (int argc, char **argv)
{
  gchar *dir;

  if (!gst_test_setup (&argc, &argv, "tiny_s0", model, sizeof model))
    return MC_TEST_SKIP;
  dir = g_dir_make_tmp ("mc-gst-test-XXXXXX", NULL);
  g_strlcpy (tmpdir, dir, sizeof tmpdir);
  g_free (dir);

  test_launch_line ();
  test_meta_through_converters ();
  test_state_cycles ();
  test_live_slow_model ();
  test_errors ();
  g_rmdir (tmpdir);
  return mc_test_finish ("gst-filter-pipelines");
}
