/* test_precision_golden.c — a reduced precision path (argv[1]: bf16 or
 * int8; meson runs it once for each) against our fp32 path.
 *
 * For tiny_s0 and tiny_s1b (golden folder): the model loaded twice, with
 * precision FP32 and the one under test; image embeddings of `image` and
 * text embeddings of `text_tokens` from both.  Every row's cosine between
 * the two must be at least 0.999 (the bound); the log shows the
 * worst cosine, the largest difference, and both paths' cosine to Apple's
 * reference.  Then the full-size MobileCLIP-S0 architecture (image and text
 * towers) with random weights drawn from the real checkpoint's key table,
 * at 256×256 and on 77-token prompts, the same way.  On CPUs without
 * AVX512-BF16 the BF16 path runs the emulation, which has the
 * instruction's numerics; INT8 runs the integer kernel of the current
 * variant (every kernel computes the same integers).
 *
 * The full-size random weights are not calibrated (no BatchNorm statistics
 * from data): activations reach 1e5-1e6, so attention softmaxes and SE
 * sigmoids saturate, and a relative perturbation of 1e-3 can flip them.
 * With bf16 this seed (7) measures 0.99999; seed 1 with F32 weights
 * measures 0.992 on the image tower (cosine 0.99998 through stage 3, then
 * the saturated stage-4 attention and conv_exp+SE amplify the difference,
 * while fp32 kernel variants agree to cosine 1.0000000 there).  So this
 * part guards against regressions; the calibrated golden cases above are
 * the bound's real check.
 *
 * For bf16 on x86-64 the tiny cases run once more with the AMX-BF16
 * kernel's code on the C model of the tiles
 * (tests/ops/gemm_bf16_amx_emulated.c on amx_tile_model.c): its summation order differs from
 * VDPBF16PS's, the bound is the same.  For int8 on x86-64 they run once
 * more with the VPDPBUSD kernel's code on emulated VNNI
 * (x86/gemm_int8_vnni.c, MC_I8V_EMULATE): the embeddings must equal the
 * default int8 kernel's bit for bit (same integers, same epilogue); and once
 * more with the AMX-INT8 kernel's code on the tile model
 * (tests/ops/gemm_int8_amx_emulated.c), within the same bound.
 *
 * Both runs also check the AUTO rules (AUTO never picks int8; the
 * environment variable may name the precision under test) and the names.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "mobileclip.h"
#include "io/tensor_file.h"
#include "ops/gemm.h"
#include "ops/gemm_kernels.h"
#include "random_weights.h"
#include "test_util.h"
#include "test_tensors.h"

/* the precision under test (argv[1]), its name and its panel format */
static mc_precision tested;
static const char *tested_name;
static mc_gemm_format tested_format;

/* per-row cosines of a vs b ([n × d]); returns the smallest, and the
 * largest |a − b| in *maxdiff */
static double
min_row_cosine (const float *a, const float *b, int n, int d, double *maxdiff)
{
  double worst = 1.0;

  *maxdiff = 0;
  for (int i = 0; i < n; i++) {
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < d; j++) {
      const double x = a[(size_t) i * d + j], y = b[(size_t) i * d + j];
      dot += x * y;
      na += x * x;
      nb += y * y;
      if (fabs (x - y) > *maxdiff)
        *maxdiff = fabs (x - y);
    }
    if (dot / sqrt (na * nb) < worst || !(na > 0 && nb > 0))
      worst = na > 0 && nb > 0 ? dot / sqrt (na * nb) : -1;
  }
  return worst;
}

static mc_context *
load (const char *model, const char *config, unsigned towers, mc_precision p)
{
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  mc_error err = { 0 };

  params.precision = p;
  params.n_threads = 2;
  params.config = config;
  params.towers = towers;
  CHECK (mc_context_load (model, &params, &ctx, &err) == MC_OK, "%s: %s", model,
      err.message);
  if (ctx)
    CHECK (mc_context_precision (ctx) == p, "asked %s, runs %s",
        mc_precision_name (p), mc_precision_name (mc_context_precision (ctx)));
  CHECK (mc_gemm_get_pack_format () == MC_GEMM_F32,
      "the load left this thread packing format %d", (int) mc_gemm_get_pack_format ());
  return ctx;
}

/* Compares the tested precision's rows with fp32 rows (and both with a
 * reference when given). */
/* The bound for every case and both precisions.  The weakest
 * case is int8 on tiny_s0's image tower (0.999320 measured): that small
 * random model amplifies error ~80× more than the full-size architecture
 * (bf16: 0.99959 there, 0.999995 at full size).  It met the bound once
 * products of depth K <= 64 stayed float (MC_GEMM_INT8_MODEL_MIN_K; before,
 * 0.998534). */
