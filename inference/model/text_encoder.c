/* text_encoder.c — Apple's `base` and `mct` text towers as a list of folded
 * layers (see text_encoder.h).
 *
 * The forward pass keeps three buffers per chunk of prompts: the residual
 * stream x [rows, D], a temporary t [rows, D] and `hidden` [rows, widest of
 * 3D and the FFN widths].  A chunk is at most CHUNK prompts, so a batch of
 * hundreds of prompts costs no more memory than one of CHUNK.
 */
#include "text_encoder.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fold.h"
#include "model/profile.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/norm.h"
#include "runtime/error.h"

/* Prompts per pass: 16 × 77 = 1232 GEMM rows, plenty to keep the kernels
 * busy, while the buffers stay near 13 MB at the real S0 width. */
#define CHUNK 16

/* Apple's text RepMixer blocks use nn.BatchNorm2d defaults. */
#define TEXT_BN_EPS 1e-5f

typedef enum {
  TEXT_REPMIXER,      /* folded 1×k mixer conv, then ConvFFN */
  TEXT_TRANSFORMER,   /* pre-norm MHA, then pre-norm FFN */
} text_layer_kind;

typedef struct {
  text_layer_kind kind;
  int hidden;            /* FFN width */
  mc_packed_b fc1, fc2;  /* repmixer: fc2 carries the block's layer scale;
                            transformer: fc1 carries pre_norm_ffn's γ/β */
  float *b1, *b2;
  /* TEXT_REPMIXER */
  mc_conv mixer;         /* identity + ls·(mixer − norm), 1×k depthwise */
  mc_conv dw;            /* ConvFFN 1×k depthwise with its BN folded in */
  float *dw_taps;        /* the same kernel as [k][D] and its bias, for the */
  float *dw_bias;        /* last block, which needs it at one position only */
  /* TEXT_TRANSFORMER */
  int heads;
  mc_packed_b qkv;       /* carries pre_norm_mha's γ/β */
  mc_packed_b out_proj;
  float *qkv_bias, *out_bias;
} text_layer;

struct mc_text_encoder {
  mc_text_config cfg;
  int D, E, T, vocab;
  float *token_table;    /* [vocab, D] */
  float *pos;            /* [T, D] */
  text_layer *layers;
  int n_layers;
  float *final_gamma, *final_beta;
  mc_packed_b proj;      /* [D, E] */
  size_t hidden_width;   /* widest hidden row: 3D or an FFN width */
  int max_head_dim;
  /* planned buffers (grow-only) */
  int plan_chunk, plan_threads;
  float *x, *t, *hidden, *scratch, *pooled;
  mc_text_tap tap;
  void *tap_user;
  mc_profile_entry *profile;   /* indexed by family, or NULL */
};

/* Families for the profile, in mc_profile_entry order: the 1×k convs,
 * LayerNorms, products (with their GELU epilogues), attention, and the rest
 * (the token and position lookup, copies of windows and pooled rows). */
enum { FAM_DEPTHWISE, FAM_NORM, FAM_GEMM, FAM_ATTENTION, FAM_OTHER, N_FAMILIES };
static const char *family_names[N_FAMILIES] = {
  "depthwise", "norm", "gemm", "attention", "other",
};

/* ---- building ----------------------------------------------------------- */

typedef struct {
  mc_weights *w;
  const mc_text_config *cfg;
  int D;
  int oom;
} builder;

static float *
float_dup (builder *b, const float *src, size_t n)
{
  float *p = malloc ((n ? n : 1) * sizeof (float));
  if (!p)
    b->oom = 1;
  else
    memcpy (p, src, n * sizeof (float));
  return p;
}

/* A folded 1×k depthwise kernel to a runtime conv padded (0, k/2), as
 * Apple's text convs are: the prompt is an image one row high. */
static void
to_row_conv (builder *b, const mc_kernel *k, mc_conv *c)
{
  if (mc_kernel_to_conv (k, c, k->cout, 1, 0) != 0) {
    b->oom = 1;
    return;
  }
  c->pad_h = 0;
  c->pad_w = k->kw / 2;
}

