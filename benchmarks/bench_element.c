/* bench_element.c — what mobileclipfilter costs over the bare engine on
 * real video.
 *
 *   bench-element VIDEO MODEL [--config C] [--frames N] [--threads T]
 *                 [--format I420] [--repeat R]
 *
 * Decodes the first N frames of VIDEO (decodebin ! videoconvert ! FORMAT)
 * into memory, then times, on those same frames:
 *   bare:    mc_preprocess + mc_encode_images + mc_zero_shot per frame, the
 *            engine alone;
 *   element: appsrc ! mobileclipfilter ! fakesink (metas, ROI params and a
 *            message per frame), from the first push to EOS.
 * The difference per frame is the element's overhead: mapping, metas,
 * messages, the streaming thread.  Labels: 80 random rows in an embeddings
 * file, so image-only models (random full-size weights) work too.
 * Decoding is not timed.  Prints one JSON object.
 */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobileclip.h"
#include "io/safetensors.h"
#include "bench_timing.h"

#define N_LABELS 80

/* The first n frames of the video, as `format`. */
static GPtrArray *
decode (const char *video, const char *format, int n, GstCaps **caps)
{
  GPtrArray *frames = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  gchar *desc = g_strdup_printf ("filesrc location=%s ! decodebin ! videoconvert ! "
      "video/x-raw,format=%s ! appsink name=sink sync=false max-buffers=2", video, format);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");

  gst_element_set_state (p, GST_STATE_PLAYING);
  while ((int) frames->len < n) {
    GstSample *s = gst_app_sink_pull_sample (GST_APP_SINK (sink));
    if (!s)
      break;
    if (!*caps)
      *caps = gst_caps_ref (gst_sample_get_caps (s));
    g_ptr_array_add (frames, gst_buffer_ref (gst_sample_get_buffer (s)));
    gst_sample_unref (s);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  g_free (desc);
  return frames;
}

static int
write_labels (const char *path, int d)
{
  float *rows = g_new (float, (size_t) N_LABELS * d);
  mc_tensor_out t = { "embeddings", MC_DTYPE_F32, 2, { N_LABELS, d }, rows };
  GRand *r = g_rand_new_with_seed (7);
  mc_error err = { 0 };
  int ok;

  for (int i = 0; i < N_LABELS * d; i++)
    rows[i] = (float) g_rand_double_range (r, -1, 1);
  mc_l2_normalize (rows, N_LABELS, d);
  ok = mc_safetensors_write (path, &t, 1, NULL, NULL, 0, &err) == MC_OK;
  if (!ok)
    fprintf (stderr, "bench-element: %s\n", err.message);
  g_rand_free (r);
  g_free (rows);
  return ok;
}

static double
bare_ms_per_frame (mc_context *ctx, GPtrArray *frames, const GstVideoInfo *info,
    double *pre_ms, double *enc_ms)
{
  const int s = mc_image_size (ctx), d = mc_embed_dim (ctx);
  float *input = g_new (float, (size_t) s * s * 3), *emb = g_new (float, d);
  float *labels = g_new0 (float, (size_t) N_LABELS * d);
  mc_score *scores = g_new (mc_score, N_LABELS);
  mc_preprocessor *pp = mc_preprocessor_new ();
  double *pre = g_new (double, frames->len), *enc = g_new (double, frames->len);
  double *tot = g_new (double, frames->len), result;
  mc_error err = { 0 };

  for (guint i = 0; i < frames->len; i++) {
    GstVideoFrame f;
    mc_image img = { 0 };
    double t0, t1, t2;

    gst_video_frame_map (&f, (GstVideoInfo *) info, frames->pdata[i], GST_MAP_READ);
    img.format = MC_PIXEL_I420;
    img.width = GST_VIDEO_FRAME_WIDTH (&f);
    img.height = GST_VIDEO_FRAME_HEIGHT (&f);
    for (int p = 0; p < 3; p++) {
      img.planes[p] = GST_VIDEO_FRAME_PLANE_DATA (&f, p);
      img.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&f, p);
    }
    img.matrix = info->colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709
        ? MC_YUV_BT709 : MC_YUV_BT601;
    img.full_range = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
    t0 = now_ms ();
    if (mc_preprocess (pp, &img, NULL, s, input, &err) != MC_OK)
      fprintf (stderr, "bench-element: %s\n", err.message);
    t1 = now_ms ();
    mc_encode_images (ctx, input, MC_LAYOUT_NHWC, 1, s, s, emb, &err);
    mc_l2_normalize (emb, 1, d);
    mc_zero_shot (emb, labels, N_LABELS, d, mc_logit_scale_exp (ctx), scores);
    t2 = now_ms ();
    gst_video_frame_unmap (&f);
    pre[i] = t1 - t0;
    enc[i] = t2 - t1;
    tot[i] = t2 - t0;
  }
  *pre_ms = median (pre, frames->len);
  *enc_ms = median (enc, frames->len);
  result = 0;
  for (guint i = 0; i < frames->len; i++)
    result += tot[i];
  result /= frames->len;
  mc_preprocessor_free (pp);
  g_free (pre);
  g_free (enc);
  g_free (tot);
  g_free (input);
  g_free (emb);
  g_free (labels);
  g_free (scores);
  return result;
}

/* The element's time per frame, or a negative value when the pipeline could
 * not be made or posted an error (printed): a run that stopped early must
 * not pass for a fast one. */
