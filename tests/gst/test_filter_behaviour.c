/* test_filter_behaviour.c — mobileclipfilter's properties and stream
 * handling through GstHarness (non-live: every analysed frame carries its
 * own result): inference-interval, top-k, threshold / "unknown", negative
 * prompts, element messages, roi-mode, metas surviving a copy, no pixel copy,
 * attach-embedding, precision (bf16 and int8 reach the engine), format and
 * size changes mid-stream, flushing, prompts changed while playing (and a
 * bad change kept out with a warning). */
#include "gst_test_util.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>

#include "io/safetensors.h"
#include "io/tensor_file.h"

#define PROMPTS "a dog;a cat;a car;a tree;a red box;the blue sky"

static char model[1024], vocab[1024];
static mc_context *ctx;

static GstHarness *
new_harness (const char *extra, GstBus **bus)
{
  gchar *launch = g_strdup_printf ("mobileclipfilter model=%s vocab=%s %s",
      model, vocab, extra);
  GstHarness *h = gst_harness_new_parse (launch);

  g_free (launch);
  gst_harness_set_live (h, FALSE);
  if (bus) {
    *bus = gst_bus_new ();
    gst_element_set_bus (h->element, *bus);
  }
  gst_harness_play (h);
  return h;
}

/* The filter inside the harness (gst_harness_new_parse wraps it in a bin). */
static GstElement *
filter (GstHarness *h)
{
  GstElement *f = gst_harness_find_element (h, "mobileclipfilter");
  gst_object_unref (f);         /* the bin keeps it alive */
  return f;
}

/* Queued messages hold refs on the elements, which hold the bus: drop them
 * before the harness goes. */
static void
release_bus (GstHarness *h, GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
set_caps (GstHarness *h, const GstVideoInfo *info)
{
  GstCaps *caps = gst_video_info_to_caps ((GstVideoInfo *) info);
  gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  gst_harness_set_src_caps (h, caps);
}

static GstBuffer *
frame (int w, int hgt, int seed, GstVideoInfo *info)
{
  GstBuffer *b = gst_test_rgb_frame (w, hgt, seed, info);
  GST_BUFFER_PTS (b) = seed * GST_SECOND / 30;
  GST_BUFFER_DURATION (b) = GST_SECOND / 30;
  return b;
}

/* Engine scores of the whole RGB frame against a ';' list. */
static mc_score *
engine_scores (GstBuffer *buf, const GstVideoInfo *info, const char *prompts,
    int *n)
{
  const int d = mc_embed_dim (ctx);
  float *emb = g_new (float, d), *labels = gst_test_label_embeddings (ctx, prompts, n);
  mc_score *scores = g_new (mc_score, *n);

  gst_test_engine_embed (ctx, buf, info, NULL, emb);
  mc_zero_shot (emb, labels, *n, d, mc_logit_scale_exp (ctx), scores);
  g_free (emb);
  g_free (labels);
  return scores;
}

static void
test_interval_and_messages (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" inference-interval=3 top-k=2", &bus);
  GstVideoInfo info;
  GList *msgs, *l;
  int with_meta = 0, i;

  for (i = 0; i < 9; i++) {
    GstBuffer *in = frame (96, 64, i, &info), *out;
    if (i == 0)
      set_caps (h, &info);
    out = gst_harness_push_and_pull (h, in);
    if (gst_buffer_get_mobileclip_meta (out)) {
      with_meta++;
      CHECK (i % 3 == 0, "frame %d analysed with interval 3", i);
    }
    gst_buffer_unref (out);
  }
  CHECK (with_meta == 3, "%d of 9 frames analysed with interval 3", with_meta);
  msgs = gst_test_pop_results (bus);
  CHECK (g_list_length (msgs) == 3, "%u messages", g_list_length (msgs));
  for (l = msgs, i = 0; l; l = l->next, i += 3) {
    const GstStructure *s = l->data;
    guint64 ts = 0, st = 0, rt = 0, dur = 0;
    const GValue *labels = gst_structure_get_value (s, "labels");
    const GValue *probs = gst_structure_get_value (s, "probabilities");
    CHECK (gst_structure_get_uint64 (s, "timestamp", &ts) && ts == (guint64) i * GST_SECOND / 30,
        "message timestamp %" G_GUINT64_FORMAT, ts);
    CHECK (gst_structure_get_uint64 (s, "stream-time", &st) && st == ts, "stream-time");
    CHECK (gst_structure_get_uint64 (s, "running-time", &rt) && rt == ts, "running-time");
    CHECK (gst_structure_get_uint64 (s, "duration", &dur) && dur == GST_SECOND / 30, "duration");
    CHECK (gst_structure_get_string (s, "label") != NULL, "label");
    CHECK (labels && gst_value_array_get_size (labels) == 2 && probs
        && gst_value_array_get_size (probs) == 2, "top-k arrays");
  }
  if (msgs) {
    gchar *str = gst_structure_to_string (msgs->data);
    printf ("  message: %s\n", str);
    g_free (str);
  }
  gst_test_free_results (msgs);

  /* post-messages=false: metas, no messages */
  g_object_set (filter (h), "post-messages", FALSE, "inference-interval", 1, NULL);
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (96, 64, 9, &info)));
  msgs = gst_test_pop_results (bus);
  CHECK (msgs == NULL, "message posted with post-messages=false");
  gst_test_free_results (msgs);
  release_bus (h, bus);
}