#define COSINE_BOUND 0.999

static void
compare (const char *model, const char *what, const float *low,
    const float *fp32, const float *ref, int n, int d)
{
  const double bound = COSINE_BOUND;
  double diff, diff_ref = 0, cos_ref32 = 0, cos_ref_low = 0;
  const double cos = min_row_cosine (low, fp32, n, d, &diff);

  if (ref) {
    double unused;
    cos_ref32 = min_row_cosine (fp32, ref, n, d, &diff_ref);
    cos_ref_low = min_row_cosine (low, ref, n, d, &unused);
  }
  printf ("  %-26s %d rows: %s vs fp32 min cosine %.6f, max|diff| %.3g",
      what, n, tested_name, cos, diff);
  if (ref)
    printf ("; vs reference: fp32 %.8f, %s %.6f", cos_ref32, tested_name,
        cos_ref_low);
  printf ("\n");
  CHECK (cos >= bound, "%s: cosine %.6f < %.3f", what, cos, bound);
  CHECK (diff > 0, "%s: %s output equals fp32 bit for bit: %s did not run",
      what, tested_name, tested_name);
}

static void
golden_case (const char *golden, const char *name)
{
  char *dir = g_build_filename (golden, name, NULL);
  char *iopath = g_build_filename (dir, "io.safetensors", NULL);
  mc_tensor_file *io = NULL;
  mc_context *c32, *clow;
  mc_error err = { 0 };

  printf ("%s:\n", name);
  CHECK (mc_tensor_file_open (iopath, &io, &err) == MC_OK, "%s", err.message);
  c32 = load (dir, NULL, 0, MC_PRECISION_FP32);
  clow = load (dir, NULL, 0, tested);
  if (io && c32 && clow) {
    const mc_tensor_info *img = mc_tensor_file_find (io, "image");
    const mc_tensor_info *tok = mc_tensor_file_find (io, "text_tokens");
    const int d = mc_embed_dim (c32);
    const int n = (int) img->shape[0], h = (int) img->shape[2], w = (int) img->shape[3];
    const int nt = (int) tok->shape[0];
    float *px = mc_test_read_f32 (io, "image", NULL);
    float *ref = mc_test_read_f32 (io, "image_embedding", NULL);
    float *ref_t = mc_test_read_f32 (io, "text_embedding", NULL);
    float *e32 = g_new (float, (gsize) nt * d), *elow = g_new (float, (gsize) nt * d);

    CHECK (mc_encode_images (c32, px, MC_LAYOUT_NCHW, n, h, w, e32, &err) == MC_OK,
        "%s", err.message);
    CHECK (mc_encode_images (clow, px, MC_LAYOUT_NCHW, n, h, w, elow, &err) == MC_OK,
        "%s", err.message);
    compare (name, "image embeddings", elow, e32, ref, n, d);
    CHECK (mc_encode_texts (c32, tok->data, nt, e32, &err) == MC_OK, "%s", err.message);
    CHECK (mc_encode_texts (clow, tok->data, nt, elow, &err) == MC_OK, "%s", err.message);
    compare (name, "text embeddings", elow, e32, ref_t, nt, d);
    g_free (px);
    g_free (ref);
    g_free (ref_t);
    g_free (e32);
    g_free (elow);
  }
  mc_context_free (c32);
  mc_context_free (clow);
  mc_tensor_file_close (io);
  g_free (iopath);
  g_free (dir);
}

