/* test_filter_formats.c — mobileclipfilter on every supported format at odd
 * and large sizes (1×1, 3×5, 64×48, 1921×1081, 3840×2160), the resolution
 * changing mid-stream on one element:
 *  - the meta (labels, probabilities, cosines, embedding) equals the engine's
 *    own result on the same frame;
 *  - a frame converted from RGB gives the RGB original's result exactly for
 *    the RGB-family layouts, and a model input close to it for YUV (plane
 *    order, matrix and range read right);
 *  - the full-frame ROI meta carries the top label.
 */
#include "gst_test_util.h"

#define PROMPTS "a dog;a cat;a car;a tree;a red box;the blue sky"
#define TOP_K 3
#define MEAN_DIFF_BOUND 3.6   /* measured 1.83 */
#define MAX_DIFF_BOUND 12.0   /* measured 6 */

static const GstVideoFormat formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_ARGB,
  GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12,
  GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_NV21, GST_VIDEO_FORMAT_GRAY8,
  GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_UYVY,
};

static const struct { int w, h; } sizes[] = {
  { 1, 1 }, { 3, 5 }, { 64, 48 }, { 1921, 1081 }, { 3840, 2160 },
};

static int
is_rgb_family (GstVideoFormat f)
{
  return GST_VIDEO_FORMAT_INFO_IS_RGB (gst_video_format_get_info (f));
}

/* How far the model input of a frame converted from RGB to YUV is from that
 * of the RGB original, worst case per size class.  4:2:0 and 4:2:2 lose
 * chroma detail at edges (large local differences on tiny frames), but a
 * wrong plane order, matrix or range would move every pixel: the mean
 * catches that, the max on large frames catches a wrong matrix. */
static double worst_mean_diff = 0, worst_max_diff_large = 0;