static void
test_top_k_threshold (void)
{
  GstVideoInfo info;
  GstBuffer *in = frame (80, 60, 1, &info), *out;
  int n;
  mc_score *scores = engine_scores (in, &info, PROMPTS, &n);
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" top-k=10", NULL);
  GstMobileClipMeta *m;
  GstVideoRegionOfInterestMeta *roi;
  GstStructure *p;
  gchar *thr;

  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->n_results == 6, "top-k 10 of 6 labels: %u results", m ? m->n_results : 0);
  CHECK (m && !m->unknown, "unknown with threshold 0");
  gst_buffer_unref (out);

  /* just above the best probability: "unknown", list still attached */
  g_object_set (filter (h), "top-k", 2, "threshold", (gdouble) scores[0].prob + 1e-4, NULL);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->n_results == 2 && m->unknown, "above threshold: unknown expected");
  CHECK (m && !strcmp (gst_mobileclip_meta_get_label (m), "unknown"), "label");
  roi = gst_buffer_get_video_region_of_interest_meta (out);
  p = roi ? gst_video_region_of_interest_meta_get_param (roi, "mobileclip") : NULL;
  CHECK (p && !strcmp (gst_structure_get_string (p, "label"), "unknown"),
      "ROI param of an unknown frame");
  if (p) {
    thr = gst_structure_to_string (p);
    printf ("  unknown ROI param: %s\n", thr);
    g_free (thr);
  }
  CHECK (roi && g_list_length (roi->params) == 3, "unknown + 2 ranked params");
  gst_buffer_unref (out);

  /* just below: the best label */
  g_object_set (filter (h), "threshold", (gdouble) scores[0].prob - 1e-4, NULL);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && !m->unknown && m->results[0].label_id == scores[0].label,
      "below threshold: label %d expected", scores[0].label);
  roi = gst_buffer_get_video_region_of_interest_meta (out);
  CHECK (roi && g_list_length (roi->params) == 2, "2 ranked params");
  if (roi && roi->params) {
    gint rank = 0;
    gst_structure_get_int (roi->params->data, "rank", &rank);
    CHECK (rank == 1, "first param rank %d", rank);
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_buffer_unref (in);
  g_free (scores);
}

