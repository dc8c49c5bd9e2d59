/* mci_build.c — the MCi image encoder built from training-form weights (see
 * mci.h): each stage's blocks read by name, every branch and BatchNorm
 * folded (fold.h) into one conv or product with bias, products packed for
 * the GEMM and chained for its prefetch.  mci.c runs the result. */
#include "mci.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fold.h"
#include "model/mci_layers.h"
#include "runtime/error.h"

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
  mc_mci_release_plan (m);
  g_free (m);
}
