/* test_image_golden.c — the MCi image encoder against Apple's reference.
 *
 * For each golden MCi case: the embedding of `image` against both
 * `image_embedding` (training form) and `image_embedding_reparam`, and every
 * `dbg.image.*` stage output, at |ours − ref| <= 1e-4 + 1e-4·max|ref| (the
 * README's bound; measured errors are printed).  Also checks that a batch of
 * one gives the same rows as the batch of two, and that 1 and 2 threads agree.
 */
#include <glib.h>

#include "mobileclip.h"
#include "io/tensor_file.h"
#include "model/mci.h"
#include "test_util.h"

typedef struct {
  const mc_tensor_file *io;
  int checked;
} tap_ctx;

/* Our maps are NHWC; the reference's are NCHW. */
static void
compare_tap (void *user, const char *name, const float *x, int n, int h, int w, int c)
{
  tap_ctx *t = user;
  char *key = g_strdup_printf ("dbg.image.%s", name);
  const mc_tensor_info *ref = mc_tensor_file_find (t->io, key);
  if (!ref) {
    CHECK (ref != NULL, "golden file lacks %s", key);
    g_free (key);
    return;
  }
  CHECK (mc_tensor_numel (ref) == (int64_t) n * h * w * c, "%s: size mismatch", key);
  if (mc_tensor_numel (ref) == (int64_t) n * h * w * c) {
    float *r = g_new (float, (gsize) n * h * w * c);
    float *ours = g_new (float, (gsize) n * h * w * c);
    mc_tensor_to_f32 (ref, r);
    for (int b = 0; b < n; b++)
      for (int ch = 0; ch < c; ch++)
        for (int p = 0; p < h * w; p++)
          ours[((size_t) b * c + ch) * h * w + p] = x[((size_t) b * h * w + p) * c + ch];
    mc_check_close (key, ours, r, (size_t) n * h * w * c, 1e-4, 1e-4);
    g_free (r);
    g_free (ours);
    t->checked++;
  }
  g_free (key);
}

/* reaches into the context for the debug taps: the model is built here
 * directly from the same files, the way mc_context_load does */
#include "io/config.h"
#include "model/weights.h"

static void
run_case (const char *golden, const char *name)
{
  char *dir = g_build_filename (golden, name, NULL);
  char *cfg_path = g_build_filename (dir, "config.json", NULL);
  char *wpath = g_build_filename (dir, "weights.safetensors", NULL);
  char *iopath = g_build_filename (dir, "io.safetensors", NULL);
  mc_tensor_file *wf = NULL, *io = NULL;
  mc_model_config cfg;
  mc_error err = { 0 };
  mc_weights *w;
  mc_mci *m = NULL;
  mc_threadpool *pool = mc_threadpool_new (2);

  printf ("%s:\n", name);
  CHECK (mc_config_load (cfg_path, &cfg, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (wpath, &wf, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (iopath, &io, &err) == MC_OK, "%s", err.message);
  if (!wf || !io)
    goto out;
  w = mc_weights_new (wf, "image_encoder.model.", &err);
  CHECK (mc_mci_build (&cfg.image, cfg.embed_dim, w, &m, &err) == MC_OK, "%s", err.message);
  CHECK (mc_weights_check_all_used (w, "image_encoder.model.") == MC_OK, "%s", err.message);
  mc_weights_free (w);
  if (!m)
    goto out;

  const mc_tensor_info *img = mc_tensor_file_find (io, "image");
  const int n = (int) img->shape[0], s = (int) img->shape[2], e = cfg.embed_dim;
  float *nchw = g_new (float, (gsize) mc_tensor_numel (img));
  float *nhwc = g_new (float, (gsize) mc_tensor_numel (img));
  float *emb = g_new (float, (gsize) n * e), *emb1 = g_new (float, (gsize) e);
  float *ref = g_new (float, (gsize) n * e);
  tap_ctx tc = { io, 0 };

  mc_tensor_to_f32 (img, nchw);
  for (int b = 0; b < n; b++)
    for (int c = 0; c < 3; c++)
      for (int p = 0; p < s * s; p++)
        nhwc[((size_t) b * s * s + p) * 3 + c] = nchw[((size_t) b * 3 + c) * s * s + p];

  mc_mci_set_tap (m, compare_tap, &tc);
  CHECK (mc_mci_forward (m, pool, nhwc, n, s, s, emb, &err) == MC_OK, "%s", err.message);
  mc_mci_set_tap (m, NULL, NULL);
  CHECK (tc.checked >= 10, "only %d stage outputs compared", tc.checked);
  printf ("  (%d stage outputs compared)\n", tc.checked);

  mc_tensor_to_f32 (mc_tensor_file_find (io, "image_embedding"), ref);
  mc_check_close ("image_embedding", emb, ref, (size_t) n * e, 1e-4, 1e-4);
  mc_tensor_to_f32 (mc_tensor_file_find (io, "image_embedding_reparam"), ref);
  mc_check_close ("image_embedding_reparam", emb, ref, (size_t) n * e, 1e-4, 1e-4);

  /* batch 1 (replans buffers) and one thread give the same row */
  CHECK (mc_mci_forward (m, NULL, nhwc + (size_t) s * s * 3, 1, s, s, emb1, &err) == MC_OK,
      "%s", err.message);
  mc_check_close ("row 1 alone, 1 thread vs batch of 2", emb1, emb + e, (size_t) e, 1e-6, 1e-6);

  g_free (nchw);
  g_free (nhwc);
  g_free (emb);
  g_free (emb1);
  g_free (ref);
out:
  mc_mci_free (m);
  mc_tensor_file_close (wf);
  mc_tensor_file_close (io);
  mc_threadpool_free (pool);
  g_free (dir);
  g_free (cfg_path);
  g_free (wpath);
  g_free (iopath);
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  if (!golden)
    return MC_TEST_SKIP;
  run_case (golden, "tiny_s0");
  run_case (golden, "tiny_s1b");
  return mc_test_finish ("image-golden");
}