static void
test_negatives (void)
{
  GstVideoInfo info;
  GstBuffer *in = frame (80, 60, 2, &info), *out;
  gchar **all = g_strsplit (PROMPTS, ";", -1);
  int n, n_all;
  mc_score *scores = engine_scores (in, &info, PROMPTS, &n_all);
  GString *pos = g_string_new (NULL);
  const char *winner = all[scores[0].label];
  gchar *launch;
  GstHarness *h;
  GstMobileClipMeta *m;
  double sum = 0;

  /* the engine's best label becomes the negative: the frame is unknown and
   * the negative is never listed; probabilities are over all 6 labels */
  for (int i = 0; all[i]; i++)
    if (i != scores[0].label)
      g_string_append_printf (pos, "%s%s", pos->len ? ";" : "", all[i]);
  launch = g_strdup_printf ("prompts=\"%s\" negative-prompts=\"%s\" top-k=5",
      pos->str, winner);
  h = new_harness (launch, NULL);
  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->unknown, "negative scored best: unknown expected");
  for (guint i = 0; m && i < m->n_results; i++) {
    CHECK (strcmp (m->results[i].label, winner) != 0, "negative '%s' reported", winner);
    CHECK (fabs (m->results[i].probability - scores[i + 1].prob) < 1e-5,
        "rank %u prob %g vs %g", i, m->results[i].probability, scores[i + 1].prob);
    sum += m->results[i].probability;
  }
  printf ("  negative '%s' (p=%.4f) wins: unknown; positives sum %.4f\n", winner,
      scores[0].prob, sum);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (launch);

  /* a negative that loses changes nothing but the probabilities */
  launch = g_strdup_printf ("prompts=\"%s\" negative-prompts=\"%s\"", winner,
      all[scores[n_all - 1].label]);
  h = new_harness (launch, NULL);
  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && !m->unknown && m->n_results == 1 && !strcmp (m->results[0].label, winner),
      "losing negative: '%s' expected", winner);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (launch);
  (void) n;
  g_string_free (pos, TRUE);
  g_strfreev (all);
  g_free (scores);
  gst_buffer_unref (in);
}

static void
test_roi_mode (void)
{
  const int d = mc_embed_dim (ctx);
  GstVideoInfo info;
  GstBuffer *in = frame (200, 120, 3, &info), *out;
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" roi-mode=true attach-embedding=true", NULL);
  GstVideoRegionOfInterestMeta *a, *b;
  GstMobileClipMeta *m;
  float *want = g_new (float, d);
  struct { int x, y, w, h; } box[2] = { { 10, 20, 50, 40 }, { 150, 90, 80, 60 } };

  a = gst_buffer_add_video_region_of_interest_meta (in, "person", box[0].x, box[0].y, box[0].w, box[0].h);
  b = gst_buffer_add_video_region_of_interest_meta (in, "car", box[1].x, box[1].y, box[1].w, box[1].h);
  gst_buffer_add_video_region_of_interest_meta (in, "mobileclip", 0, 0, 200, 120);
  a->id = 11;
  b->id = 12;
  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));

  CHECK (gst_buffer_get_mobileclip_meta_for_roi (out, -1) == NULL, "whole-frame result in roi-mode");
  for (int i = 0; i < 2; i++) {
    /* the second box sticks out of the frame: clipped to 50x30 */
    mc_rect r = { box[i].x, box[i].y, MIN (box[i].w, 200 - box[i].x), MIN (box[i].h, 120 - box[i].y) };
    GstVideoRegionOfInterestMeta *roi = gst_buffer_get_video_region_of_interest_meta_id (out, 11 + i);
    GstStructure *p = roi ? gst_video_region_of_interest_meta_get_param (roi, "mobileclip") : NULL;
    char what[64];

    m = gst_buffer_get_mobileclip_meta_for_roi (out, 11 + i);
    CHECK (m != NULL, "no result for ROI %d", 11 + i);
    CHECK (p != NULL, "no param on ROI %d", 11 + i);
    if (!m)
      continue;
    CHECK (m->x == (guint) r.x && m->y == (guint) r.y && m->width == (guint) r.width
        && m->height == (guint) r.height, "ROI %d region %u,%u %ux%u", 11 + i, m->x, m->y,
        m->width, m->height);
    gst_test_engine_embed (ctx, in, &info, &r, want);
    snprintf (what, sizeof what, "ROI %d embedding vs engine crop", 11 + i);
    if (m->embedding)
      mc_check_close (what, m->embedding, want, d, 1e-6, 0);
    CHECK (p && !strcmp (gst_structure_get_string (p, "label"), m->results[0].label),
        "ROI %d param label", 11 + i);
  }
  {
    int n = 0;
    gpointer st = NULL;
    while (gst_buffer_iterate_meta_filtered (out, &st, GST_MOBILECLIP_META_API_TYPE))
      n++;
    CHECK (n == 2, "%d results: our own 'mobileclip' ROI must not be classified", n);
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_buffer_unref (in);
  g_free (want);
}