static double
element_ms_per_frame (GPtrArray *frames, GstCaps *caps, const char *model,
    const char *config, const char *labels, int threads, int *messages)
{
  GError *parse_err = NULL;
  int failed = 0;
  gchar *desc = g_strdup_printf ("appsrc name=src format=time ! mobileclipfilter "
      "model=%s %s%s embeddings-file=%s threads=%d ! fakesink sync=false",
      model, config ? "config=" : "", config ? config : "", labels, threads);
  GstElement *p = gst_parse_launch (desc, &parse_err);
  GstElement *src;
  GstBus *bus;
  GstMessage *m;
  double t0, t1;

  if (!p || parse_err) {
    /* e.g. mobileclipfilter not on GST_PLUGIN_PATH (bench-element.sh sets it) */
    fprintf (stderr, "bench-element: %s: %s\n", desc,
        parse_err ? parse_err->message : "could not make the pipeline");
    g_clear_error (&parse_err);
    if (p)
      gst_object_unref (p);
    g_free (desc);
    return -1;
  }
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  bus = gst_element_get_bus (p);

  g_object_set (src, "caps", caps, "max-bytes", (guint64) 0, NULL);
  /* the model loads here (READY→PAUSED), before the clock starts */
  gst_element_set_state (p, GST_STATE_PLAYING);
  t0 = now_ms ();
  for (guint i = 0; i < frames->len; i++)
    gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_ref (frames->pdata[i]));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  *messages = 0;
  while ((m = gst_bus_timed_pop (bus, 600 * GST_SECOND))) {
    GstMessageType t = GST_MESSAGE_TYPE (m);
    if (t == GST_MESSAGE_ELEMENT && gst_message_has_name (m, "mobileclip"))
      (*messages)++;
    if (t == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error (m, &e, NULL);
      fprintf (stderr, "bench-element: %s: %s\n", GST_MESSAGE_SRC_NAME (m), e->message);
      g_error_free (e);
      failed = 1;
    }
    gst_message_unref (m);
    if (t == GST_MESSAGE_EOS || t == GST_MESSAGE_ERROR)
      break;
  }
  if (!m) {
    fprintf (stderr, "bench-element: no EOS within 600 s\n");
    failed = 1;
  }
  t1 = now_ms ();
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (p);
  g_free (desc);
  return failed ? -1 : (t1 - t0) / frames->len;
}

int
main (int argc, char **argv)
{
  const char *video, *model, *config = NULL, *format = "I420";
  int n = 60, threads = 0, repeat = 3, messages = 0, status = 0;
  GstCaps *caps = NULL;
  GstVideoInfo info;
  GPtrArray *frames;
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };
  gchar *dir, *labels;
  double pre = 0, enc = 0, bare = 1e30, elem = 1e30;

  gst_init (&argc, &argv);
  if (argc < 3) {
    fprintf (stderr, "usage: bench-element VIDEO MODEL [--config C] [--frames N] "
        "[--threads T] [--repeat R]\n");
    return 2;
  }
  video = argv[1];
  model = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!strcmp (argv[i], "--config")) config = argv[i + 1];
    else if (!strcmp (argv[i], "--frames")) n = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--threads")) threads = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--repeat")) repeat = atoi (argv[i + 1]);
  }

  frames = decode (video, format, n, &caps);
  if (!caps || frames->len == 0) {
    fprintf (stderr, "bench-element: could not decode %s\n", video);
    return 1;
  }
  gst_video_info_from_caps (&info, caps);
  params.config = config;
  params.n_threads = threads;
  params.towers = MC_TOWER_IMAGE;
  if (mc_context_load (model, &params, &ctx, &err) != MC_OK) {
    fprintf (stderr, "bench-element: %s\n", err.message);
    return 1;
  }
  dir = g_dir_make_tmp ("bench-element-XXXXXX", NULL);
  labels = g_build_filename (dir, "labels.safetensors", NULL);
  if (!write_labels (labels, mc_embed_dim (ctx)))
    return 1;

  /* alternate the two, best of `repeat` each: the machine is shared */
  for (int r = 0; r < repeat; r++) {
    double p, e, b = bare_ms_per_frame (ctx, frames, &info, &p, &e);
    double el = element_ms_per_frame (frames, caps, model, config, labels, threads,
        &messages);
    if (el < 0) {   /* the error is printed; no figures */
      status = 1;
      break;
    }
    if (b < bare) {
      bare = b;
      pre = p;
      enc = e;
    }
    if (el < elem)
      elem = el;
  }
  if (status == 0)
    printf ("{\n  \"video\": \"%s\", \"frames\": %u, \"format\": \"%s %dx%d\",\n"
        "  \"model\": \"%s\", \"input\": %d, \"threads\": %d, \"labels\": %d,\n"
        "  \"bare_preprocess_ms\": %.3f, \"bare_encode_ms\": %.3f,\n"
        "  \"bare_ms_per_frame\": %.3f, \"element_ms_per_frame\": %.3f,\n"
        "  \"overhead_ms_per_frame\": %.3f, \"overhead_percent\": %.2f,\n"
        "  \"element_messages\": %d\n}\n",
        video, frames->len, GST_VIDEO_INFO_NAME (&info), GST_VIDEO_INFO_WIDTH (&info),
        GST_VIDEO_INFO_HEIGHT (&info), mc_model_name (ctx), mc_image_size (ctx),
        mc_n_threads (ctx), N_LABELS, pre, enc, bare, elem, elem - bare,
        100.0 * (elem - bare) / bare, messages);

  g_unlink (labels);
  g_rmdir (dir);
  g_free (labels);
  g_free (dir);
  mc_context_free (ctx);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
  return status;
}