/* Full-size S0 with random weights (F16, like the hidden real case). */
static void
random_s0 (const char *golden)
{
  char *tsv = g_build_filename (golden, "..", "real", "mobileclip_s0.keys.tsv", NULL);
  char *tmpdir, *path;
  mc_error err = { 0 };
  mc_context *c32, *clow;

  if (!mc_path_exists (tsv)) {
    printf ("full-size S0: SKIPPED, %s not found\n", tsv);
    g_free (tsv);
    return;
  }
  tmpdir = g_dir_make_tmp ("mc-precision-s0-XXXXXX", NULL);
  path = g_build_filename (tmpdir, "s0_random_f16.safetensors", NULL);
  CHECK (mc_write_random_weights (tsv, "", MC_DTYPE_F16, 7, path, &err) == MC_OK,
      "%s", err.message);
  printf ("full-size S0, random weights:\n");
  c32 = load (path, "mobileclip_s0", MC_TOWER_ALL, MC_PRECISION_FP32);
  clow = load (path, "mobileclip_s0", MC_TOWER_ALL, tested);
  if (c32 && clow) {
    const int s = 256, d = mc_embed_dim (c32), nt = 3;
    float *img = g_new (float, (gsize) 2 * s * s * 3);
    float *e32 = g_new (float, (gsize) 3 * d), *elow = g_new (float, (gsize) 3 * d);
    int32_t ids[3 * MC_CONTEXT_LENGTH] = { 0 };

    /* a smooth image and a noisy one */
    for (int y = 0; y < s; y++)
      for (int x = 0; x < s; x++)
        for (int c = 0; c < 3; c++) {
          img[((size_t) y * s + x) * 3 + c] = 0.5f + 0.4f * sinf (0.05f * x + 0.07f * y + c);
          img[((size_t) (s + y) * s + x) * 3 + c] =
              (float) (((y * s + x) * 3 + c) * 7919 % 255) / 255.0f;
        }
    CHECK (mc_encode_images (c32, img, MC_LAYOUT_NHWC, 2, s, s, e32, &err) == MC_OK,
        "%s", err.message);
    CHECK (mc_encode_images (clow, img, MC_LAYOUT_NHWC, 2, s, s, elow, &err) == MC_OK,
        "%s", err.message);
    compare (NULL, "image embeddings 256x256", elow, e32, NULL, 2, d);

    /* "a photo of a dog", "a dog", and the empty prompt */
    {
      const int32_t rows[3][7] = {
        { 49406, 320, 1125, 539, 320, 1929, 49407 },
        { 49406, 320, 1929, 49407 },
        { 49406, 49407 },
      };
      for (int r = 0; r < nt; r++)
        for (int i = 0; i < 7; i++)
          ids[r * MC_CONTEXT_LENGTH + i] = rows[r][i];
    }
    CHECK (mc_encode_texts (c32, ids, nt, e32, &err) == MC_OK, "%s", err.message);
    CHECK (mc_encode_texts (clow, ids, nt, elow, &err) == MC_OK, "%s", err.message);
    compare (NULL, "text embeddings, 77 tokens", elow, e32, NULL, nt, d);
    g_free (img);
    g_free (e32);
    g_free (elow);
  }
  mc_context_free (c32);
  mc_context_free (clow);
  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (path);
  g_free (tmpdir);
  g_free (tsv);
}

#ifdef MC_TEST_VNNI_EMULATION
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_vnni_emulated;

/* The tiny golden cases with the int8 products of the AVX2 slot on the
 * VPDPBUSD kernel's code (VNNI emulated): every kernel computes the same
 * integers and shares the float epilogue, so the embeddings must equal the
 * default int8 kernel's (avx2-int8, or the real VPDPBUSD kernel on a VNNI
 * CPU) bit for bit. */
static void
golden_vnni_emulated (const char *golden)
{
  static const char *names[] = { "tiny_s0", "tiny_s1b" };
  mc_gemm_variant saved = mc_gemm_get_variant ();

  if (!mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    printf ("VNNI emulation: SKIPPED, this CPU has no AVX2\n");
    return;
  }
  mc_gemm_set_variant (MC_GEMM_AVX2);
  printf ("int8 on the VPDPBUSD kernel's code (emulated), against %s:\n",
      mc_gemm_kernel_name (MC_GEMM_INT8));
  for (size_t c = 0; c < G_N_ELEMENTS (names); c++) {
    char *dir = g_build_filename (golden, names[c], NULL);
    char *iopath = g_build_filename (dir, "io.safetensors", NULL);
    mc_tensor_file *io = NULL;
    mc_error err = { 0 };
    mc_context *ctx = load (dir, NULL, 0, MC_PRECISION_INT8);

    CHECK (mc_tensor_file_open (iopath, &io, &err) == MC_OK, "%s", err.message);
    if (io && ctx) {
      const mc_tensor_info *img = mc_tensor_file_find (io, "image");
      const mc_tensor_info *tok = mc_tensor_file_find (io, "text_tokens");
      const int d = mc_embed_dim (ctx);
      const int n = (int) img->shape[0], h = (int) img->shape[2], w = (int) img->shape[3];
      const int nt = (int) tok->shape[0];
      float *px = mc_test_read_f32 (io, "image", NULL);
      float *e[2][2];
      for (int k = 0; k < 2; k++) {
        e[k][0] = g_new0 (float, (gsize) n * d);
        e[k][1] = g_new0 (float, (gsize) nt * d);
        mc_gemm_int8_kernels_override (MC_GEMM_AVX2,
            k ? &mc_gemm_int8_kernels_vnni_emulated : NULL);
        CHECK (mc_encode_images (ctx, px, MC_LAYOUT_NCHW, n, h, w, e[k][0], &err)
            == MC_OK, "%s", err.message);
        CHECK (mc_encode_texts (ctx, tok->data, nt, e[k][1], &err) == MC_OK,
            "%s", err.message);
      }
      mc_gemm_int8_kernels_override (MC_GEMM_AVX2, NULL);
      printf ("  %s: image %s, text %s\n", names[c],
          memcmp (e[0][0], e[1][0], (size_t) n * d * 4) ? "DIFFER" : "bit-identical",
          memcmp (e[0][1], e[1][1], (size_t) nt * d * 4) ? "DIFFER" : "bit-identical");
      CHECK (!memcmp (e[0][0], e[1][0], (size_t) n * d * 4),
          "%s: image embeddings differ on the emulated VPDPBUSD kernel", names[c]);
      CHECK (!memcmp (e[0][1], e[1][1], (size_t) nt * d * 4),
          "%s: text embeddings differ on the emulated VPDPBUSD kernel", names[c]);
      for (int k = 0; k < 2; k++) {
        g_free (e[k][0]);
        g_free (e[k][1]);
      }
      g_free (px);
    }
    if (io)
      mc_tensor_file_close (io);
    mc_context_free (ctx);
    g_free (iopath);
    g_free (dir);
  }
  mc_gemm_set_variant (saved);
}
#endif