/* Live input (the harness answers the latency query as live): the worker's
 * result rides on the next buffer and names its own frame; in roi-mode it
 * keeps its region but is not pinned onto the later frame's ROIs. */
static void
test_live_worker (void)
{
  gchar *launch = g_strdup_printf ("mobileclipfilter model=%s vocab=%s "
      "prompts=\"" PROMPTS "\" roi-mode=true", model, vocab);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  GstVideoInfo info;
  GstBuffer *f0 = frame (160, 120, 0, &info), *f1 = frame (160, 120, 1, &info), *out;
  GstVideoRegionOfInterestMeta *roi;
  GstMobileClipMeta *m;
  GstMessage *msg;

  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  set_caps (h, &info);
  roi = gst_buffer_add_video_region_of_interest_meta (f0, "person", 20, 10, 60, 80);
  roi->id = 5;
  roi = gst_buffer_add_video_region_of_interest_meta (f1, "person", 24, 12, 60, 80);
  roi->id = 5;

  out = gst_harness_push_and_pull (h, f0);
  CHECK (gst_buffer_get_mobileclip_meta (out) == NULL, "live: result on its own frame");
  gst_buffer_unref (out);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ELEMENT);
  CHECK (msg != NULL, "live: no message from the worker");
  gst_clear_message (&msg);
  out = gst_harness_push_and_pull (h, f1);
  m = gst_buffer_get_mobileclip_meta_for_roi (out, 5);
  CHECK (m && m->pts == 0 && m->x == 20 && m->y == 10 && m->width == 60,
      "live: result of frame 0's ROI expected on frame 1");
  roi = gst_buffer_get_video_region_of_interest_meta_id (out, 5);
  CHECK (roi && gst_video_region_of_interest_meta_get_param (roi, "mobileclip") == NULL,
      "live: an earlier frame's result pinned onto this frame's ROI");
  gst_buffer_unref (out);
  release_bus (h, bus);
  g_free (launch);
}

/* The frame is only read: a shared input buffer comes out with the same
 * memory (a shallow copy for the metas), pixels untouched; and the result
 * survives a copy of the output. */
static void
test_no_copy_and_meta_copy (void)
{
  GstVideoInfo info;
  GstBuffer *in = frame (64, 64, 4, &info), *out, *copy;
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" attach-embedding=false", NULL);
  GstMemory *mem = gst_buffer_peek_memory (in, 0);
  GstMapInfo before, after;
  GstMobileClipMeta *m, *mc;

  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));  /* we keep a ref: not writable */
  CHECK (out != in, "a shared buffer must not be modified in place");
  CHECK (gst_buffer_n_memory (out) == 1 && gst_buffer_peek_memory (out, 0) == mem,
      "pixels were copied");
  CHECK (gst_buffer_get_mobileclip_meta (in) == NULL, "meta added to the shared input");
  gst_buffer_map (in, &before, GST_MAP_READ);
  gst_buffer_map (out, &after, GST_MAP_READ);
  CHECK (before.data == after.data, "different pixel memory");
  gst_buffer_unmap (out, &after);
  gst_buffer_unmap (in, &before);

  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->embedding == NULL && m->embedding_dim == 0, "embedding attached when off");
  copy = gst_buffer_copy (out);
  mc = gst_buffer_get_mobileclip_meta (copy);
  CHECK (m && mc && mc != m && mc->n_results == m->n_results
      && !strcmp (mc->results[0].label, m->results[0].label)
      && mc->results[0].probability == m->results[0].probability
      && !strcmp (mc->fingerprint, m->fingerprint) && mc->pts == m->pts,
      "meta did not survive a copy");
  CHECK (gst_buffer_get_video_region_of_interest_meta (copy) != NULL, "ROI lost in a copy");
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_buffer_unref (in);
}