static void
build_repmixer (builder *b, text_layer *L, const char *name)
{
  const int D = b->D, ks = b->cfg->repmixer_kernel_size;
  const int hidden = (int) (D * b->cfg->repmixer_mlp_ratio);
  char sub[256];
  mc_kernel mix, norm, k;
  mc_bn bn;
  const float *ls_tm, *ls, *dw, *w1, *bias1, *w2, *bias2;

  L->kind = TEXT_REPMIXER;
  L->hidden = hidden;

  /* x + ls·(mixer(x) − norm(x)) is one depthwise conv.  The mixer is a
   * MobileOne block with a 1×k conv branch and a BN skip but no 1×1 scale
   * branch (Apple's block sees a kernel height of 1); norm is a BN alone. */
  mc_kernel_init (&mix, D, 1, 1, ks);
  mc_kernel_init (&norm, D, 1, 1, ks);
  snprintf (sub, sizeof sub, "%s.token_mixer.mixer", name);
  mc_kernel_add_mobileone (&mix, b->w, sub, 1, 0, 1, TEXT_BN_EPS);
  snprintf (sub, sizeof sub, "%s.token_mixer.norm", name);
  mc_kernel_add_mobileone (&norm, b->w, sub, 0, 0, 1, TEXT_BN_EPS);
  ls_tm = mc_weights_get (b->w, MC_SHAPE (D, 1, 1), "%s.token_mixer.layer_scale", name);
  for (int o = 0; o < D; o++) {
    for (int x = 0; x < ks; x++)
      mix.w[(size_t) o * ks + x] = ls_tm[o] * (mix.w[(size_t) o * ks + x] - norm.w[(size_t) o * ks + x]);
    mix.b[o] = ls_tm[o] * (mix.b[o] - norm.b[o]);
  }
  mc_kernel_add_identity (&mix);
  to_row_conv (b, &mix, &L->mixer);
  mc_kernel_free (&mix);
  mc_kernel_free (&norm);

  /* ConvFFN: 1×k depthwise (no bias) → BN, folded into one conv */
  mc_kernel_init (&k, D, 1, 1, ks);
  dw = mc_weights_get (b->w, MC_SHAPE (D, 1, 1, ks), "%s.convffn.conv.conv.weight", name);
  snprintf (sub, sizeof sub, "%s.convffn.conv.bn", name);
  mc_bn_read (b->w, &bn, D, TEXT_BN_EPS, sub);
  mc_kernel_add_conv_bn (&k, dw, 1, ks, &bn, 1.0);
  to_row_conv (b, &k, &L->dw);
  L->dw_taps = malloc ((size_t) ks * D * sizeof (float));
  L->dw_bias = malloc ((size_t) D * sizeof (float));
  if (!L->dw_taps || !L->dw_bias) {
    b->oom = 1;
  } else {
    for (int c = 0; c < D; c++) {
      for (int x = 0; x < ks; x++)
        L->dw_taps[(size_t) x * D + c] = (float) k.w[(size_t) c * ks + x];
      L->dw_bias[c] = (float) k.b[c];
    }
  }
  mc_kernel_free (&k);

  w1 = mc_weights_get (b->w, MC_SHAPE (hidden, D, 1, 1), "%s.convffn.fc1.weight", name);
  bias1 = mc_weights_get (b->w, MC_SHAPE (hidden), "%s.convffn.fc1.bias", name);
  w2 = mc_weights_get (b->w, MC_SHAPE (D, hidden, 1, 1), "%s.convffn.fc2.weight", name);
  bias2 = mc_weights_get (b->w, MC_SHAPE (D), "%s.convffn.fc2.bias", name);
  ls = mc_weights_get (b->w, MC_SHAPE (D, 1, 1), "%s.layer_scale", name);
  if (mc_pack_b_from_nk (&L->fc1, w1, hidden, D, NULL) != 0
      || mc_pack_b_from_nk (&L->fc2, w2, D, hidden, ls) != 0)
    b->oom = 1;
  L->b1 = float_dup (b, bias1, (size_t) hidden);
  L->b2 = float_dup (b, bias2, (size_t) D);
  if (L->b2)
    for (int i = 0; i < D; i++)
      L->b2[i] *= ls[i];
}