#ifdef MC_TEST_AMX_EMULATION
#include "../ops/amx_tile_model.h"
extern const mc_gemm_kernels mc_gemm_kernels_avx512_geometry;
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx_emulated;
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx_emulated;

/* The precision's TDPBF16PS or TDPBUSD modelled so far */
static long
amx_dp_count (void)
{
  return tested == MC_PRECISION_BF16 ? mc_amx_emulated_dp_count ()
      : mc_amx_emulated_dpbusd_count ();
}

/* The golden cases with the precision's products on its AMX kernel's code
 * (tile model), paired as in test_gemm_bf16 with the AVX-512 float
 * geometry on the AVX2 slot (32-column panels; the fp32 context runs that
 * geometry, so the embeddings are held to the bound, not compared with
 * the default kernel's bits). */
static void
golden_amx_emulated (const char *golden)
{
  const int bf16 = tested == MC_PRECISION_BF16;
  mc_gemm_variant saved = mc_gemm_get_variant ();
  long before;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    printf ("AMX kernel on the tile model: SKIPPED, no AVX2\n");
    return;
  }
  mc_gemm_set_variant (MC_GEMM_AVX2);
  mc_gemm_kernels_override (MC_GEMM_AVX2, &mc_gemm_kernels_avx512_geometry);
  if (bf16)
    mc_gemm_bf16_kernels_override (MC_GEMM_AVX2,
        &mc_gemm_bf16_kernels_amx_emulated);
  else
    mc_gemm_int8_kernels_override (MC_GEMM_AVX2,
        &mc_gemm_int8_kernels_amx_emulated);
  printf ("%s products on %s (AMX kernel, C model of the tiles):\n",
      tested_name, mc_gemm_kernel_name (tested_format));
  before = amx_dp_count ();
  golden_case (golden, "tiny_s0");
  golden_case (golden, "tiny_s1b");
  printf ("  %ld %s modelled\n", amx_dp_count () - before,
      bf16 ? "TDPBF16PS" : "TDPBUSD");
  CHECK (amx_dp_count () > before,
      "the models' %s products did not run on the AMX kernel", tested_name);
  CHECK (!mc_amx_emulated_configured (),
      "tiles left configured on the calling thread");
  mc_gemm_kernels_override (MC_GEMM_AVX2, NULL);
  mc_gemm_bf16_kernels_override (MC_GEMM_AVX2, NULL);
  mc_gemm_int8_kernels_override (MC_GEMM_AVX2, NULL);
  mc_gemm_set_variant (saved);
}
#endif

/* AUTO: bf16 exactly where the CPU has the instruction (never int8),
 * unless MOBILECLIP_PRECISION says otherwise, which may name the precision
 * under test; bad values are refused. */