/* precision=bf16 and int8 reach the engine: the attached embedding is the
 * engine's in that precision (and not the fp32 one the other tests see). */
static void
test_precision (void)
{
  static const struct { const char *name; mc_precision p; } precisions[] = {
    { "bf16", MC_PRECISION_BF16 }, { "int8", MC_PRECISION_INT8 },
  };
  const int d = mc_embed_dim (ctx);
  GstVideoInfo info;
  GstBuffer *in = frame (96, 64, 5, &info);
  float *want = g_new (float, d), *fp32 = g_new (float, d);

  gst_test_engine_embed (ctx, in, &info, NULL, fp32);
  for (size_t i = 0; i < G_N_ELEMENTS (precisions); i++) {
    gchar *extra = g_strdup_printf ("prompts=\"" PROMPTS "\" attach-embedding=true "
        "precision=%s", precisions[i].name);
    GstHarness *h = new_harness (extra, NULL);
    mc_params params = mc_params_default ();
    mc_context *pctx = NULL;
    mc_error err = { 0 };
    GstMobileClipMeta *m;
    GstBuffer *out;
    GParamSpec *spec;
    GEnumValue *value;
    gint prop = -1;
    char what[64];

    g_object_get (filter (h), "precision", &prop, NULL);
    spec = g_object_class_find_property (G_OBJECT_GET_CLASS (filter (h)), "precision");
    value = spec ? g_enum_get_value (G_PARAM_SPEC_ENUM (spec)->enum_class, prop) : NULL;
    CHECK (value && !strcmp (value->value_nick, precisions[i].name),
        "precision=%s read back as %s", precisions[i].name, value ? value->value_nick : "?");
    params.precision = precisions[i].p;
    params.towers = MC_TOWER_IMAGE;
    CHECK (mc_context_load (model, &params, &pctx, &err) == MC_OK, "%s: %s",
        precisions[i].name, err.message);
    set_caps (h, &info);
    out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
    m = gst_buffer_get_mobileclip_meta (out);
    CHECK (m && m->embedding && m->embedding_dim == (guint) d, "precision=%s: no embedding",
        precisions[i].name);
    if (m && m->embedding && pctx) {
      double maxdiff = 0;
      gst_test_engine_embed (pctx, in, &info, NULL, want);
      snprintf (what, sizeof what, "precision=%s embedding vs engine", precisions[i].name);
      mc_check_close (what, m->embedding, want, d, 1e-6, 0);
      for (int j = 0; j < d; j++)
        maxdiff = MAX (maxdiff, fabs (m->embedding[j] - fp32[j]));
      printf ("  precision=%s: max|diff| to the fp32 embedding %.3g\n",
          precisions[i].name, maxdiff);
      CHECK (maxdiff > 1e-6, "precision=%s: the fp32 embedding: the element ran fp32",
          precisions[i].name);
    }
    if (out)
      gst_buffer_unref (out);
    gst_harness_teardown (h);
    mc_context_free (pctx);
    g_free (extra);
  }
  gst_buffer_unref (in);
  g_free (want);
  g_free (fp32);
}

/* Format and resolution change mid-stream on one element, then a flush:
 * every frame is analysed against its own caps. */
