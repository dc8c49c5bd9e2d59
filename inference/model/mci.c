/* mci.c — the MCi image encoder as a plan of folded ops (see mci.h).
 *
 * The plan is a flat list of layers; the forward pass walks it over three
 * channels-last buffers (current map, next map, a temporary of the same size)
 * and one buffer for the widest qkv activation; a ConvFFN runs by bands of
 * rows in per-worker scratch, or, on maps with no more bands than threads,
 * as ops split over the pool.
 */
#include "mci.h"

#include <glib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fold.h"
#include "model/profile.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/se.h"
#include "runtime/error.h"

typedef enum {
  LAYER_CONV,        /* direct conv (+ optional SE) + activation */
  LAYER_POINTWISE,   /* 1×1 conv as GEMM + activation */
  LAYER_REPMIXER,    /* RepMixer block: folded mixer conv, then ConvFFN */
  LAYER_ATTENTION,   /* attention block: MHSA, then ConvFFN */
} layer_kind;

typedef struct {
  mc_conv dw;          /* depthwise k×k with the following BN folded in */
  mc_packed_b fc1, fc2;  /* fc2 carries the block's layer scale */
  float *b1, *b2;
  int hidden;
} conv_ffn;

typedef struct {
  layer_kind kind;
  const char *tap;     /* name of the reference module this layer ends */
  int cin, cout, stride;
  mc_act act;
  /* LAYER_CONV */
  mc_conv conv;
  int has_se;
  mc_se se;
  /* LAYER_POINTWISE */
  mc_packed_b pw;
  float *pw_bias;
  /* blocks */
  mc_conv mixer;
  mc_packed_b qkv, proj;   /* proj carries layer_scale_1 */
  float *qkv_bias, *proj_bias;
  int heads;
  conv_ffn ffn;
} layer;

struct mc_mci {
  mc_mci_config cfg;
  int embed_dim;
  int final_dim;
  GArray *layers;          /* of layer */
  mc_packed_b head;        /* [final_dim, embed_dim] */
  /* planned buffers: maps and hidden activations for up to plan_n images
   * (image b's part at b × the per-image size), scratch for each of
   * plan_threads workers */
  int plan_n, plan_h, plan_w, plan_threads;
  float *buf[3];
  float *hidden;
  float *scratch;          /* SE and attention scratch */
  float *pooled;
  size_t map_per_image, hidden_per_image, scratch_per_worker;
  float *ffn_scratch;      /* per worker: one band's dw output and hidden */
  size_t ffn_per_worker;
  mc_profile_entry *worker_profile;   /* N_FAMILIES per worker */
  mc_mci_tap tap;
  void *tap_user;
  mc_profile_entry *profile;   /* indexed by op_family, or NULL */
};

/* Families for the profile, in mc_profile_entry order. */
enum { FAM_CONV, FAM_DEPTHWISE, FAM_GEMM, FAM_ATTENTION, FAM_SE, FAM_POOL, N_FAMILIES };
static const char *family_names[N_FAMILIES] = {
  "conv", "depthwise", "gemm", "attention", "se", "pool",
};

/* ---- building ----------------------------------------------------------- */

typedef struct {
  mc_weights *w;
  const mc_mci_config *cfg;
  mc_error *err;
  int oom;
} builder;

static float *
float_dup (const float *src, size_t n)
{
  float *p = malloc ((n ? n : 1) * sizeof (float));
  if (p)
    memcpy (p, src, n * sizeof (float));
  return p;
}

static int
make_divisible (double v, int divisor)
{
  /* timm's rule: round to the nearest multiple, never below 90 % of v */
  int nv = (int) (v + divisor / 2.0) / divisor * divisor;
  if (nv < divisor)
    nv = divisor;
  if (nv < 0.9 * v)
    nv += divisor;
  return nv;
}

static void
build_conv_layer (builder *b, layer *L, mc_kernel *k, int groups, int stride, int pad)
{
  if (mc_kernel_to_conv (k, &L->conv, groups, stride, pad) != 0)
    b->oom = 1;
  L->kind = LAYER_CONV;
  L->cin = k->cig * groups;
  L->cout = k->cout;
  L->stride = stride;
}

static void
build_pointwise_layer (builder *b, layer *L, mc_kernel *k, mc_act act)
{
  float *w = malloc ((size_t) k->cout * k->cig * sizeof (float));
  L->pw_bias = malloc ((size_t) k->cout * sizeof (float));
  if (!w || !L->pw_bias) {
    b->oom = 1;
    free (w);
    return;
  }
  mc_kernel_to_matrix (k, w, L->pw_bias);
  if (mc_pack_b_from_nk (&L->pw, w, k->cout, k->cig, NULL) != 0)
    b->oom = 1;
  free (w);
  L->kind = LAYER_POINTWISE;
  L->cin = k->cig;
  L->cout = k->cout;
  L->stride = 1;
  L->act = act;
}

/* SE weights stored as 1×1 convs "<name>.<w1>.weight" [rd, c, 1, 1] etc. */
static void
build_se (builder *b, layer *L, const char *name, const char *n1, const char *n2, int c, int rd)
{
  const float *w1 = mc_weights_get (b->w, MC_SHAPE (rd, c, 1, 1), "%s.%s.weight", name, n1);
  const float *b1 = mc_weights_get (b->w, MC_SHAPE (rd), "%s.%s.bias", name, n1);
  const float *w2 = mc_weights_get (b->w, MC_SHAPE (c, rd, 1, 1), "%s.%s.weight", name, n2);
  const float *b2 = mc_weights_get (b->w, MC_SHAPE (c), "%s.%s.bias", name, n2);
  if (mc_se_init (&L->se, c, rd, w1, b1, w2, b2) != 0)
    b->oom = 1;
  L->has_se = 1;
}

