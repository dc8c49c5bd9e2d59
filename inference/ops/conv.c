/* conv.c — direct (grouped and depthwise) convolutions, channels-last. */
#include "conv.h"

#include <stdlib.h>
#include <string.h>

#include "activation.h"

int
mc_conv_init (mc_conv *c, const float *w, const float *bias,
    int cin, int cout, int groups, int kh, int kw, int stride, int pad)
{
  const int cig = cin / groups, cog = cout / groups;

  memset (c, 0, sizeof *c);
  c->cin = cin;
  c->cout = cout;
  c->groups = groups;
  c->kh = kh;
  c->kw = kw;
  c->stride_h = c->stride_w = stride;
  c->pad_h = c->pad_w = pad;
  c->weight = malloc ((size_t) kh * kw * cig * cout * sizeof (float));
  c->bias = calloc ((size_t) cout, sizeof (float));
  if (!c->weight || !c->bias) {
    mc_conv_free (c);
    return -1;
  }
  /* PyTorch: w[o][i][y][x] with o in 0..cout, i in 0..cig; group g owns
   * outputs g·cog.. and inputs g·cig..  Ours: [y][x][i][o]. */
  for (int o = 0; o < cout; o++)
    for (int i = 0; i < cig; i++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          c->weight[(((size_t) y * kw + x) * cig + i) * cout + o] =
              w[(((size_t) o * cig + i) * kh + y) * kw + x];
  if (bias)
    memcpy (c->bias, bias, (size_t) cout * sizeof (float));
  (void) cog;
  return 0;
}

void
mc_conv_free (mc_conv *c)
{
  free (c->weight);
  free (c->bias);
  c->weight = c->bias = NULL;
}

typedef struct {
  const mc_conv *c;
  const float *in;
  float *out;
  int h, w, ho, wo;
  mc_act act;
} conv_job;

static inline void
apply_act (float *v, int n, mc_act act)
{
  if (act == MC_ACT_GELU)
    for (int i = 0; i < n; i++)
      v[i] = mc_gelu (v[i]);
  else if (act == MC_ACT_RELU)
    for (int i = 0; i < n; i++)
      v[i] = v[i] > 0.0f ? v[i] : 0.0f;
}

/* Depthwise (one input, one output per group): the channel loop is innermost
 * and contiguous in input, weight and output. */
static void
dw_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const conv_job *j = p;
  const mc_conv *c = j->c;
  const int C = c->cout;

  for (int64_t r = r0; r < r1; r++) {
    const int b = (int) (r / j->ho), oy = (int) (r % j->ho);
    const float *in = j->in + (size_t) b * j->h * j->w * C;
    float *out = j->out + ((size_t) b * j->ho + oy) * j->wo * C;
    for (int ox = 0; ox < j->wo; ox++) {
      float *o = out + (size_t) ox * C;
      memcpy (o, c->bias, (size_t) C * sizeof (float));
      for (int ky = 0; ky < c->kh; ky++) {
        const int iy = oy * c->stride_h - c->pad_h + ky;
        if (iy < 0 || iy >= j->h)
          continue;
        for (int kx = 0; kx < c->kw; kx++) {
          const int ix = ox * c->stride_w - c->pad_w + kx;
          if (ix < 0 || ix >= j->w)
            continue;
          const float *src = in + ((size_t) iy * j->w + ix) * C;
          const float *wt = c->weight + ((size_t) ky * c->kw + kx) * C;
          for (int ch = 0; ch < C; ch++)
            o[ch] += src[ch] * wt[ch];
        }
      }
      apply_act (o, C, j->act);
    }
  }
}

/* General grouped conv: for each tap and input channel of a group, add its
 * contribution to the group's outputs. */
static void
grouped_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const conv_job *j = p;
  const mc_conv *c = j->c;
  const int Cin = c->cin, Cout = c->cout;
  const int cig = Cin / c->groups, cog = Cout / c->groups;

  for (int64_t r = r0; r < r1; r++) {
    const int b = (int) (r / j->ho), oy = (int) (r % j->ho);
    const float *in = j->in + (size_t) b * j->h * j->w * Cin;
    float *out = j->out + ((size_t) b * j->ho + oy) * j->wo * Cout;
    for (int ox = 0; ox < j->wo; ox++) {
      float *o = out + (size_t) ox * Cout;
      memcpy (o, c->bias, (size_t) Cout * sizeof (float));
      for (int ky = 0; ky < c->kh; ky++) {
        const int iy = oy * c->stride_h - c->pad_h + ky;
        if (iy < 0 || iy >= j->h)
          continue;
        for (int kx = 0; kx < c->kw; kx++) {
          const int ix = ox * c->stride_w - c->pad_w + kx;
          if (ix < 0 || ix >= j->w)
            continue;
          const float *src = in + ((size_t) iy * j->w + ix) * Cin;
          const float *wt = c->weight + ((size_t) ky * c->kw + kx) * cig * Cout;
          if (c->groups == 1) {
            for (int i = 0; i < cig; i++) {
              const float s = src[i];
              const float *wr = wt + (size_t) i * Cout;
              for (int oc = 0; oc < Cout; oc++)
                o[oc] += s * wr[oc];
            }
          } else {
            for (int g = 0; g < c->groups; g++)
              for (int i = 0; i < cig; i++) {
                const float s = src[g * cig + i];
                const float *wr = wt + (size_t) i * Cout + g * cog;
                float *og = o + g * cog;
                for (int oc = 0; oc < cog; oc++)
                  og[oc] += s * wr[oc];
              }
          }
        }
      }
      apply_act (o, Cout, j->act);
    }
  }
}

void
mc_conv_forward (mc_threadpool *pool, const mc_conv *c, const float *in,
    int n, int h, int w, float *out, mc_act act)
{
  conv_job j = { c, in, out, h, w,
    mc_conv_out_size (h, c->kh, c->stride_h, c->pad_h),
    mc_conv_out_size (w, c->kw, c->stride_w, c->pad_w), act };
  int64_t rows = (int64_t) n * j.ho;
  int dw = (c->groups == c->cin && c->groups == c->cout);

  mc_parallel_for (pool, rows, 1, dw ? dw_rows : grouped_rows, &j);
}
