/* test_mci_batch.c — batched MCi forwards give each image's own result.
 *
 * With a pool of 2 threads, a batch of at least 2 images runs images side by
 * side (one worker each, every op on one thread) and the images left over
 * with every op split over the pool; a batch of one splits every op.  Every
 * kernel computes an output in the same order whatever the split, so each
 * row of a batch must equal, bit for bit, that image alone on one thread.
 * Checked on the golden tiny MCi models (their weights; random images) for
 * batches of 1 to 5, with and without the op profile (which changes the
 * code path's bookkeeping, not its arithmetic), with a debug tap (which
 * keeps whole-batch maps, so split ops), and smaller batches after a larger
 * one (which keep its buffers).
 */
#include <glib.h>

#include "mobileclip.h"
#include "io/config.h"
#include "io/tensor_file.h"
#include "model/mci.h"
#include "model/weights.h"
#include "test_util.h"

static void
count_tap (void *user, const char *name, const float *x, int n, int h, int w, int c)
{
  (*(int *) user)++;
}

static void
run_case (const char *golden, const char *name)
{
  char *dir = g_build_filename (golden, name, NULL);
  char *cfg_path = g_build_filename (dir, "config.json", NULL);
  char *wpath = g_build_filename (dir, "weights.safetensors", NULL);
  mc_tensor_file *wf = NULL;
  mc_model_config cfg;
  mc_error err = { 0 };
  mc_weights *w;
  mc_mci *m = NULL;
  mc_threadpool *pool = mc_threadpool_new (2);
  const int max_n = 5;

  printf ("%s:\n", name);
  CHECK (mc_config_load (cfg_path, &cfg, &err) == MC_OK, "%s", err.message);
  CHECK (mc_tensor_file_open (wpath, &wf, &err) == MC_OK, "%s", err.message);
  if (!wf)
    goto out;
  w = mc_weights_new (wf, "image_encoder.model.", &err);
  CHECK (mc_mci_build (&cfg.image, cfg.embed_dim, w, &m, &err) == MC_OK, "%s", err.message);
  mc_weights_free (w);
  if (!m)
    goto out;

  const int s = cfg.image.image_size, e = cfg.embed_dim;
  float *x = g_new (float, (gsize) max_n * s * s * 3);
  float *alone = g_new (float, (gsize) max_n * e), *batch = g_new (float, (gsize) max_n * e);
  mc_profile_entry prof[MC_PROFILE_MAX];
  guint32 seed = 12345;

  for (size_t i = 0; i < (size_t) max_n * s * s * 3; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  for (int b = 0; b < max_n; b++)
    CHECK (mc_mci_forward (m, NULL, x + (size_t) b * s * s * 3, 1, s, s, alone + (size_t) b * e,
            &err) == MC_OK, "%s", err.message);

  for (int n = 1; n <= max_n; n++)
    for (int profiled = 0; profiled < 2; profiled++) {
      char what[96];
      mc_mci_set_profile (m, profiled ? prof : NULL);
      memset (batch, 0, (size_t) max_n * e * sizeof (float));
      CHECK (mc_mci_forward (m, pool, x, n, s, s, batch, &err) == MC_OK, "%s", err.message);
      snprintf (what, sizeof what, "batch of %d, 2 threads%s vs alone", n,
          profiled ? ", profiled" : "");
      mc_check_close (what, batch, alone, (size_t) n * e, 0, 0);
      if (profiled) {
        double total = 0;
        for (int i = 0; i < 6; i++)
          total += prof[i].ms;
        CHECK (total > 0 && prof[2].calls > 0, "profile of a batch of %d recorded nothing", n);
      }
    }
  mc_mci_set_profile (m, NULL);

  /* smaller batches after a larger one run in its buffers, with the same bits */
  for (int n = max_n - 1; n >= 1; n--) {
    char what[64];
    memset (batch, 0, (size_t) max_n * e * sizeof (float));
    CHECK (mc_mci_forward (m, pool, x, n, s, s, batch, &err) == MC_OK, "%s", err.message);
    snprintf (what, sizeof what, "batch of %d after one of %d vs alone", n, max_n);
    mc_check_close (what, batch, alone, (size_t) n * e, 0, 0);
    CHECK (mc_mci_planned_batch (m) == max_n,
        "a batch of %d after one of %d planned new buffers for %d images", n, max_n,
        mc_mci_planned_batch (m));
  }

  {
    int taps = 0;
    mc_mci_set_tap (m, count_tap, &taps);
    CHECK (mc_mci_forward (m, pool, x, 4, s, s, batch, &err) == MC_OK, "%s", err.message);
    mc_mci_set_tap (m, NULL, NULL);
    CHECK (taps > 0, "no tap called");
    mc_check_close ("batch of 4 with a tap vs alone", batch, alone, (size_t) 4 * e, 0, 0);
  }

  g_free (x);
  g_free (alone);
  g_free (batch);
out:
  mc_mci_free (m);
  mc_tensor_file_close (wf);
  mc_threadpool_free (pool);
  g_free (dir);
  g_free (cfg_path);
  g_free (wpath);
}

int
main (void)
{
  const char *golden = mc_test_golden_dir ();
  if (!golden)
    return MC_TEST_SKIP;
  run_case (golden, "tiny_s0");
  run_case (golden, "tiny_s1b");
  return mc_test_finish ("mci-batch");
}