static void
add_stem (builder *b, GArray *layers)
{
  const mc_mci_config *cfg = b->cfg;
  const int c0 = cfg->embed_dims[0], nb = cfg->num_conv_branches;
  layer L;
  mc_kernel k;

  /* 3×3 stride 2, 3 → c0, conv + 1×1 scale branches */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, c0, 3, 3, 3);
  mc_kernel_add_mobileone (&k, b->w, "patch_embed.0", nb, 1, 0, cfg->bn_eps);
  build_conv_layer (b, &L, &k, 1, 2, 1);
  L.act = MC_ACT_GELU;
  mc_kernel_free (&k);
  g_array_append_val (layers, L);

  /* 3×3 depthwise stride 2 */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, c0, 1, 3, 3);
  mc_kernel_add_mobileone (&k, b->w, "patch_embed.1", nb, 1, 0, cfg->bn_eps);
  build_conv_layer (b, &L, &k, c0, 2, 1);
  L.act = MC_ACT_GELU;
  mc_kernel_free (&k);
  g_array_append_val (layers, L);

  /* 1×1, conv + BN skip */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, c0, c0, 1, 1);
  mc_kernel_add_mobileone (&k, b->w, "patch_embed.2", nb, 0, 1, cfg->bn_eps);
  build_pointwise_layer (b, &L, &k, MC_ACT_GELU);
  L.tap = "stem";
  mc_kernel_free (&k);
  g_array_append_val (layers, L);
}

static void
build_ffn (builder *b, conv_ffn *f, const char *name, int c, float mlp_ratio,
    const float *layer_scale)
{
  const mc_mci_config *cfg = b->cfg;
  const int ks = cfg->conv_ffn_kernel_size;
  const int hidden = (int) (c * mlp_ratio);
  char sub[256];
  mc_kernel k;
  mc_bn bn;
  const float *dw, *w1, *b1, *w2, *b2;

  f->hidden = hidden;
  /* depthwise conv (no bias) followed by BN: folded into one conv */
  mc_kernel_init (&k, c, 1, ks, ks);
  dw = mc_weights_get (b->w, MC_SHAPE (c, 1, ks, ks), "%s.convffn.conv.conv.weight", name);
  snprintf (sub, sizeof sub, "%s.convffn.conv.bn", name);
  mc_bn_read (b->w, &bn, c, cfg->bn_eps, sub);
  mc_kernel_add_conv_bn (&k, dw, ks, ks, &bn, 1.0);
  if (mc_kernel_to_conv (&k, &f->dw, c, 1, ks / 2) != 0)
    b->oom = 1;
  mc_kernel_free (&k);

  w1 = mc_weights_get (b->w, MC_SHAPE (hidden, c, 1, 1), "%s.convffn.fc1.weight", name);
  b1 = mc_weights_get (b->w, MC_SHAPE (hidden), "%s.convffn.fc1.bias", name);
  w2 = mc_weights_get (b->w, MC_SHAPE (c, hidden, 1, 1), "%s.convffn.fc2.weight", name);
  b2 = mc_weights_get (b->w, MC_SHAPE (c), "%s.convffn.fc2.bias", name);
  if (mc_pack_b_from_nk (&f->fc1, w1, hidden, c, NULL) != 0
      || mc_pack_b_from_nk (&f->fc2, w2, c, hidden, layer_scale) != 0)
    b->oom = 1;
  f->b1 = float_dup (b1, (size_t) hidden);
  f->b2 = float_dup (b2, (size_t) c);
  if (!f->b1 || !f->b2)
    b->oom = 1;
  else if (layer_scale)
    for (int i = 0; i < c; i++)
      f->b2[i] *= layer_scale[i];
}

static const float *
layer_scale (builder *b, int c, const char *fmt, const char *name)
{
  if (!b->cfg->use_layer_scale)
    return NULL;
  return mc_weights_get (b->w, MC_SHAPE (c, 1, 1), fmt, name);
}

static void
add_repmixer_block (builder *b, GArray *layers, const char *name, int c, float mlp_ratio)
{
  const mc_mci_config *cfg = b->cfg;
  const int ks = cfg->repmixer_kernel_size;
  char sub[256];
  mc_kernel mix, norm;
  const float *ls_tm, *ls;
  layer L;

  memset (&L, 0, sizeof L);
  L.kind = LAYER_REPMIXER;
  L.cin = L.cout = c;
  L.stride = 1;

  /* x + ls·(mixer(x) − norm(x)) = one depthwise conv: id + ls·(Wmix − Wnorm) */
  mc_kernel_init (&mix, c, 1, ks, ks);
  mc_kernel_init (&norm, c, 1, ks, ks);
  snprintf (sub, sizeof sub, "%s.token_mixer.mixer", name);
  mc_kernel_add_mobileone (&mix, b->w, sub, cfg->num_conv_branches, ks > 1, 1, cfg->bn_eps);
  snprintf (sub, sizeof sub, "%s.token_mixer.norm", name);
  mc_kernel_add_mobileone (&norm, b->w, sub, 0, 0, 1, cfg->bn_eps);
  ls_tm = layer_scale (b, c, "%s.token_mixer.layer_scale", name);
  {
    const size_t per = (size_t) ks * ks;
    for (int o = 0; o < c; o++) {
      const double s = ls_tm ? ls_tm[o] : 1.0;
      for (size_t j = 0; j < per; j++)
        mix.w[o * per + j] = s * (mix.w[o * per + j] - norm.w[o * per + j]);
      mix.b[o] = s * (mix.b[o] - norm.b[o]);
    }
  }
  mc_kernel_add_identity (&mix);
  if (mc_kernel_to_conv (&mix, &L.mixer, c, 1, ks / 2) != 0)
    b->oom = 1;
  mc_kernel_free (&mix);
  mc_kernel_free (&norm);

  ls = layer_scale (b, c, "%s.layer_scale", name);
  build_ffn (b, &L.ffn, name, c, mlp_ratio, ls);
  g_array_append_val (layers, L);
}