/* Packs W·diag(γ) with bias b + W·β: a linear layer that reads
 * LN(x)·γ + β instead reads the plain normalized x.  Sums in double. */
static void
pack_after_norm (builder *b, mc_packed_b *pb, float **bias_out, const float *w,
    const float *bias, int N, int K, const float *gamma, const float *beta)
{
  float *wf = malloc ((size_t) N * K * sizeof (float));
  float *bf = malloc ((size_t) N * sizeof (float));

  *bias_out = bf;
  if (!wf || !bf) {
    b->oom = 1;
    free (wf);
    return;
  }
  for (int o = 0; o < N; o++) {
    const float *row = w + (size_t) o * K;
    double acc = bias[o];
    for (int i = 0; i < K; i++) {
      wf[(size_t) o * K + i] = (float) ((double) row[i] * gamma[i]);
      acc += (double) row[i] * beta[i];
    }
    bf[o] = (float) acc;
  }
  if (mc_pack_b_from_nk (pb, wf, N, K, NULL) != 0)
    b->oom = 1;
  free (wf);
}

static void
build_transformer (builder *b, text_layer *L, const char *name, int heads, int ffn)
{
  const int D = b->D;
  const float *g, *be, *w, *bias;

  L->kind = TEXT_TRANSFORMER;
  L->heads = heads;
  L->hidden = ffn;

  g = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_mha.0.weight", name);
  be = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_mha.0.bias", name);
  w = mc_weights_get (b->w, MC_SHAPE (3 * D, D), "%s.pre_norm_mha.1.qkv_proj.weight", name);
  bias = mc_weights_get (b->w, MC_SHAPE (3 * D), "%s.pre_norm_mha.1.qkv_proj.bias", name);
  pack_after_norm (b, &L->qkv, &L->qkv_bias, w, bias, 3 * D, D, g, be);

  w = mc_weights_get (b->w, MC_SHAPE (D, D), "%s.pre_norm_mha.1.out_proj.weight", name);
  bias = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_mha.1.out_proj.bias", name);
  if (mc_pack_b_from_nk (&L->out_proj, w, D, D, NULL) != 0)
    b->oom = 1;
  L->out_bias = float_dup (b, bias, (size_t) D);

  g = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_ffn.0.weight", name);
  be = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_ffn.0.bias", name);
  w = mc_weights_get (b->w, MC_SHAPE (ffn, D), "%s.pre_norm_ffn.1.weight", name);
  bias = mc_weights_get (b->w, MC_SHAPE (ffn), "%s.pre_norm_ffn.1.bias", name);
  pack_after_norm (b, &L->fc1, &L->b1, w, bias, ffn, D, g, be);

  w = mc_weights_get (b->w, MC_SHAPE (D, ffn), "%s.pre_norm_ffn.4.weight", name);
  bias = mc_weights_get (b->w, MC_SHAPE (D), "%s.pre_norm_ffn.4.bias", name);
  if (mc_pack_b_from_nk (&L->fc2, w, D, ffn, NULL) != 0)
    b->oom = 1;
  L->b2 = float_dup (b, bias, (size_t) D);
}

static void
free_layer (text_layer *L)
{
  mc_packed_b_free (&L->fc1);
  mc_packed_b_free (&L->fc2);
  free (L->b1);
  free (L->b2);
  mc_conv_free (&L->mixer);
  mc_conv_free (&L->dw);
  free (L->dw_taps);
  free (L->dw_bias);
  mc_packed_b_free (&L->qkv);
  mc_packed_b_free (&L->out_proj);
  free (L->qkv_bias);
  free (L->out_bias);
}

/* Each product's weights name the product the forward runs next
 * (mc_packed_b.next, a prefetch hint): qkv, out_proj, fc1 and fc2 of each
 * transformer layer, fc1 and fc2 of each RepMixer block, then the
 * projection. */