static void
check_frame (mc_context *ctx, const float *labels, int n_labels, GstHarness *h,
    GstVideoFormat format, int w, int h_px, int seed)
{
  const int d = mc_embed_dim (ctx);
  GstVideoInfo rgb_info, info;
  GstBuffer *rgb = gst_test_rgb_frame (w, h_px, seed, &rgb_info);
  GstBuffer *in, *out;
  GstCaps *caps;
  GstMobileClipMeta *meta;
  GstVideoRegionOfInterestMeta *roi;
  float *want = g_new (float, d), *rgb_emb = g_new (float, d);
  mc_score *scores = g_new (mc_score, n_labels);
  char what[128];

  in = format == GST_VIDEO_FORMAT_RGB ? gst_buffer_ref (rgb)
      : gst_test_convert (rgb, &rgb_info, format, &info);
  if (format == GST_VIDEO_FORMAT_RGB)
    info = rgb_info;
  caps = gst_video_info_to_caps (&info);
  gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  gst_harness_set_src_caps (h, caps);
  GST_BUFFER_PTS (in) = seed * GST_SECOND / 30;
  GST_BUFFER_DURATION (in) = GST_SECOND / 30;

  CHECK (gst_test_engine_embed (ctx, in, &info, NULL, want), "engine failed");
  CHECK (gst_test_engine_embed (ctx, rgb, &rgb_info, NULL, rgb_emb), "engine failed");
  mc_zero_shot (want, labels, n_labels, d, mc_logit_scale_exp (ctx), scores);

  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  snprintf (what, sizeof what, "%s %dx%d", gst_video_format_to_string (format), w, h_px);
  CHECK (out != NULL, "%s: no output buffer", what);
  if (!out)
    goto done;
  meta = gst_buffer_get_mobileclip_meta (out);
  CHECK (meta != NULL, "%s: no GstMobileClipMeta", what);
  if (meta) {
    double cos_rgb = 0;
    CHECK (meta->n_results == TOP_K, "%s: %u results", what, meta->n_results);
    CHECK (meta->width == (guint) w && meta->height == (guint) h_px && meta->roi_id == -1,
        "%s: region %ux%u roi %d", what, meta->width, meta->height, meta->roi_id);
    CHECK (meta->pts == GST_BUFFER_PTS (in), "%s: pts", what);
    CHECK (meta->embedding_dim == (guint) d && meta->embedding, "%s: no embedding", what);
    if (meta->embedding) {
      char w2[160];
      snprintf (w2, sizeof w2, "%s embedding vs engine", what);
      mc_check_close (w2, meta->embedding, want, d, 1e-6, 0);
      for (int i = 0; i < d; i++)
        cos_rgb += (double) meta->embedding[i] * rgb_emb[i];
      if (is_rgb_family (format)) {
        snprintf (w2, sizeof w2, "%s embedding vs RGB original", what);
        mc_check_close (w2, meta->embedding, rgb_emb, d, 0, 0);
      } else if (format != GST_VIDEO_FORMAT_GRAY8) {
        int sz = mc_image_size (ctx);
        float *a = gst_test_engine_preprocess (in, &info, sz);
        float *b = gst_test_engine_preprocess (rgb, &rgb_info, sz);
        double maxd = 0, sum = 0;
        for (int i = 0; a && b && i < sz * sz * 3; i++) {
          maxd = MAX (maxd, fabs (a[i] - b[i]));
          sum += fabs (a[i] - b[i]);
        }
        sum /= (double) sz * sz * 3;
        g_free (a);
        g_free (b);
        printf ("  %-48s input vs RGB original: mean|diff| %.2f/255, max %.0f/255, "
            "embedding cos %.4f\n", what, sum * 255, maxd * 255, cos_rgb);
        if (w * h_px >= 64 * 48)
          worst_mean_diff = MAX (worst_mean_diff, sum * 255);
        if (w >= 1920)
          worst_max_diff_large = MAX (worst_max_diff_large, maxd * 255);
      }
    }
    for (guint k = 0; k < meta->n_results && k < TOP_K; k++) {
      const GstMobileClipResult *r = &meta->results[k];
      CHECK (r->label_id == scores[k].label, "%s: rank %u label %d, engine %d",
          what, k, r->label_id, scores[k].label);
      CHECK (fabs (r->probability - scores[k].prob) <= 1e-5
          && fabs (r->cosine - scores[k].cosine) <= 1e-5,
          "%s: rank %u prob %g/%g cos %g/%g", what, k, r->probability,
          scores[k].prob, r->cosine, scores[k].cosine);
    }
    roi = gst_buffer_get_video_region_of_interest_meta (out);
    CHECK (roi != NULL, "%s: no ROI meta", what);
    if (roi) {
      GstStructure *s = gst_video_region_of_interest_meta_get_param (roi, "mobileclip");
      const gchar *label = s ? gst_structure_get_string (s, "label") : NULL;
      CHECK (roi->x == 0 && roi->y == 0 && roi->w == (guint) w && roi->h == (guint) h_px,
          "%s: ROI %u,%u %ux%u", what, roi->x, roi->y, roi->w, roi->h);
      CHECK (label && meta->n_results && !strcmp (label, meta->results[0].label),
          "%s: ROI label %s", what, label ? label : "(none)");
    }
  }
  gst_buffer_unref (out);
done:
  gst_buffer_unref (in);
  gst_buffer_unref (rgb);
  g_free (want);
  g_free (rgb_emb);
  g_free (scores);
}

int
main (int argc, char **argv)
{
  char model[1024], vocab[1024], launch[4096];
  const char *vocab_dir;
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  float *labels;
  int n_labels = 0;

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
  labels = gst_test_label_embeddings (ctx, PROMPTS, &n_labels);
  CHECK (labels && n_labels == 6, "labels");
  snprintf (launch, sizeof launch, "mobileclipfilter model=%s vocab=%s prompts=\"%s\" "
      "top-k=%d attach-embedding=true", model, vocab, PROMPTS, TOP_K);

  for (size_t f = 0; labels && f < G_N_ELEMENTS (formats); f++) {
    GstHarness *h = gst_harness_new_parse (launch);
    gst_harness_set_live (h, FALSE);
    gst_harness_play (h);
    for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
      check_frame (ctx, labels, n_labels, h, formats[f], sizes[s].w, sizes[s].h,
          (int) (f + s));
    gst_harness_teardown (h);
  }
  printf ("  YUV vs RGB original, model input: worst mean|diff| %.2f/255 (>= 64x48), "
      "worst max|diff| %.0f/255 (>= 1920 wide)\n", worst_mean_diff, worst_max_diff_large);
  /* bounds: twice the worst measured (tiny_s0, 64×64 input); a wrong matrix
   * or range moves saturated colours by 10–20/255 */
  CHECK (worst_mean_diff <= MEAN_DIFF_BOUND, "YUV frames drift from their RGB original");
  CHECK (worst_max_diff_large <= MAX_DIFF_BOUND, "YUV frames drift from their RGB original");
  g_free (labels);
  mc_context_free (ctx);
  return mc_test_finish ("gst-filter-formats");
}