static void
add_attention_block (builder *b, GArray *layers, const char *name, int c, float mlp_ratio)
{
  const mc_mci_config *cfg = b->cfg;
  char sub[256];
  mc_bn bn;
  const float *wqkv, *bqkv = NULL, *wproj, *bproj, *ls1, *ls2;
  float *wq, *bq;
  layer L;

  memset (&L, 0, sizeof L);
  L.kind = LAYER_ATTENTION;
  L.cin = L.cout = c;
  L.stride = 1;
  L.heads = c / cfg->head_dim;

  /* qkv(BN(x)) = (W·diag(s))·x + (W·t + b): the pre-norm folds into qkv */
  snprintf (sub, sizeof sub, "%s.norm", name);
  mc_bn_read (b->w, &bn, c, cfg->bn_eps, sub);
  wqkv = mc_weights_get (b->w, MC_SHAPE (3 * c, c), "%s.token_mixer.qkv.weight", name);
  if (cfg->qkv_bias)
    bqkv = mc_weights_get (b->w, MC_SHAPE (3 * c), "%s.token_mixer.qkv.bias", name);
  wq = malloc ((size_t) 3 * c * c * sizeof (float));
  bq = malloc ((size_t) 3 * c * sizeof (float));
  if (!wq || !bq) {
    b->oom = 1;
  } else {
    for (int o = 0; o < 3 * c; o++) {
      double acc = bqkv ? bqkv[o] : 0.0;
      for (int i = 0; i < c; i++) {
        double s, t;
        mc_bn_affine (&bn, i, &s, &t);
        wq[(size_t) o * c + i] = (float) (wqkv[(size_t) o * c + i] * s);
        acc += wqkv[(size_t) o * c + i] * t;
      }
      bq[o] = (float) acc;
    }
    /* float under int8 (mc_gemm_sensitive_format).  Measured on tiny_s0,
     * whose stage 4 attends over 4 tokens (int8 vs fp32 image cosine, the
     * worse of its 2 images): int8 in qkv alone 0.99950, in any other single
     * product ≥ 0.99989; everything int8 but qkv 0.99985 (0.99889 with it).
     * On MCi0 at 256² qkv is 4 % of the MACs. */
    const mc_gemm_format f = mc_gemm_set_pack_format (mc_gemm_sensitive_format ());
    if (mc_pack_b_from_nk (&L.qkv, wq, 3 * c, c, NULL) != 0)
      b->oom = 1;
    mc_gemm_set_pack_format (f);
  }
  free (wq);
  L.qkv_bias = bq;

  wproj = mc_weights_get (b->w, MC_SHAPE (c, c), "%s.token_mixer.proj.weight", name);
  bproj = mc_weights_get (b->w, MC_SHAPE (c), "%s.token_mixer.proj.bias", name);
  ls1 = layer_scale (b, c, "%s.layer_scale_1", name);
  if (mc_pack_b_from_nk (&L.proj, wproj, c, c, ls1) != 0)
    b->oom = 1;
  L.proj_bias = float_dup (bproj, (size_t) c);
  if (!L.proj_bias)
    b->oom = 1;
  else if (ls1)
    for (int i = 0; i < c; i++)
      L.proj_bias[i] *= ls1[i];

  ls2 = layer_scale (b, c, "%s.layer_scale_2", name);
  build_ffn (b, &L.ffn, name, c, mlp_ratio, ls2);
  g_array_append_val (layers, L);
}

static void
add_rpce (builder *b, GArray *layers, const char *name, int c)
{
  const int kh = b->cfg->rpce_kernel[0], kw = b->cfg->rpce_kernel[1];
  const float *w = mc_weights_get (b->w, MC_SHAPE (c, 1, kh, kw), "%s.pe.weight", name);
  const float *bias = mc_weights_get (b->w, MC_SHAPE (c), "%s.pe.bias", name);
  mc_kernel k;
  layer L;

  /* x + pe(x): the identity joins the kernel centre */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, c, 1, kh, kw);
  mc_kernel_add_conv (&k, w, kh, kw, bias, 1.0);
  mc_kernel_add_identity (&k);
  build_conv_layer (b, &L, &k, c, 1, kh / 2);
  L.act = MC_ACT_NONE;
  L.tap = name;
  mc_kernel_free (&k);
  g_array_append_val (layers, L);
}

static void
add_downsample (builder *b, GArray *layers, const char *name, int cin, int cout, int use_se)
{
  const mc_mci_config *cfg = b->cfg;
  const int ks = cfg->down_patch_size, sk = cfg->down_small_kernel;
  const int cig = 1;   /* groups = cin */
  char sub[256];
  mc_kernel k;
  mc_bn bn;
  layer L;
  const float *w;

  if (cout % cin)
    return;   /* checked by the caller */
  /* ReparamLargeKernelConv: BN(conv k×k) + BN(conv small), grouped by cin */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, cout, cig, ks, ks);
  w = mc_weights_get (b->w, MC_SHAPE (cout, cig, ks, ks), "%s.proj.0.lkb_origin.conv.weight", name);
  snprintf (sub, sizeof sub, "%s.proj.0.lkb_origin.bn", name);
  mc_bn_read (b->w, &bn, cout, cfg->bn_eps, sub);
  mc_kernel_add_conv_bn (&k, w, ks, ks, &bn, 1.0);
  w = mc_weights_get (b->w, MC_SHAPE (cout, cig, sk, sk), "%s.proj.0.small_conv.conv.weight", name);
  snprintf (sub, sizeof sub, "%s.proj.0.small_conv.bn", name);
  mc_bn_read (b->w, &bn, cout, cfg->bn_eps, sub);
  mc_kernel_add_conv_bn (&k, w, sk, sk, &bn, 1.0);
  build_conv_layer (b, &L, &k, cin, cfg->down_stride, ks / 2);
  L.act = MC_ACT_GELU;
  mc_kernel_free (&k);
  if (use_se) {
    int rd = make_divisible (cout * cfg->se_downsample_rd_ratio, cfg->se_downsample_rd_divisor);
    snprintf (sub, sizeof sub, "%s.proj.0.se", name);
    build_se (b, &L, sub, "fc1", "fc2", cout, rd);
  }
  g_array_append_val (layers, L);

  /* 1×1 MobileOne block with BN skip */
  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, cout, cout, 1, 1);
  snprintf (sub, sizeof sub, "%s.proj.1", name);
  mc_kernel_add_mobileone (&k, b->w, sub, cfg->num_conv_branches, 0, 1, cfg->bn_eps);
  build_pointwise_layer (b, &L, &k, MC_ACT_GELU);
  L.tap = name;
  mc_kernel_free (&k);
  g_array_append_val (layers, L);
}