static void
chain_products (mc_text_encoder *t)
{
  mc_packed_b *prev = NULL;
  for (int i = 0; i < t->n_layers; i++) {
    text_layer *L = &t->layers[i];
    if (L->kind == TEXT_TRANSFORMER) {
      mc_packed_b_chain (&prev, &L->qkv);
      mc_packed_b_chain (&prev, &L->out_proj);
    }
    mc_packed_b_chain (&prev, &L->fc1);
    mc_packed_b_chain (&prev, &L->fc2);
  }
  mc_packed_b_chain (&prev, &t->proj);
}

mc_status
mc_text_encoder_build (const mc_text_config *cfg, int embed_dim, mc_weights *w,
    mc_text_encoder **out, mc_error *err)
{
  mc_text_encoder *t;
  builder b = { w, cfg, cfg->dim, 0 };
  const int D = cfg->dim, T = cfg->context_length;
  const int mct = cfg->variant == MC_TEXT_MCT;
  int li = 0;
  mc_status st;

  *out = NULL;
  if (T != MC_CONTEXT_LENGTH)
    return mc_err (err, MC_ERR_UNSUPPORTED,
        "text_cfg: context_length %d (the tokenizer writes %d ids)", T, MC_CONTEXT_LENGTH);
  if (mct && cfg->repmixer_kernel_size % 2 == 0)
    return mc_err (err, MC_ERR_CONFIG,
        "text_cfg: text_repmixer_kernel_size %d must be odd", cfg->repmixer_kernel_size);

  t = g_new0 (mc_text_encoder, 1);
  t->cfg = *cfg;
  t->D = D;
  t->E = embed_dim;
  t->T = T;
  t->vocab = cfg->vocab_size;
  t->n_layers = cfg->n_layers + (mct ? 2 : 0);
  t->layers = g_new0 (text_layer, t->n_layers);
  t->hidden_width = 3 * (size_t) D;

  t->token_table = float_dup (&b, mc_weights_get (w, MC_SHAPE (t->vocab, D), "embedding_layer.weight"),
      (size_t) t->vocab * D);
  t->pos = float_dup (&b, mc_weights_get (w, MC_SHAPE (1, 1, T, D), "positional_embedding.pos_embed.pos_embed"),
      (size_t) T * D);

  for (int i = 0; i < t->n_layers; i++) {
    char name[64];
    text_layer *L = &t->layers[i];
    snprintf (name, sizeof name, "transformer.%d", i);
    if (mct && (i == 0 || i == t->n_layers - 1)) {
      build_repmixer (&b, L, name);
    } else {
      build_transformer (&b, L, name, cfg->n_heads[li], cfg->ffn_dims[li]);
      t->max_head_dim = MAX (t->max_head_dim, D / cfg->n_heads[li]);
      li++;
    }
    t->hidden_width = MAX (t->hidden_width, (size_t) L->hidden);
  }

  t->final_gamma = float_dup (&b, mc_weights_get (w, MC_SHAPE (D), "final_layer_norm.weight"), (size_t) D);
  t->final_beta = float_dup (&b, mc_weights_get (w, MC_SHAPE (D), "final_layer_norm.bias"), (size_t) D);
  {
    const mc_gemm_format f = mc_gemm_set_pack_format (mc_gemm_sensitive_format ());
    if (mc_pack_b_from_kn (&t->proj, mc_weights_get (w, MC_SHAPE (D, embed_dim),
                "projection_layer"), D, embed_dim) != 0)
      b.oom = 1;
    mc_gemm_set_pack_format (f);
  }

  st = mc_weights_status (w);
  if (st == MC_OK && b.oom)
    st = mc_err (err, MC_ERR_NOMEM, "out of memory while building the text encoder");
  if (st != MC_OK) {
    mc_text_encoder_free (t);
    return st;
  }
  chain_products (t);
  *out = t;
  return MC_OK;
}

static void
release_plan (mc_text_encoder *t)
{
  free (t->x);
  free (t->t);
  free (t->hidden);
  free (t->scratch);
  free (t->pooled);
  t->x = t->t = t->hidden = t->scratch = t->pooled = NULL;
  t->plan_chunk = t->plan_threads = 0;
}

