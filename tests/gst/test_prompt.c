/* test_prompt.c — mobileclipprompt: `filesrc ! mobileclipprompt ! filesink`
 * writes an embeddings file that the engine reads back with the labels and
 * rows the text encoder gives, and that mobileclipfilter's embeddings-file
 * uses to give the same results as embedding the prompts itself. */
#include "gst_test_util.h"

#include <glib/gstdio.h>

#define PROMPT_TEXT "# animals\na dog | a puppy\na cat\n\na red car\nthe blue sky\n"
#define SAME_AS_PROPS "a dog|a puppy;a cat;a red car;the blue sky"

static char model[1024];

static GstMobileClipMeta *
classify (GstHarness *h, GstBuffer *in, const GstVideoInfo *info, GstBuffer **out)
{
  GstCaps *caps = gst_video_info_to_caps ((GstVideoInfo *) info);
  gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  gst_harness_set_src_caps (h, caps);
  *out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  return *out ? gst_buffer_get_mobileclip_meta (*out) : NULL;
}

int
main (int argc, char **argv)
{
  gchar *dir, *txt, *emb, *launch, *error;
  GstElement *p;
  mc_prompt_embeddings *pe = NULL;
  mc_error err = { 0 };
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  float *want;
  int n = 0;

  if (!gst_test_setup (&argc, &argv, "tiny_s0", model, sizeof model))
    return MC_TEST_SKIP;
  dir = g_dir_make_tmp ("mc-prompt-test-XXXXXX", NULL);
  txt = g_build_filename (dir, "prompts.txt", NULL);
  emb = g_build_filename (dir, "prompts.emb", NULL);
  g_file_set_contents (txt, PROMPT_TEXT, -1, NULL);

  /* the documented pipeline */
  p = gst_parse_launch (launch = g_strdup_printf ("filesrc location=%s ! "
          "mobileclipprompt model=%s ! filesink location=%s", txt, model, emb), NULL);
  g_free (launch);
  error = gst_test_run_pipeline (p, NULL, 20 * GST_SECOND);
  CHECK (error == NULL, "prompt pipeline: %s", error);
  g_free (error);
  gst_object_unref (p);

  /* read back by the engine: 4 labels, rows equal to the engine's own */
  if (mc_prompt_embeddings_load (emb, &pe, &err) != MC_OK) {
    CHECK (0, "%s: %s", emb, err.message);
  } else if (mc_context_load (model, &params, &ctx, &err) != MC_OK) {
    CHECK (0, "model: %s", err.message);
  } else {
    want = gst_test_label_embeddings (ctx, SAME_AS_PROPS, &n);
    CHECK (mc_prompt_embeddings_count (pe) == 4 && n == 4, "%d labels",
        mc_prompt_embeddings_count (pe));
    CHECK (!strcmp (mc_prompt_embeddings_label (pe, 0), "a dog")
        && !strcmp (mc_prompt_embeddings_label (pe, 3), "the blue sky"), "labels");
    CHECK (!strcmp (mc_prompt_embeddings_fingerprint (pe), mc_fingerprint (ctx)),
        "fingerprint %s vs %s", mc_prompt_embeddings_fingerprint (pe), mc_fingerprint (ctx));
    if (want && n == mc_prompt_embeddings_count (pe))
      mc_check_close ("embeddings file vs engine", mc_prompt_embeddings_data (pe), want,
          (size_t) n * mc_embed_dim (ctx), 1e-6, 0);
    g_free (want);
  }
  if (pe)
    mc_prompt_embeddings_free (pe);

  /* the filter with embeddings-file = the filter with the same prompts */
  {
    GstVideoInfo info;
    GstBuffer *in = gst_test_rgb_frame (120, 90, 5, &info), *o1 = NULL, *o2 = NULL;
    GstHarness *h1, *h2;
    GstMobileClipMeta *a, *b;

    h1 = gst_harness_new_parse (launch = g_strdup_printf ("mobileclipfilter model=%s "
            "embeddings-file=%s top-k=4", model, emb));
    g_free (launch);
    h2 = gst_harness_new_parse (launch = g_strdup_printf ("mobileclipfilter model=%s "
            "prompts=\"%s\" top-k=4", model, SAME_AS_PROPS));
    g_free (launch);
    gst_harness_set_live (h1, FALSE);
    gst_harness_set_live (h2, FALSE);
    gst_harness_play (h1);
    gst_harness_play (h2);
    a = classify (h1, in, &info, &o1);
    b = classify (h2, in, &info, &o2);
    CHECK (a && b && a->n_results == 4 && b->n_results == 4, "results missing");
    for (guint i = 0; a && b && i < 4 && i < a->n_results; i++) {
      CHECK (!strcmp (a->results[i].label, b->results[i].label)
          && fabs (a->results[i].probability - b->results[i].probability) < 1e-6,
          "rank %u: %s %g vs %s %g", i, a->results[i].label, a->results[i].probability,
          b->results[i].label, b->results[i].probability);
    }
    if (a)
      printf ("  embeddings-file top label '%s' p=%.6f\n", a->results[0].label,
          a->results[0].probability);
    gst_clear_buffer (&o1);
    gst_clear_buffer (&o2);
    gst_harness_teardown (h1);
    gst_harness_teardown (h2);
    gst_buffer_unref (in);
  }

  /* no prompt at all, or no model: an error on the bus */
  g_file_set_contents (txt, "# nothing\n\n", -1, NULL);
  p = gst_parse_launch (launch = g_strdup_printf ("filesrc location=%s ! "
          "mobileclipprompt model=%s ! fakesink", txt, model), NULL);
  g_free (launch);
  error = gst_test_run_pipeline (p, NULL, 10 * GST_SECOND);
  printf ("  empty prompt text -> %s\n", error ? error : "(no error)");
  CHECK (error != NULL, "no error for an empty prompt list");
  g_free (error);
  gst_object_unref (p);
  p = gst_parse_launch (launch = g_strdup_printf ("filesrc location=%s ! "
          "mobileclipprompt model=/nonexistent/model ! fakesink", txt), NULL);
  g_free (launch);
  error = gst_test_run_pipeline (p, NULL, 10 * GST_SECOND);
  printf ("  missing model -> %s\n", error ? error : "(no error)");
  CHECK (error && strstr (error, "/nonexistent/model"), "missing model not named");
  g_free (error);
  gst_object_unref (p);

  mc_context_free (ctx);
  g_unlink (txt);
  g_unlink (emb);
  g_rmdir (dir);
  g_free (txt);
  g_free (emb);
  g_free (dir);
  return mc_test_finish ("gst-prompt");
}
