/* test_real_s0_keys.c — the loader accounts for every image-encoder key of
 * Apple's real mobileclip_s0.pt.
 *
 * ../shared/real/mobileclip_s0.keys.tsv lists all 893 tensors of the real
 * checkpoint with their shapes.  A checkpoint with exactly those image keys
 * and shapes (random values, stored as F16 like the hidden full-size case)
 * must load with configs/mobileclip_s0.json, use every key, and run at
 * 256×256; the MAC count must match MCi0's 2.385 GMAC after
 * reparameterization.  1 and 2 threads, which cut the ConvFFNs into
 * different bands, must give the same bits.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "random_weights.h"
#include "test_util.h"

static const char *
real_dir (void)
{
  const char *d = getenv ("MOBILECLIP_REAL_DIR");
  static char buf[1024];
  if (d && *d)
    return d;
  const char *g = mc_test_golden_dir ();
  if (!g)
    return NULL;
  g_snprintf (buf, sizeof buf, "%s/../real", g);
  return buf;
}

int
main (void)
{
  const char *rd = real_dir ();
  char *tsv, *tmpdir, *path;
  mc_error err = { 0 };
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_model_info info;
  int n_image_keys = 0;
  char *text = NULL;

  if (!rd)
    return MC_TEST_SKIP;
  tsv = g_build_filename (rd, "mobileclip_s0.keys.tsv", NULL);
  if (!g_file_get_contents (tsv, &text, NULL, NULL)) {
    printf ("SKIP: %s not found\n", tsv);
    return MC_TEST_SKIP;
  }
  {
    char **lines = g_strsplit (text, "\n", -1);
    for (char **l = lines; *l; l++)
      if (g_str_has_prefix (*l, "image_encoder.") && !strstr (*l, "num_batches_tracked\t"))
        n_image_keys++;
    g_strfreev (lines);
  }
  printf ("image-encoder keys in the real table (without num_batches_tracked): %d\n", n_image_keys);

  tmpdir = g_dir_make_tmp ("mc-real-keys-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "s0_image_f16.safetensors", NULL);
  CHECK (mc_write_random_weights (tsv, "image_encoder.", MC_DTYPE_F16, 1, path, &err) == MC_OK,
      "%s", err.message);

  p.config = "mobileclip_s0";
  p.towers = MC_TOWER_IMAGE;
  p.n_threads = 2;
  CHECK (mc_context_load (path, &p, &ctx, &err) == MC_OK, "%s", err.message);
  if (ctx) {
    mc_tensor_file *f = NULL;
    CHECK (mc_tensor_file_open (path, &f, &err) == MC_OK, "%s", err.message);
    CHECK (f && (int) mc_tensor_file_count (f) == n_image_keys, "file holds %zu tensors",
        f ? mc_tensor_file_count (f) : 0);
    mc_tensor_file_close (f);

    mc_get_model_info (ctx, &info);
    printf ("mci0: %lld parameters, %.4f GMAC at 256×256\n", (long long) info.image_params,
        info.image_macs / 1e9);
    CHECK (info.image_macs > 2.37e9 && info.image_macs < 2.40e9, "MACs %lld, expected ~2.385e9",
        (long long) info.image_macs);
    CHECK (info.image_params > 11.0e6 && info.image_params < 11.8e6,
        "params %lld, expected ~11.4M", (long long) info.image_params);

    float *img = g_new (float, 256 * 256 * 3), emb[512];
    for (int i = 0; i < 256 * 256 * 3; i++)
      img[i] = (float) ((i * 7919) % 255) / 255.0f;
    CHECK (mc_encode_images (ctx, img, MC_LAYOUT_NHWC, 1, 256, 256, emb, &err) == MC_OK,
        "%s", err.message);
    int finite = 1;
    for (int i = 0; i < 512; i++)
      finite &= isfinite (emb[i]);
    CHECK (finite, "embedding has non-finite values");

    /* The one model here whose ConvFFNs run in several bands of rows.  On
     * 1 thread stage 1 runs bands of 5 rows, stage 2 of 8, stages 3 and 4
     * one band each; on 2, stage 1 bands of 4 rows, stage 2 of 8, stages 3
     * and 4 as ops split over the pool.  A row lost or doubled at a band's
     * edge changes the embedding. */
    {
      mc_context *one = NULL;
      float emb1[512];
      p.n_threads = 1;
      CHECK (mc_context_load (path, &p, &one, &err) == MC_OK, "%s", err.message);
      if (one) {
        CHECK (mc_encode_images (one, img, MC_LAYOUT_NHWC, 1, 256, 256, emb1, &err) == MC_OK,
            "%s", err.message);
        mc_check_close ("1 thread vs 2 threads (other bands, split ops)", emb1, emb, 512, 0, 0);
      }
      mc_context_free (one);
    }
    g_free (img);
    mc_context_free (ctx);
  }

  /* the same weights with another config: an error naming a tensor */
  p.config = "mobileclip_s2";
  ctx = NULL;
  CHECK (mc_context_load (path, &p, &ctx, &err) == MC_ERR_WEIGHTS, "loaded with the wrong config");
  printf ("wrong config → %s\n", err.message);
  CHECK (strstr (err.message, "image_encoder.model.") != NULL, "message names no tensor");
  mc_context_free (ctx);

  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
  g_free (tsv);
  g_free (text);
  return mc_test_finish ("real-s0-keys");
}