void
mc_text_encoder_free (mc_text_encoder *t)
{
  if (!t)
    return;
  for (int i = 0; t->layers && i < t->n_layers; i++)
    free_layer (&t->layers[i]);
  g_free (t->layers);
  free (t->token_table);
  free (t->pos);
  free (t->final_gamma);
  free (t->final_beta);
  mc_packed_b_free (&t->proj);
  release_plan (t);
  g_free (t);
}

void
mc_text_encoder_set_profile (mc_text_encoder *t, mc_profile_entry *entries)
{
  t->profile = entries;
  if (entries)
    mc_profile_reset (entries, family_names, N_FAMILIES);
}

void
mc_text_encoder_set_tap (mc_text_encoder *t, mc_text_tap tap, void *user)
{
  t->tap = tap;
  t->tap_user = user;
}

int64_t
mc_text_encoder_macs (const mc_text_encoder *t)
{
  const int64_t D = t->D, T = t->T;
  /* attention products: q·kᵀ and p·v, each T×T×D, or the lower triangle */
  const int64_t pairs = t->cfg.causal ? T * (T + 1) / 2 : T * T;
  int64_t macs = D * t->E;

  for (int i = 0; i < t->n_layers; i++) {
    const text_layer *L = &t->layers[i];
    if (L->kind == TEXT_REPMIXER)
      macs += T * D * L->mixer.kw + T * D * L->dw.kw;
    else
      macs += T * D * 3 * D + 2 * pairs * D + T * D * D;
    macs += 2 * T * D * L->hidden;
  }
  return macs;
}

/* ---- forward ------------------------------------------------------------ */

static mc_status
plan (mc_text_encoder *t, int chunk, int n_threads, mc_error *err)
{
  const size_t rows = (size_t) chunk * t->T;
  size_t scratch;

  if (chunk <= t->plan_chunk && n_threads == t->plan_threads)
    return MC_OK;
  chunk = MAX (chunk, t->plan_chunk);
  release_plan (t);
  scratch = mc_attention_scratch_size (t->T, MAX (t->max_head_dim, 1), n_threads);
  t->x = malloc ((size_t) chunk * t->T * t->D * sizeof (float));
  t->t = malloc ((size_t) chunk * t->T * t->D * sizeof (float));
  t->hidden = malloc ((size_t) chunk * t->T * t->hidden_width * sizeof (float));
  t->scratch = malloc (scratch * sizeof (float));
  t->pooled = malloc ((size_t) chunk * t->D * sizeof (float));
  if (!t->x || !t->t || !t->hidden || !t->scratch || !t->pooled) {
    release_plan (t);
    return mc_err (err, MC_ERR_NOMEM, "out of memory planning text buffers for %zu tokens", rows);
  }
  t->plan_chunk = chunk;
  t->plan_threads = n_threads;
  return MC_OK;
}

/* Position of the largest id (the first one on ties), where Apple pools:
 * the EOT token, or an earlier literal <end_of_text>. */
static int
pool_position (const int32_t *ids, int T)
{
  int best = 0;
  for (int i = 1; i < T; i++)
    if (ids[i] > ids[best])
      best = i;
  return best;
}

/* The ConvFFN's depthwise conv of the last RepMixer block at one position
 * per prompt: row b of rows is the conv of the mixer output mixed [n, T, D]
 * at position pos[b]; the block's residual there (mixed's row itself) goes
 * to t->pooled. */
static void
conv_at_positions (mc_text_encoder *t, const text_layer *L, const float *mixed,
    const int *pos, int n, int T, float *rows)
{
  const int D = t->D, ks = L->dw.kw, half = ks / 2;

  for (int b = 0; b < n; b++) {
    const int p = pos[b];
    const float *seq = mixed + (size_t) b * T * D;
    float *o = rows + (size_t) b * D;
    memcpy (o, L->dw_bias, (size_t) D * sizeof (float));
    for (int k = 0; k < ks; k++) {
      const int q = p - half + k;
      if (q < 0 || q >= T)
        continue;   /* zero padding */
      for (int c = 0; c < D; c++)
        o[c] += L->dw_taps[(size_t) k * D + c] * seq[(size_t) q * D + c];
    }
    memcpy (t->pooled + (size_t) b * D, seq + (size_t) p * D, (size_t) D * sizeof (float));
  }
}