static void
add_conv_exp (builder *b, GArray *layers, int cin, int cout)
{
  const mc_mci_config *cfg = b->cfg;
  mc_kernel k;
  layer L;

  memset (&L, 0, sizeof L);
  mc_kernel_init (&k, cout, 1, 3, 3);
  mc_kernel_add_mobileone (&k, b->w, "conv_exp", cfg->num_conv_branches, 1, 0, cfg->bn_eps);
  build_conv_layer (b, &L, &k, cin, 1, 1);
  L.act = MC_ACT_GELU;
  L.tap = "conv_exp";
  mc_kernel_free (&k);
  if (cfg->conv_exp_use_se)
    build_se (b, &L, "conv_exp.se", "reduce", "expand", cout,
        (int) (cout * cfg->conv_exp_se_rd_ratio));
  g_array_append_val (layers, L);
}

static void
free_layer (layer *L)
{
  mc_conv_free (&L->conv);
  if (L->has_se)
    mc_se_free (&L->se);
  mc_packed_b_free (&L->pw);
  free (L->pw_bias);
  mc_conv_free (&L->mixer);
  mc_packed_b_free (&L->qkv);
  mc_packed_b_free (&L->proj);
  free (L->qkv_bias);
  free (L->proj_bias);
  mc_conv_free (&L->ffn.dw);
  mc_packed_b_free (&L->ffn.fc1);
  mc_packed_b_free (&L->ffn.fc2);
  free (L->ffn.b1);
  free (L->ffn.b2);
}

static char *
tap_name (int idx)
{
  return g_strdup_printf ("network.%d", idx);
}

/* Each product's weights name the product the forward runs next
 * (mc_packed_b.next, a prefetch hint): the layers' pointwise convs, their
 * blocks' qkv, proj, fc1 and fc2 in that order, then the head.  Done once
 * the layer array is complete (appending moves its elements). */
static void
chain_products (mc_mci *m)
{
  mc_packed_b *prev = NULL;
  for (guint i = 0; i < m->layers->len; i++) {
    layer *L = &g_array_index (m->layers, layer, i);
    switch (L->kind) {
      case LAYER_CONV:
        break;
      case LAYER_POINTWISE:
        mc_packed_b_chain (&prev, &L->pw);
        break;
      case LAYER_ATTENTION:
        mc_packed_b_chain (&prev, &L->qkv);
        mc_packed_b_chain (&prev, &L->proj);
        mc_packed_b_chain (&prev, &L->ffn.fc1);
        mc_packed_b_chain (&prev, &L->ffn.fc2);
        break;
      case LAYER_REPMIXER:
        mc_packed_b_chain (&prev, &L->ffn.fc1);
        mc_packed_b_chain (&prev, &L->ffn.fc2);
        break;
    }
  }
  mc_packed_b_chain (&prev, &m->head);
}

mc_status
mc_mci_build (const mc_mci_config *cfg, int embed_dim, mc_weights *w,
    mc_mci **out, mc_error *err)
{
  mc_mci *m = g_new0 (mc_mci, 1);
  builder b = { w, cfg, err, 0 };
  const int ns = cfg->n_stages;
  int idx = 0;
  mc_status st;

  *out = NULL;
  m->cfg = *cfg;
  m->embed_dim = embed_dim;
  m->layers = g_array_new (FALSE, TRUE, sizeof (layer));
  m->final_dim = (int) (cfg->embed_dims[ns - 1] * cfg->cls_ratio);

  for (int i = 0; i + 1 < ns; i++)
    if ((cfg->downsamples[i] || cfg->embed_dims[i] != cfg->embed_dims[i + 1])
        && cfg->embed_dims[i + 1] % cfg->embed_dims[i]) {
      mc_mci_free (m);
      return mc_err (err, MC_ERR_CONFIG,
          "%s: embed_dims[%d] = %d is not a multiple of embed_dims[%d] = %d (grouped downsample)",
          "image_cfg", i + 1, cfg->embed_dims[i + 1], i, cfg->embed_dims[i]);
    }
  if (m->final_dim % cfg->embed_dims[ns - 1]) {
    mc_mci_free (m);
    return mc_err (err, MC_ERR_CONFIG, "image_cfg: cls_ratio must make conv_exp's output a multiple of its input");
  }

  add_stem (&b, m->layers);
  for (int i = 0; i < ns; i++) {
    const int c = cfg->embed_dims[i];
    char name[64];
    if (cfg->pos_embs[i]) {
      snprintf (name, sizeof name, "network.%d", idx);
      add_rpce (&b, m->layers, g_intern_string (name), c);
      idx++;
    }
    for (int blk = 0; blk < cfg->layers[i]; blk++) {
      snprintf (name, sizeof name, "network.%d.%d", idx, blk);
      if (cfg->token_mixers[i] == MC_MIXER_REPMIXER)
        add_repmixer_block (&b, m->layers, name, c, cfg->mlp_ratios[i]);
      else
        add_attention_block (&b, m->layers, name, c, cfg->mlp_ratios[i]);
    }
    if (cfg->layers[i] > 0) {
      char *t = tap_name (idx);
      g_array_index (m->layers, layer, m->layers->len - 1).tap = g_intern_string (t);
      g_free (t);
    }
    idx++;
    if (i + 1 >= ns)
      break;
    if (cfg->downsamples[i] || c != cfg->embed_dims[i + 1]) {
      snprintf (name, sizeof name, "network.%d", idx);
      add_downsample (&b, m->layers, g_intern_string (name), c, cfg->embed_dims[i + 1],
          cfg->se_downsamples[i + 1]);
      idx++;
    }
  }
  add_conv_exp (&b, m->layers, cfg->embed_dims[ns - 1], m->final_dim);
  {
    const float *proj = mc_weights_get (w, MC_SHAPE (m->final_dim, embed_dim), "head.proj");
    const mc_gemm_format f = mc_gemm_set_pack_format (mc_gemm_sensitive_format ());
    if (mc_pack_b_from_kn (&m->head, proj, m->final_dim, embed_dim) != 0)
      b.oom = 1;
    mc_gemm_set_pack_format (f);
  }

  st = mc_weights_status (w);
  if (st == MC_OK && b.oom)
    st = mc_err (err, MC_ERR_NOMEM, "out of memory while building the image encoder");
  if (st != MC_OK) {
    mc_mci_free (m);
    return st;
  }
  chain_products (m);
  *out = m;
  return MC_OK;
}