static void
test_caps_change_and_flush (void)
{
  const int d = mc_embed_dim (ctx);
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" attach-embedding=true inference-interval=2", NULL);
  const struct { GstVideoFormat f; int w, h; } steps[] = {
    { GST_VIDEO_FORMAT_RGB, 320, 240 }, { GST_VIDEO_FORMAT_I420, 640, 360 },
    { GST_VIDEO_FORMAT_BGRx, 100, 300 }, { GST_VIDEO_FORMAT_NV12, 64, 64 },
    { GST_VIDEO_FORMAT_RGB, 320, 240 },
  };
  float *want = g_new (float, d);
  int seed = 10;

  for (size_t s = 0; s < G_N_ELEMENTS (steps); s++) {
    GstVideoInfo rgb_info, info;
    GstBuffer *rgb = gst_test_rgb_frame (steps[s].w, steps[s].h, seed, &rgb_info);
    GstBuffer *in = steps[s].f == GST_VIDEO_FORMAT_RGB ? gst_buffer_ref (rgb)
        : gst_test_convert (rgb, &rgb_info, steps[s].f, &info);
    GstBuffer *out;
    GstMobileClipMeta *m;
    char what[96];

    if (steps[s].f == GST_VIDEO_FORMAT_RGB)
      info = rgb_info;
    if (s == 3) {
      /* a flushing seek: the interval count restarts, so the first frame
       * after the flush is analysed although it would not be otherwise */
      GstSegment seg;
      gst_harness_push_event (h, gst_event_new_flush_start ());
      gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
      gst_segment_init (&seg, GST_FORMAT_TIME);
      gst_harness_push_event (h, gst_event_new_segment (&seg));
    }
    set_caps (h, &info);
    for (int k = 0; k < 2; k++) {
      GST_BUFFER_PTS (in) = seed++ * GST_SECOND / 30;
      out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
      m = gst_buffer_get_mobileclip_meta (out);
      snprintf (what, sizeof what, "%s %dx%d frame %d",
          gst_video_format_to_string (steps[s].f), steps[s].w, steps[s].h, k);
      CHECK ((m != NULL) == (k == 0), "%s: analysed %d, expected %d", what, m != NULL, k == 0);
      if (m && m->embedding) {
        gst_test_engine_embed (ctx, in, &info, NULL, want);
        mc_check_close (what, m->embedding, want, d, 1e-6, 0);
        CHECK (m->width == (guint) steps[s].w && m->height == (guint) steps[s].h,
            "%s: region %ux%u", what, m->width, m->height);
      }
      gst_buffer_unref (out);
    }
    gst_buffer_unref (in);
    gst_buffer_unref (rgb);
  }
  g_free (want);
  gst_harness_teardown (h);
}

/* QoS: a frame already late downstream passes without analysis (never
 * dropped); frames on time are analysed again. */
static void
test_qos (void)
{
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\"", NULL);
  GstVideoInfo info;
  GstBuffer *in = frame (64, 64, 0, &info), *out;

  set_caps (h, &info);
  gst_buffer_unref (gst_harness_push_and_pull (h, in));
  /* downstream is 500 ms late at 500 ms: like GstBaseTransform, frames
   * before 500 + 2 × 500 ms are not worth analysing */
  gst_harness_push_upstream_event (h, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW,
          0.5, 500 * GST_MSECOND, 500 * GST_MSECOND));
  out = gst_harness_push_and_pull (h, frame (64, 64, 6, &info));      /* 200 ms */
  CHECK (out && gst_buffer_get_mobileclip_meta (out) == NULL, "late frame analysed");
  gst_clear_buffer (&out);
  out = gst_harness_push_and_pull (h, frame (64, 64, 60, &info));     /* 2 s */
  CHECK (out && gst_buffer_get_mobileclip_meta (out) != NULL, "frame on time not analysed");
  gst_clear_buffer (&out);
  gst_harness_teardown (h);
}

/* Runs the `mobileclip` command; its stdout, or NULL after a failed check. */
static gchar *
run_cli (const char *const *args)
{
  gchar *out = NULL, *err = NULL;
  gint status = -1;
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) g_getenv ("MOBILECLIP_CLI"));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, &err, &status, NULL) || status != 0) {
    CHECK (0, "mobileclip %s failed: %s", args[0], err ? err : "(not run)");
    g_clear_pointer (&out, g_free);
  }
  g_free (err);
  g_ptr_array_free (argv, TRUE);
  return out;
}

/* The meta equals what the CLI says of the same frame: the frame written as
 * a U8 [H,W,3] tensor, `mobileclip preprocess`, `mobileclip classify`. */