/* The last RepMixer block of `mct` at the pooled positions only: the
 * mixer conv runs over every position of x [n, T, D] (the ConvFFN conv
 * reads k of them), then the ConvFFN conv, fc1 and fc2 run on one row per
 * prompt, prompt b's at position pos[b].  Leaves the block's output rows in
 * t->pooled; x is used as scratch. */
static void
final_repmixer (mc_text_encoder *t, mc_threadpool *pool, const text_layer *L,
    float *x, float *tmp, float *hidden, const int *pos, int n, int T)
{
  const int D = t->D;
  mc_profile_entry *prof = t->profile;
  float *conv_rows = x;

  TIMED (prof, FAM_DEPTHWISE, mc_conv_forward (pool, &L->mixer, x, n, 1, T, tmp, MC_ACT_NONE));
  TIMED (prof, FAM_DEPTHWISE, conv_at_positions (t, L, tmp, pos, n, T, conv_rows));
  TIMED (prof, FAM_GEMM, mc_gemm (pool, n, conv_rows, D, &L->fc1, L->b1, MC_ACT_GELU, NULL, 0, hidden, L->hidden));
  TIMED (prof, FAM_GEMM, mc_gemm (pool, n, hidden, L->hidden, &L->fc2, L->b2, MC_ACT_NONE, t->pooled, D, t->pooled, D));
}

/* A transformer layer in two halves.  First the pre-norm attention over
 * x [n, T, D]: its output (before out_proj) to tmp; hidden holds q, k, v. */
static void
attention_half (mc_text_encoder *t, mc_threadpool *pool, const text_layer *L,
    const float *x, float *tmp, float *hidden, int n, int T)
{
  const int D = t->D;
  mc_profile_entry *prof = t->profile;

  TIMED (prof, FAM_NORM, mc_layer_norm (pool, n * T, D, x, D, NULL, NULL, t->cfg.layer_norm_eps, tmp, D));
  TIMED (prof, FAM_GEMM, mc_gemm (pool, n * T, tmp, D, &L->qkv, L->qkv_bias, MC_ACT_NONE, NULL, 0, hidden, 3 * D));
  TIMED (prof, FAM_ATTENTION, mc_attention (pool, hidden, n, T, D, L->heads, t->cfg.causal, tmp, t->scratch));
}

/* Then, row by row: x += out_proj (att); x += FFN (x).  att (overwritten)
 * and hidden are scratch. */
static void
row_half (mc_text_encoder *t, mc_threadpool *pool, const text_layer *L,
    float *x, float *att, float *hidden, int rows)
{
  const int D = t->D;
  mc_profile_entry *prof = t->profile;

  TIMED (prof, FAM_GEMM, mc_gemm (pool, rows, att, D, &L->out_proj, L->out_bias, MC_ACT_NONE, x, D, x, D));
  TIMED (prof, FAM_NORM, mc_layer_norm (pool, rows, D, x, D, NULL, NULL, t->cfg.layer_norm_eps, att, D));
  TIMED (prof, FAM_GEMM, mc_gemm (pool, rows, att, D, &L->fc1, L->b1, MC_ACT_GELU, NULL, 0, hidden, L->hidden));
  TIMED (prof, FAM_GEMM, mc_gemm (pool, rows, hidden, L->hidden, &L->fc2, L->b2, MC_ACT_NONE, x, D, x, D));
}

/* Rows on each side of the pooled position that the last RepMixer block
 * reads from its input: its mixer conv's half width plus its ConvFFN
 * conv's. */
static int
final_reach (const text_layer *L)
{
  return L->mixer.kw / 2 + L->dw.kw / 2;
}