static void
release_plan (mc_mci *m)
{
  for (int i = 0; i < 3; i++) {
    free (m->buf[i]);
    m->buf[i] = NULL;
  }
  free (m->hidden);
  free (m->scratch);
  free (m->pooled);
  g_free (m->worker_profile);
  m->worker_profile = NULL;
  free (m->ffn_scratch);
  m->ffn_scratch = NULL;
  m->hidden = m->scratch = m->pooled = NULL;
  m->plan_n = m->plan_h = m->plan_w = m->plan_threads = 0;
}

void
mc_mci_free (mc_mci *m)
{
  if (!m)
    return;
  for (guint i = 0; m->layers && i < m->layers->len; i++)
    free_layer (&g_array_index (m->layers, layer, i));
  if (m->layers)
    g_array_free (m->layers, TRUE);
  mc_packed_b_free (&m->head);
  release_plan (m);
  g_free (m);
}

void
mc_mci_set_profile (mc_mci *m, mc_profile_entry *entries)
{
  m->profile = entries;
  if (entries)
    mc_profile_reset (entries, family_names, N_FAMILIES);
}

void
mc_mci_set_tap (mc_mci *m, mc_mci_tap tap, void *user)
{
  m->tap = tap;
  m->tap_user = user;
}

/* ---- shapes, plan and MACs ---------------------------------------------- */

static void
layer_out_size (const layer *L, int h, int w, int *ho, int *wo)
{
  if (L->kind == LAYER_CONV) {
    *ho = mc_conv_out_size (h, L->conv.kh, L->conv.stride_h, L->conv.pad_h);
    *wo = mc_conv_out_size (w, L->conv.kw, L->conv.stride_w, L->conv.pad_w);
  } else {
    *ho = h;
    *wo = w;
  }
}

typedef struct {
  size_t map, hidden, scratch;
  size_t ffn;          /* one worker's band of the fused ConvFFN */
  int64_t macs;
} plan_sizes;

/* The most rows any thread gets when n images of h rows, cut into bands of
 * `rows` (the last band of each image shorter), are split as
 * mc_parallel_for splits items: contiguous chunks of ceil(items/threads). */
static int64_t
busiest_thread_rows (int h, int rows, int n, int n_threads)
{
  const int64_t bands = (h + rows - 1) / rows, items = (int64_t) n * bands;
  const int64_t chunks = MIN (items, (int64_t) n_threads);
  const int64_t chunk = (items + chunks - 1) / chunks;
  const int64_t short_by = bands * rows - h;   /* rows missing from a last band */
  int64_t most = 0;

  for (int64_t a = 0; a < items; a += chunk) {
    const int64_t b = MIN (items, a + chunk);
    /* items k in [a, b) with k % bands == bands - 1 are last bands */
    const int64_t lasts = b / bands - a / bands;
    most = MAX (most, (b - a) * rows - lasts * short_by);
  }
  return most;
}

/* Rows per band of the fused ConvFFN.  At most as many as keep a band's
 * hidden activations within 256 KiB (they stay in L2 between fc1 and fc2;
 * 128 KiB to 1 MiB measured alike on Zen 3), or, where that is more, as
 * make a band of FFN_MIN_BAND_PIXELS: each band reads all of fc1's and
 * fc2's weights (3 MiB each in MCi0's stage 4, where bands of 40 and 24
 * pixels ran the products at 60-80 GFLOP/s against 90-100 for one of 64;
 * 2.4 MiB together in MCi2's stage 3, more than L2, where one band of 256
 * pixels ran 1.03-1.04 times as fast on 1 thread as four of 64).
 * Among those, the one that gives the busiest thread the fewest rows (bands
 * are split over the threads in contiguous chunks: 64 rows in bands of 5
 * gave one of two threads 35 rows where bands of 4 give 32), then the
 * fewest bands, then the largest last band (16 rows as 4 × 4, not 5, 5, 5
 * and a band of one row, which reads the weights for 16 pixels). */
#define FFN_MIN_BAND_PIXELS 256

static int
ffn_band_rows (int h, int w, int hidden, int n, int n_threads)
{
  const size_t budget = 256 * 1024;
  const int by_budget = (int) (budget / ((size_t) w * hidden * sizeof (float)));
  const int by_pixels = (FFN_MIN_BAND_PIXELS + w - 1) / w;
  const int most = CLAMP (MAX (by_budget, by_pixels), 1, h);
  int best = 0, best_bands = 0, best_last = 0;
  int64_t best_load = 0;

  for (int rows = most; rows >= 1; rows--) {
    const int64_t load = busiest_thread_rows (h, rows, n, n_threads);
    const int bands = (h + rows - 1) / rows, last = h - (bands - 1) * rows;
    if (!best || load < best_load
        || (load == best_load && (bands < best_bands
            || (bands == best_bands && last > best_last)))) {
      best = rows;
      best_load = load;
      best_bands = bands;
      best_last = last;
    }
  }
  return best;
}

