/* test_real_s0_text_keys.c — the loader accounts for every text-encoder key
 * of Apple's real mobileclip_s0.pt.
 *
 * ../shared/real/mobileclip_s0.keys.tsv lists the real checkpoint's tensors
 * with their shapes.  A checkpoint with exactly its text_encoder.* keys
 * (random values, stored as F16) must load with configs/mobileclip_s0.json
 * (`mct`: RepMixer, 4 transformer layers, RepMixer; dim 512), use every key,
 * count the table's parameters (Apple: 42.4 M), report the MACs of the
 * architecture, and embed a prompt; the same file with the S1 config
 * (`base`, 12 layers) must fail naming a tensor.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "random_weights.h"
#include "test_util.h"

/* MACs of the S0 text tower counted from its architecture: per 77-token
 * prompt, 4 transformer layers (qkv, q·kᵀ and p·v, out_proj, FFN 512→2048→512),
 * 2 RepMixer blocks (1×11 depthwise mixer and ConvFFN conv, FFN), and the
 * projection of the pooled row. */
static int64_t
s0_text_macs (void)
{
  const int64_t T = 77, D = 512, F = 2048, K = 11;
  const int64_t transformer = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * F;
  const int64_t repmixer = 2 * T * D * K + 2 * T * D * 4 * D;
  return 4 * transformer + 2 * repmixer + D * 512;
}

int
main (void)
{
  const char *g = mc_test_golden_dir ();
  char *tsv, *tmpdir, *path, *text = NULL;
  mc_params p = mc_params_default ();
  mc_context *ctx = NULL;
  mc_model_info info;
  mc_error err = { 0 };
  int64_t table_params = 0;
  int n_keys = 0;

  if (!g)
    return MC_TEST_SKIP;
  tsv = g_build_filename (g, "..", "real", "mobileclip_s0.keys.tsv", NULL);
  if (!g_file_get_contents (tsv, &text, NULL, NULL)) {
    printf ("SKIP: %s not found\n", tsv);
    return MC_TEST_SKIP;
  }
  {
    char **lines = g_strsplit (text, "\n", -1);
    for (char **l = lines; *l; l++) {
      char **f = g_strsplit (*l, "\t", 3);
      if (f[0] && f[1] && g_str_has_prefix (f[0], "text_encoder.")
          && !g_str_has_suffix (f[0], ".num_batches_tracked")) {
        int64_t numel = 1;
        n_keys++;
        for (char *s = f[1] + 1; *s && *s != ']';) {
          char *end;
          numel *= g_ascii_strtoll (s, &end, 10);
          s = end;
          while (*s == ',' || *s == ' ')
            s++;
        }
        if (!g_str_has_suffix (f[0], ".running_mean") && !g_str_has_suffix (f[0], ".running_var"))
          table_params += numel;
      }
      g_strfreev (f);
    }
    g_strfreev (lines);
  }
  printf ("text-encoder keys in the real table (without num_batches_tracked): %d, %lld parameters\n",
      n_keys, (long long) table_params);

  tmpdir = g_dir_make_tmp ("mc-real-text-keys-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "s0_text_f16.safetensors", NULL);
  CHECK (mc_write_random_weights (tsv, "text_encoder.", MC_DTYPE_F16, 3, path, &err) == MC_OK,
      "%s", err.message);

  p.config = "mobileclip_s0";
  p.towers = MC_TOWER_TEXT;
  p.n_threads = 2;
  CHECK (mc_context_load (path, &p, &ctx, &err) == MC_OK, "%s", err.message);
  if (ctx) {
    int32_t ids[2 * MC_CONTEXT_LENGTH] = { 0 };
    float emb[2 * 512];
    int finite = 1;

    mc_get_model_info (ctx, &info);
    printf ("%s: %lld parameters, %.4f GMAC per prompt (architecture count %.4f)\n",
        info.text_arch, (long long) info.text_params, info.text_macs / 1e9, s0_text_macs () / 1e9);
    CHECK (info.text_arch && !strcmp (info.text_arch, "mct"), "arch");
    CHECK (info.text_params == table_params, "params %lld, table %lld",
        (long long) info.text_params, (long long) table_params);
    CHECK (info.text_params > 42.35e6 && info.text_params < 42.45e6, "params %lld, Apple says 42.4 M",
        (long long) info.text_params);
    CHECK (info.text_macs == s0_text_macs (), "MACs %lld, expected %lld",
        (long long) info.text_macs, (long long) s0_text_macs ());

    /* "a dog" and an empty prompt, as token ids */
    ids[0] = 49406; ids[1] = 320; ids[2] = 1929; ids[3] = 49407;
    ids[MC_CONTEXT_LENGTH] = 49406; ids[MC_CONTEXT_LENGTH + 1] = 49407;
    CHECK (mc_encode_texts (ctx, ids, 2, emb, &err) == MC_OK, "%s", err.message);
    for (int i = 0; i < 2 * 512; i++)
      finite &= isfinite (emb[i]);
    CHECK (finite, "embedding has non-finite values");
    mc_context_free (ctx);
  }

  /* the same weights with the S1 (`base`, 12 layers) config: a named error */
  p.config = "mobileclip_s1";
  ctx = NULL;
  CHECK (mc_context_load (path, &p, &ctx, &err) == MC_ERR_WEIGHTS, "loaded with the wrong config");
  printf ("wrong config → %s\n", err.message);
  CHECK (strstr (err.message, "text_encoder.") != NULL, "message names no tensor");
  mc_context_free (ctx);

  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
  g_free (tsv);
  g_free (text);
  return mc_test_finish ("real-s0-text-keys");
}