/* `mct` ends in a transformer layer and then a RepMixer block that reads
 * its input only within R = final_reach rows of the pooled position.  So
 * after the last transformer's attention, which needs every position as a
 * key, the row half of that layer runs on a window of 2R + 1 rows around
 * each prompt's pooled position (21 of 77 for S0), then the last block on
 * the windows.  A window that would cross an end of the sequence is moved
 * inside it: it still holds every row the result reads, and the rows the
 * convs see past its other edge are never read.  Each row's arithmetic is
 * what it is in the full pass, so the result is the same, bit for bit, for
 * 11 % fewer multiply-adds (S0). */
static int
windowed_tail_fits (const mc_text_encoder *t, int T)
{
  const text_layer *last = &t->layers[t->n_layers - 1];
  const text_layer *prev = &t->layers[t->n_layers - 2];
  const size_t W = 2 * (size_t) final_reach (last) + 1;

  return t->n_layers >= 2 && last->kind == TEXT_REPMIXER
      && prev->kind == TEXT_TRANSFORMER && (int) W < T
      && W * (2 * (size_t) t->D + (size_t) MAX (prev->hidden, last->hidden))
          <= (size_t) T * t->hidden_width;
}

static void
windowed_tail (mc_text_encoder *t, mc_threadpool *pool, float *x, float *tmp,
    float *hidden, const int32_t *tokens, int n, int T)
{
  const text_layer *L = &t->layers[t->n_layers - 2];
  const text_layer *last = &t->layers[t->n_layers - 1];
  const int D = t->D, R = final_reach (last), W = 2 * R + 1;
  const size_t row_bytes = (size_t) D * sizeof (float);
  /* in `hidden`, free once attention has read q, k, v */
  float *xs = hidden, *ts = hidden + (size_t) n * W * D;
  float *hid = hidden + 2 * (size_t) n * W * D;
  int pos[CHUNK];

  attention_half (t, pool, L, x, tmp, hidden, n, T);
  TIMED (t->profile, FAM_OTHER,
    for (int b = 0; b < n; b++) {
      const int p = pool_position (tokens + (size_t) b * t->T, t->T);
      const int s = CLAMP (p - R, 0, T - W);
      memcpy (xs + (size_t) b * W * D, x + ((size_t) b * T + s) * D, W * row_bytes);
      memcpy (ts + (size_t) b * W * D, tmp + ((size_t) b * T + s) * D, W * row_bytes);
      pos[b] = p - s;
    });
  row_half (t, pool, L, xs, ts, hid, n * W);
  final_repmixer (t, pool, last, xs, tmp, hid, pos, n, W);
}