static void
test_matches_cli (void)
{
  const char *cli = g_getenv ("MOBILECLIP_CLI");
  GstVideoInfo info;
  GstBuffer *in = frame (200, 150, 7, &info), *out;
  GstHarness *h = new_harness ("prompts=\"" PROMPTS "\" top-k=3", NULL);
  gchar *dir = g_dir_make_tmp ("mc-cli-XXXXXX", NULL);
  gchar *rgb_path = g_build_filename (dir, "frame.safetensors", NULL);
  gchar *pre_path = g_build_filename (dir, "pre.safetensors", NULL);
  gchar *rgb_spec = g_strconcat (rgb_path, ":frame", NULL);
  gchar *pre_spec = g_strconcat (pre_path, ":pre", NULL);
  gchar size[16], *json = NULL;
  GstMobileClipMeta *m;
  GstMapInfo map;
  mc_error err = { 0 };

  if (!cli) {
    CHECK (0, "MOBILECLIP_CLI not set");
    return;
  }
  set_caps (h, &info);
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  m = gst_buffer_get_mobileclip_meta (out);

  /* the RGB buffer has no row padding at this width (200 × 3 is a multiple of 4) */
  gst_buffer_map (in, &map, GST_MAP_READ);
  {
    mc_tensor_out t = { "frame", MC_DTYPE_U8, 3, { 150, 200, 3 }, map.data };
    CHECK (mc_safetensors_write (rgb_path, &t, 1, NULL, NULL, 0, &err) == MC_OK, "%s", err.message);
  }
  gst_buffer_unmap (in, &map);
  g_snprintf (size, sizeof size, "%d", mc_image_size (ctx));
  {
    const char *pre[] = { "preprocess", "--rgb", rgb_spec, "--size", size, "--out", pre_path, NULL };
    const char *cls[] = { "classify", "--model", model, "--vocab", vocab, "--tensor", pre_spec,
      "--prompts", PROMPTS, "--top-k", "3", NULL };
    gchar *o = run_cli (pre);
    mc_tensor_file *f = NULL;
    const mc_tensor_info *t;

    g_free (o);
    /* classify takes a batch [N,3,H,W]; preprocess writes one [3,S,S] */
    if (mc_tensor_file_open (pre_path, &f, &err) == MC_OK
        && (t = mc_tensor_file_find (f, "pre")) && t->ndim == 3) {
      mc_tensor_out b = { "pre", MC_DTYPE_F32, 4, { 1, t->shape[0], t->shape[1], t->shape[2] },
        t->data };
      gchar *batch = g_strconcat (pre_path, ".batch", NULL);
      CHECK (mc_safetensors_write (batch, &b, 1, NULL, NULL, 0, &err) == MC_OK, "%s", err.message);
      mc_tensor_file_close (f);
      f = NULL;
      g_rename (batch, pre_path);
      g_free (batch);
    }
    CHECK (f == NULL, "%s: no [3,S,S] tensor 'pre'", pre_path);
    mc_tensor_file_close (f);
    json = run_cli (cls);
  }
  if (json && m) {
    cJSON *root = cJSON_Parse (json);
    cJSON *results = cJSON_GetObjectItem (root, "results");
    cJSON *top = cJSON_GetObjectItem (cJSON_GetArrayItem (results, 0), "top");
    CHECK (cJSON_GetArraySize (top) == 3 && m->n_results == 3, "CLI gave %d labels",
        cJSON_GetArraySize (top));
    for (int k = 0; k < cJSON_GetArraySize (top) && k < (int) m->n_results; k++) {
      cJSON *e = cJSON_GetArrayItem (top, k);
      const char *label = cJSON_GetStringValue (cJSON_GetObjectItem (e, "label"));
      double prob = cJSON_GetNumberValue (cJSON_GetObjectItem (e, "prob"));
      double cosv = cJSON_GetNumberValue (cJSON_GetObjectItem (e, "cosine"));
      /* the CLI prints 6 significant digits */
      printf ("  rank %d: element %s p=%.6f cos=%.6f, CLI %s p=%.6f cos=%.6f\n", k,
          m->results[k].label, m->results[k].probability, m->results[k].cosine,
          label, prob, cosv);
      CHECK (label && !strcmp (label, m->results[k].label), "rank %d label", k);
      CHECK (fabs (prob - m->results[k].probability) <= 1e-6 + 1e-5 * prob, "rank %d prob", k);
      CHECK (fabs (cosv - m->results[k].cosine) <= 1e-6 + 1e-5 * fabs (cosv), "rank %d cos", k);
    }
    cJSON_Delete (root);
  }
  CHECK (m != NULL, "no meta");
  g_free (json);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (h);
  g_unlink (rgb_path);
  g_unlink (pre_path);
  g_rmdir (dir);
  g_free (rgb_path);
  g_free (pre_path);
  g_free (rgb_spec);
  g_free (pre_spec);
  g_free (dir);
}