static void
walk (const mc_mci *m, int n, int h, int w, int n_threads, plan_sizes *ps)
{
  size_t hw;
  memset (ps, 0, sizeof *ps);
  ps->map = (size_t) n * h * w * 3;
  for (guint i = 0; i < m->layers->len; i++) {
    const layer *L = &g_array_index (m->layers, layer, i);
    int ho, wo;
    layer_out_size (L, h, w, &ho, &wo);
    hw = (size_t) ho * wo;
    ps->map = MAX (ps->map, (size_t) n * hw * L->cout);
    switch (L->kind) {
      case LAYER_CONV:
        ps->macs += (int64_t) hw * L->cout * (L->cin / L->conv.groups) * L->conv.kh * L->conv.kw;
        if (L->has_se) {
          ps->scratch = MAX (ps->scratch, (size_t) L->se.c + L->se.rd);
          ps->macs += 2 * (int64_t) L->se.c * L->se.rd;
        }
        break;
      case LAYER_POINTWISE:
        ps->macs += (int64_t) hw * L->cin * L->cout;
        break;
      case LAYER_REPMIXER:
      case LAYER_ATTENTION:
        if (L->kind == LAYER_REPMIXER) {
          ps->macs += (int64_t) hw * L->cout * L->mixer.kh * L->mixer.kw;
        } else {
          const int c = L->cout, d = c / L->heads;
          ps->hidden = MAX (ps->hidden, (size_t) n * hw * 3 * c);
          ps->scratch = MAX (ps->scratch, mc_attention_scratch_size ((int) hw, d, n_threads));
          ps->macs += (int64_t) hw * c * 3 * c + 2 * (int64_t) hw * hw * c + (int64_t) hw * c * c;
        }
        ps->ffn = MAX (ps->ffn, (size_t) ffn_band_rows (ho, wo, L->ffn.hidden, 1 << 20, 1)
            * wo * (L->cout + L->ffn.hidden));
        ps->macs += (int64_t) hw * L->cout * L->ffn.dw.kh * L->ffn.dw.kw
            + 2 * (int64_t) hw * L->cout * L->ffn.hidden;
        break;
    }
    h = ho;
    w = wo;
  }
  ps->macs += (int64_t) m->final_dim * m->embed_dim;
}

int64_t
mc_mci_macs (const mc_mci *m, int size)
{
  plan_sizes ps;
  walk (m, 1, size, size, 1, &ps);
  return ps.macs;
}

/* Planned buffers start on a cache line: malloc's large blocks start 16
 * bytes past a page, which splits every other 32-byte vector load of a
 * kernel across two lines. */
static float *
plan_alloc (size_t n_floats)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, (n_floats ? n_floats : 1) * sizeof (float)))
    return NULL;
  return p;
}

static mc_status
plan (mc_mci *m, int n, int h, int w, int n_threads, mc_error *err)
{
  plan_sizes ps;
  /* a smaller batch reuses a larger one's buffers: a caller alternating
   * batch sizes (a last short batch, --versus-batch) would otherwise free
   * and fault in tens of MiB every forward (batch 4 against batch 1, pairs
   * alternating on 2 threads: 93.6 ms a batch-4 forward against 69.6 alone) */
  if (m->plan_n >= n && m->plan_h == h && m->plan_w == w && m->plan_threads == n_threads)
    return MC_OK;
  release_plan (m);
  /* every size but the scratch is n × one image's; the scratch of a whole
   * pool's op also covers one worker running ops alone */
  walk (m, 1, h, w, n_threads, &ps);
  m->map_per_image = ps.map;
  m->hidden_per_image = ps.hidden;
  m->scratch_per_worker = MAX (ps.scratch, (size_t) 1);
  for (int i = 0; i < 3; i++)
    m->buf[i] = plan_alloc ((size_t) n * m->map_per_image);
  m->hidden = plan_alloc ((size_t) n * m->hidden_per_image);
  m->scratch = plan_alloc ((size_t) n_threads * m->scratch_per_worker);
  m->pooled = plan_alloc ((size_t) n * m->final_dim);
  m->worker_profile = g_new0 (mc_profile_entry, (gsize) n_threads * N_FAMILIES);
  m->ffn_per_worker = MAX (ps.ffn, (size_t) 1);
  m->ffn_scratch = plan_alloc ((size_t) n_threads * m->ffn_per_worker);
  if (!m->buf[0] || !m->buf[1] || !m->buf[2] || !m->hidden || !m->scratch || !m->pooled
      || !m->ffn_scratch) {
    release_plan (m);
    return mc_err (err, MC_ERR_NOMEM, "out of memory planning buffers for %d×%dx%d", n, h, w);
  }
  m->plan_n = n;
  m->plan_h = h;
  m->plan_w = w;
  m->plan_threads = n_threads;
  return MC_OK;
}

int
mc_mci_planned_batch (const mc_mci *m)
{
  return m->plan_n;
}

/* ---- forward ------------------------------------------------------------ */

/* Where one run of the layers works: images [b0, b0 + n) of the planned
 * buffers, one worker's scratch, and the profile to charge (or NULL). */
typedef struct {
  int b0, n;
  float *scratch;
  mc_profile_entry *prof;
  int worker;          /* the side-by-side worker running it, or -1 (ops
                          split over the pool) */
} run_slice;

typedef struct {
  const conv_ffn *f;
  const float *x;
  float *out;
  int h, w, c, band, n_bands, slot;
  float *scratch;
  size_t per_worker;
  mc_profile_entry *prof;     /* N_FAMILIES per worker, or NULL */
} ffn_job;

/* Bands of rows, each through dw, fc1 and fc2 before the next: the band's
 * dw output and hidden activations never leave the worker's L2, and a
 * ConvFFN is one hand-off to the pool instead of three (2 threads, batch 1:
 * 54.1 → 51.5 ms median on Zen 3, the same bits). */