static void
forward_chunk (mc_text_encoder *t, mc_threadpool *pool, const int32_t *tokens,
    int n, float *out)
{
  const int D = t->D, Tfull = t->T;
  const float eps = t->cfg.layer_norm_eps;
  int T = Tfull, rows;
  float *x = t->x, *tmp = t->t, *hidden = t->hidden;
  mc_profile_entry *prof = t->profile;
  int pooled = 0;

  /* With a causal mask and no token-mixing convs, a position never reads a
   * later one, so positions after the last pooled one in the chunk cannot
   * change the result: skip them.  Exact, and most prompts are short. */
  if (t->cfg.causal && t->cfg.variant == MC_TEXT_BASE && !t->tap) {
    T = 1;
    for (int b = 0; b < n; b++)
      T = MAX (T, pool_position (tokens + (size_t) b * Tfull, Tfull) + 1);
  }
  rows = n * T;

  TIMED (prof, FAM_OTHER,
    for (int b = 0; b < n; b++)
      for (int p = 0; p < T; p++) {
        const float *e = t->token_table + (size_t) tokens[(size_t) b * Tfull + p] * D;
        const float *pe = t->pos + (size_t) p * D;
        float *dst = x + ((size_t) b * T + p) * D;
        for (int i = 0; i < D; i++)
          dst[i] = e[i] + pe[i];
      });
  if (t->tap)
    t->tap (t->tap_user, "embed", x, n, T, D);

  for (int i = 0; i < t->n_layers; i++) {
    const text_layer *L = &t->layers[i];
    if (i == t->n_layers - 2 && !t->tap && windowed_tail_fits (t, T)) {
      windowed_tail (t, pool, x, tmp, hidden, tokens, n, T);
      pooled = 1;
      break;
    }
    if (L->kind == TEXT_REPMIXER && i == t->n_layers - 1 && !t->tap) {
      /* the last block of `mct`: only the pooled rows are read afterwards */
      int pos[CHUNK];
      for (int b = 0; b < n; b++)
        pos[b] = pool_position (tokens + (size_t) b * Tfull, Tfull);
      final_repmixer (t, pool, L, x, tmp, hidden, pos, n, T);
      pooled = 1;
      break;
    }
    if (L->kind == TEXT_REPMIXER) {
      float *swap;
      TIMED (prof, FAM_DEPTHWISE, mc_conv_forward (pool, &L->mixer, x, n, 1, T, tmp, MC_ACT_NONE));
      swap = x; x = tmp; tmp = swap;
      TIMED (prof, FAM_DEPTHWISE, mc_conv_forward (pool, &L->dw, x, n, 1, T, tmp, MC_ACT_NONE));
      TIMED (prof, FAM_GEMM, mc_gemm (pool, rows, tmp, D, &L->fc1, L->b1, MC_ACT_GELU, NULL, 0, hidden, L->hidden));
      TIMED (prof, FAM_GEMM, mc_gemm (pool, rows, hidden, L->hidden, &L->fc2, L->b2, MC_ACT_NONE, x, D, x, D));
    } else {
      attention_half (t, pool, L, x, tmp, hidden, n, T);
      row_half (t, pool, L, x, tmp, hidden, rows);
    }
    if (t->tap) {
      char name[32];
      snprintf (name, sizeof name, "layer.%d", i);
      t->tap (t->tap_user, name, x, n, T, D);
    }
  }

  if (t->tap) {
    mc_layer_norm (pool, rows, D, x, D, t->final_gamma, t->final_beta, eps, tmp, D);
    t->tap (t->tap_user, "final_ln", tmp, n, T, D);
  }
  /* the final LayerNorm acts per row: only the pooled rows are needed */
  TIMED (prof, FAM_OTHER,
    for (int b = 0; !pooled && b < n; b++) {
      const int p = pool_position (tokens + (size_t) b * Tfull, Tfull);
      memcpy (t->pooled + (size_t) b * D, x + ((size_t) b * T + p) * D, (size_t) D * sizeof (float));
    });
  TIMED (prof, FAM_NORM, mc_layer_norm (pool, n, D, t->pooled, D, t->final_gamma, t->final_beta, eps, t->pooled, D));
  if (t->tap)
    t->tap (t->tap_user, "eot_feature", t->pooled, n, 1, D);
  TIMED (prof, FAM_GEMM, mc_gemm (pool, n, t->pooled, D, &t->proj, NULL, MC_ACT_NONE, NULL, 0, out, t->E));
}

mc_status
mc_text_encoder_forward (mc_text_encoder *t, mc_threadpool *pool,
    const int32_t *tokens, int n, float *out, mc_error *err)
{
  mc_status st;

  if (n < 1)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "no prompts to encode (n = %d)", n);
  for (int b = 0; b < n; b++)
    for (int p = 0; p < t->T; p++) {
      const int32_t id = tokens[(size_t) b * t->T + p];
      if (id < 0 || id >= t->vocab)
        return mc_err (err, MC_ERR_INVALID_ARGUMENT,
            "token %d of prompt %d is %d, outside the vocabulary 0..%d", p, b, (int) id, t->vocab - 1);
    }
  st = plan (t, MIN (n, CHUNK), mc_threadpool_size (pool), err);
  if (st != MC_OK)
    return st;
  for (int b = 0; b < n; b += CHUNK) {
    const int m = MIN (CHUNK, n - b);
    forward_chunk (t, pool, tokens + (size_t) b * t->T, m, out + (size_t) b * t->E);
  }
  return MC_OK;
}