static gpointer
set_prompts_repeatedly (gpointer element)
{
  for (int i = 0; i <= 4; i++) {
    gchar *p = g_strdup_printf ("a tree;a car;label %d", i);
    g_object_set (element, "prompts", p, NULL);
    g_free (p);
    g_usleep (2000);
  }
  return NULL;
}

/* New prompts while playing take effect on the next analysed frame; a bad
 * change is a warning and the previous labels stay. */
static void
test_prompts_change (void)
{
  GstBus *bus;
  GstHarness *h = new_harness ("prompts=\"a dog;a cat\"", &bus);
  GstVideoInfo info;
  GstBuffer *out;
  GstMobileClipMeta *m;
  GstMessage *msg;
  GThread *setter;
  GstBuffer *in = frame (64, 64, 1, &info);

  set_caps (h, &info);
  gst_buffer_unref (gst_harness_push_and_pull (h, in));

  /* changes from another thread while frames flow: the last one wins */
  setter = g_thread_new ("setter", set_prompts_repeatedly, filter (h));
  for (int i = 0; i < 20; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (64, 64, 2, &info)));
  g_thread_join (setter);
  out = gst_harness_push_and_pull (h, frame (64, 64, 2, &info));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->n_results == 3, "new prompts: %u labels", m ? m->n_results : 0);
  for (guint i = 0; m && i < m->n_results; i++)
    CHECK (!strcmp (m->results[i].label, "a tree") || !strcmp (m->results[i].label, "a car")
        || !strcmp (m->results[i].label, "label 4"), "old label %s", m->results[i].label);
  gst_buffer_unref (out);

  g_object_set (filter (h), "prompts", NULL, "prompts-file", "/nonexistent/prompts.txt", NULL);
  out = gst_harness_push_and_pull (h, frame (64, 64, 3, &info));
  m = gst_buffer_get_mobileclip_meta (out);
  CHECK (m && m->n_results == 3, "labels lost after a bad change");
  gst_buffer_unref (out);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  CHECK (msg != NULL, "no warning for a missing prompts-file");
  if (msg) {
    GError *e = NULL;
    gst_message_parse_warning (msg, &e, NULL);
    printf ("  warning: %s\n", e->message);
    CHECK (strstr (e->message, "/nonexistent/prompts.txt") != NULL, "warning names the file");
    g_clear_error (&e);
    gst_message_unref (msg);
  }
  release_bus (h, bus);
}

int
main (int argc, char **argv)
{
  const char *vocab_dir;
  mc_params params = mc_params_default ();
  mc_error err = { 0 };

  if (!gst_test_setup (&argc, &argv, "tiny_s0", model, sizeof model))
    return MC_TEST_SKIP;
  if (!(vocab_dir = mc_test_vocab_dir ()))
    return MC_TEST_SKIP;
  snprintf (vocab, sizeof vocab, "%s/bpe_simple_vocab_16e6.txt.gz", vocab_dir);
  params.vocab_path = vocab;
  if (mc_context_load (model, &params, &ctx, &err) != MC_OK) {
    fprintf (stderr, "FAIL: %s\n", err.message);
    return 1;
  }
  test_interval_and_messages ();
  test_top_k_threshold ();
  test_negatives ();
  test_roi_mode ();
  test_live_worker ();
  test_no_copy_and_meta_copy ();
  test_precision ();
  test_caps_change_and_flush ();
  test_prompts_change ();
  test_qos ();
  test_matches_cli ();
  mc_context_free (ctx);
  return mc_test_finish ("gst-filter-behaviour");
}