static void
ffn_bands (void *p, int64_t i0, int64_t i1, int worker)
{
  const ffn_job *j = p;
  const int slot = j->slot >= 0 ? j->slot : worker;
  const conv_ffn *f = j->f;
  const int h = j->h, w = j->w, c = j->c;
  float *t = j->scratch + (size_t) slot * j->per_worker;
  float *hid = t + (size_t) j->band * w * c;
  mc_profile_entry *prof = j->prof ? j->prof + (size_t) slot * N_FAMILIES : NULL;

  for (int64_t item = i0; item < i1; item++) {
    const int b = (int) (item / j->n_bands), r0 = (int) (item % j->n_bands) * j->band;
    const int r1 = MIN (h, r0 + j->band), rows = (r1 - r0) * w;
    const size_t off = ((size_t) b * h + r0) * w * c;
    TIMED (prof, FAM_DEPTHWISE, mc_conv_rows (&f->dw, j->x + (size_t) b * h * w * c, h, w, r0, r1,
          t, MC_ACT_NONE));
    TIMED (prof, FAM_GEMM, mc_gemm (NULL, rows, t, c, &f->fc1, f->b1, MC_ACT_GELU, NULL, 0, hid,
          f->hidden));
    TIMED (prof, FAM_GEMM, mc_gemm (NULL, rows, hid, f->hidden, &f->fc2, f->b2, MC_ACT_NONE,
          j->x + off, c, j->out + off, c));
  }
}

/* The ConvFFN over the whole map, each op split over the pool: where every
 * thread would get one band at most, bands would have each thread read all
 * of fc1's and fc2's weights for a few rows (MCi0's stage 4 on 2 threads:
 * 32 pixels a thread, 48-60 GFLOP/s a thread), where split products read
 * half each (84).  The dw output and the hidden activations fill the
 * workers' band scratch, which holds them: every band fits one worker's
 * part and every row is in a band. */
static void
ffn_split (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const conv_ffn *f,
    const float *x, float *out, int h, int w, int c)
{
  const int px = sl->n * h * w;
  float *t = m->ffn_scratch, *hid = t + (size_t) px * c;

  TIMED (sl->prof, FAM_DEPTHWISE, mc_conv_forward (pool, &f->dw, x, sl->n, h, w, t, MC_ACT_NONE));
  TIMED (sl->prof, FAM_GEMM, mc_gemm (pool, px, t, c, &f->fc1, f->b1, MC_ACT_GELU, NULL, 0, hid,
        f->hidden));
  TIMED (sl->prof, FAM_GEMM, mc_gemm (pool, px, hid, f->hidden, &f->fc2, f->b2, MC_ACT_NONE, x, c,
        out, c));
}

/* The ConvFFN: out = x + fc2(GELU(fc1(dw(x)))) (out must not be x: bands
 * read their neighbours' rows of x), by bands or, where there are no more
 * bands than threads, by split ops.  Both give the same bits. */
static void
ffn_forward (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const conv_ffn *f,
    const float *x, float *out, int h, int w, int c)
{
  const int n_threads = mc_threadpool_size (pool);
  const int band = ffn_band_rows (h, w, f->hidden, sl->n, n_threads);
  ffn_job j = { f, x, out, h, w, c, band, (h + band - 1) / band, sl->worker,
    m->ffn_scratch, m->ffn_per_worker, NULL };

  if (sl->worker < 0 && n_threads > 1 && (int64_t) sl->n * j.n_bands <= n_threads) {
    ffn_split (m, pool, sl, f, x, out, h, w, c);
    return;
  }
  if (sl->prof && sl->worker >= 0) {
    j.prof = m->worker_profile;   /* the slot's own entries: sl->prof */
  } else if (sl->prof) {
    j.prof = m->worker_profile;
    memset (m->worker_profile, 0, (size_t) n_threads * N_FAMILIES * sizeof (mc_profile_entry));
  }
  mc_parallel_for (pool, (int64_t) sl->n * j.n_bands, 1, ffn_bands, &j);
  /* workers ran at the same time: their summed time over their number */
  if (sl->prof && sl->worker < 0)
    for (int t = 0; t < n_threads; t++)
      for (int fam = 0; fam < N_FAMILIES; fam++) {
        sl->prof[fam].ms += m->worker_profile[(size_t) t * N_FAMILIES + fam].ms / n_threads;
        sl->prof[fam].calls += m->worker_profile[(size_t) t * N_FAMILIES + fam].calls;
      }
}

/* channels of the global pool summed per pass over the map (their double
 * sums stay on the stack) */
#define POOL_CHUNK 512

/* The layers, global pooling included, over the slice's images x [n, h, w, 3]:
 * writes their pooled features to m->pooled. */