static void
check_auto (const char *golden)
{
  char *dir = g_build_filename (golden, "tiny_s0", NULL);
  const mc_precision native = mc_gemm_bf16_native () ? MC_PRECISION_BF16
      : MC_PRECISION_FP32;
  const struct { const char *env; int want; } cases[] = {
    { NULL, -1 }, { "fp32", MC_PRECISION_FP32 }, { tested_name, tested },
    { "auto", -1 }, { "fp16", -2 }, { "int4", -2 },  /* -1: as the CPU, -2: refused */
  };
  char *saved = g_strdup (g_getenv ("MOBILECLIP_PRECISION"));
  mc_params p = mc_params_default ();
  mc_error err = { 0 };
  mc_context *ctx = NULL;

  CHECK (p.precision == MC_PRECISION_FP32, "default precision %d", p.precision);
  p.precision = MC_PRECISION_AUTO;
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
    mc_status st;
    if (cases[i].env)
      g_setenv ("MOBILECLIP_PRECISION", cases[i].env, TRUE);
    else
      g_unsetenv ("MOBILECLIP_PRECISION");
    st = mc_context_load (dir, &p, &ctx, &err);
    if (cases[i].want == -2) {
      CHECK (st == MC_ERR_INVALID_ARGUMENT, "MOBILECLIP_PRECISION=%s accepted",
          cases[i].env);
      printf ("auto, MOBILECLIP_PRECISION=%s → %s\n", cases[i].env, err.message);
    } else {
      const mc_precision want = cases[i].want < 0 ? native
          : (mc_precision) cases[i].want;
      CHECK (st == MC_OK && mc_context_precision (ctx) == want,
          "auto with MOBILECLIP_PRECISION=%s: %s", cases[i].env ? cases[i].env
          : "(unset)", st == MC_OK ? mc_precision_name (mc_context_precision (ctx))
          : err.message);
      printf ("auto, MOBILECLIP_PRECISION=%s → %s\n",
          cases[i].env ? cases[i].env : "(unset)",
          ctx ? mc_precision_name (mc_context_precision (ctx)) : "error");
    }
    mc_context_free (ctx);
    ctx = NULL;
  }
  /* the variable only decides AUTO */
  g_setenv ("MOBILECLIP_PRECISION", tested_name, TRUE);
  p.precision = MC_PRECISION_FP32;
  CHECK (mc_context_load (dir, &p, &ctx, &err) == MC_OK
      && mc_context_precision (ctx) == MC_PRECISION_FP32,
      "explicit fp32 overridden by the environment");
  mc_context_free (ctx);
  ctx = NULL;
  /* the first value past the last precision, and a far one */
  p.precision = (mc_precision) (MC_PRECISION_INT8 + 1);
  CHECK (mc_context_load (dir, &p, &ctx, &err) == MC_ERR_INVALID_ARGUMENT && !ctx,
      "precision %d accepted", (int) p.precision);
  printf ("precision %d → %s\n", (int) p.precision, err.message);
  p.precision = (mc_precision) 7;
  CHECK (mc_context_load (dir, &p, &ctx, &err) == MC_ERR_INVALID_ARGUMENT && !ctx,
      "precision 7 accepted");
  if (saved)
    g_setenv ("MOBILECLIP_PRECISION", saved, TRUE);
  else
    g_unsetenv ("MOBILECLIP_PRECISION");
  for (int i = MC_PRECISION_FP32; i <= MC_PRECISION_INT8; i++)
    CHECK (mc_precision_from_name (mc_precision_name ((mc_precision) i)) == i,
        "precision %d: name %s does not name it", i,
        mc_precision_name ((mc_precision) i));
  CHECK (mc_precision_from_name ("bf16") == MC_PRECISION_BF16
      && mc_precision_from_name ("int8") == MC_PRECISION_INT8
      && mc_precision_from_name ("int4") == -1
      && mc_precision_from_name (NULL) == -1, "precision names");
  g_free (saved);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  const int p = argc == 2 ? mc_precision_from_name (argv[1]) : -1;
  const char *golden;
  char *name;
  int rc;

  if (p != MC_PRECISION_BF16 && p != MC_PRECISION_INT8) {
    fprintf (stderr, "usage: %s bf16|int8\n", argv[0]);
    return 1;
  }
  tested = (mc_precision) p;
  tested_name = mc_precision_name (tested);
  tested_format = tested == MC_PRECISION_BF16 ? MC_GEMM_BF16 : MC_GEMM_INT8;
  if (!(golden = mc_test_golden_dir ()))
    return MC_TEST_SKIP;
  printf ("%s products run on: %s\n", tested_name,
      mc_gemm_kernel_name (tested_format));
  check_auto (golden);
  golden_case (golden, "tiny_s0");
  golden_case (golden, "tiny_s1b");

#ifdef MC_TEST_VNNI_EMULATION
  if (tested == MC_PRECISION_INT8)
    golden_vnni_emulated (golden);
#endif
#ifdef MC_TEST_AMX_EMULATION
  golden_amx_emulated (golden);
#endif
  random_s0 (golden);
  name = g_strdup_printf ("%s-golden", tested_name);
  rc = mc_test_finish (name);
  g_free (name);
  return rc;
}