static void
run_layers (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const float *x,
    int h, int w)
{
  const int n = sl->n;
  float *cur = m->buf[0] + (size_t) sl->b0 * m->map_per_image;
  float *next = m->buf[1] + (size_t) sl->b0 * m->map_per_image;
  float *tmp = m->buf[2] + (size_t) sl->b0 * m->map_per_image;
  float *hidden = m->hidden + (size_t) sl->b0 * m->hidden_per_image;
  float *pooled = m->pooled + (size_t) sl->b0 * m->final_dim;
  mc_profile_entry *prof = sl->prof;
  double t_pool;
  int c = 3;

  memcpy (cur, x, (size_t) n * h * w * 3 * sizeof (float));
  for (guint i = 0; i < m->layers->len; i++) {
    const layer *L = &g_array_index (m->layers, layer, i);
    int ho, wo;
    float *swap;
    layer_out_size (L, h, w, &ho, &wo);
    switch (L->kind) {
      case LAYER_CONV:
        TIMED (prof, L->conv.groups == L->conv.cin && L->conv.cin == L->conv.cout ? FAM_DEPTHWISE : FAM_CONV,
            mc_conv_forward (pool, &L->conv, cur, n, h, w, next, L->has_se ? MC_ACT_NONE : L->act));
        if (L->has_se)
          TIMED (prof, FAM_SE, mc_se_forward (pool, &L->se, next, n, ho * wo, L->act, sl->scratch));
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_POINTWISE:
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * h * w, cur, c, &L->pw, L->pw_bias, L->act, NULL, 0, next, L->cout));
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_REPMIXER:
        TIMED (prof, FAM_DEPTHWISE, mc_conv_forward (pool, &L->mixer, cur, n, h, w, next, MC_ACT_NONE));
        swap = cur; cur = next; next = swap;
        ffn_forward (m, pool, sl, &L->ffn, cur, next, h, w, c);
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_ATTENTION: {
        const int T = h * w;
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * T, cur, c, &L->qkv, L->qkv_bias, MC_ACT_NONE, NULL, 0, hidden, 3 * c));
        TIMED (prof, FAM_ATTENTION, mc_attention (pool, hidden, n, T, c, L->heads, 0, tmp, sl->scratch));
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * T, tmp, c, &L->proj, L->proj_bias, MC_ACT_NONE, cur, c, cur, c));
        ffn_forward (m, pool, sl, &L->ffn, cur, next, h, w, c);
        swap = cur; cur = next; next = swap;
        break;
      }
    }
    h = ho;
    w = wo;
    c = L->cout;
    if (m->tap && L->tap)
      m->tap (m->tap_user, L->tap, cur, n, h, w, c);
  }

  /* GlobalPool2D: spatial mean (the projection follows for the batch) */
  t_pool = prof ? mc_profile_now_ms () : 0;
  for (int b = 0; b < n; b++) {
    const float *img = cur + (size_t) b * h * w * c;
    /* pixel-major, so that the map is read in order (one channel at a time
     * strode across it a cache line per value); each channel still sums its
     * pixels in order, in double */
    for (int c0 = 0; c0 < c; c0 += POOL_CHUNK) {
      const int nc = MIN (POOL_CHUNK, c - c0);
      double s[POOL_CHUNK] = { 0 };
      for (int p = 0; p < h * w; p++)
        for (int ch = 0; ch < nc; ch++)
          s[ch] += img[(size_t) p * c + c0 + ch];
      for (int ch = 0; ch < nc; ch++)
        pooled[(size_t) b * c + c0 + ch] = (float) (s[ch] / (h * w));
    }
  }
  if (prof)
    prof[FAM_POOL].ms += mc_profile_now_ms () - t_pool;
}

typedef struct {
  mc_mci *m;
  const float *x;
  int h, w, n;
  atomic_int next;       /* the next image nobody has taken */
} image_job;

/* A worker takes images one at a time until none is left, each with every
 * op on this thread: a worker whose core is shared with another process
 * takes fewer images instead of holding the others back. */
static void
run_images (void *p, int64_t i0, int64_t i1, int worker)
{
  image_job *j = p;
  mc_mci *m = j->m;
  int b;

  while ((b = atomic_fetch_add_explicit (&j->next, 1, memory_order_relaxed)) < j->n) {
    run_slice sl = { b, 1, m->scratch + (size_t) worker * m->scratch_per_worker,
      m->profile ? m->worker_profile + (size_t) worker * N_FAMILIES : NULL, worker };
    run_layers (m, NULL, &sl, j->x + (size_t) b * j->h * j->w * 3, j->h, j->w);
  }
}

/* Batches of at least as many images as the pool has threads run images side
 * by side, each worker taking whole images: every op then runs on one
 * thread at full size, without the hand-offs and the uneven splits of small
 * maps (stage 4 is 8×8) that an op split over threads pays.  Images left
 * over (n mod threads) run together with every op split over the pool, as a
 * batch of one always does.  An image's result is the same either way (every
 * kernel computes an output in the same order whatever the split).  Taps
 * want whole-batch maps, so they keep the split ops.  The profile charges
 * each family the workers' summed time over their number. */
mc_status
mc_mci_forward (mc_mci *m, mc_threadpool *pool, const float *x,
    int n, int h, int w, float *out, mc_error *err)
{
  const int n_threads = mc_threadpool_size (pool);
  const int n_side = m->tap || n_threads < 2 ? 0 : n / n_threads * n_threads;
  mc_status st;

  if (n < 1 || h < 1 || w < 1)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "invalid image batch %d×%d×%d", n, h, w);
  st = plan (m, n, h, w, n_threads, err);
  if (st != MC_OK)
    return st;

  if (n_side > 0) {
    image_job j = { m, x, h, w, n_side, 0 };
    if (m->profile)
      memset (m->worker_profile, 0, (size_t) n_threads * N_FAMILIES * sizeof (mc_profile_entry));
    /* one chunk per worker; the images are handed out as they finish */
    mc_parallel_for (pool, n_threads, 1, run_images, &j);
    /* the workers ran at the same time: their time per family, summed and
     * divided by their number, is the wall time it took */
    if (m->profile)
      for (int t = 0; t < n_threads; t++)
        for (int f = 0; f < N_FAMILIES; f++) {
          m->profile[f].ms += m->worker_profile[(size_t) t * N_FAMILIES + f].ms / n_threads;
          m->profile[f].calls += m->worker_profile[(size_t) t * N_FAMILIES + f].calls;
        }
  }
  if (n_side < n) {
    run_slice sl = { n_side, n - n_side, m->scratch, m->profile, -1 };
    run_layers (m, pool, &sl, x + (size_t) n_side * h * w * 3, h, w);
  }

  if (m->tap)
    m->tap (m->tap_user, "pooled", m->pooled, n, 1, 1, m->final_dim);
  /* the pooling above and this projection are one "pool" call */
  TIMED (m->profile, FAM_POOL, mc_gemm (pool, n, m->pooled, m->final_dim, &m->head, NULL,
        MC_ACT_NONE, NULL, 0, out, m->embed_dim));
  return MC_OK;
}
