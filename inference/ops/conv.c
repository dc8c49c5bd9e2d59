/* conv.c — direct (grouped and depthwise) convolutions, channels-last: the
 * weight layout, the row split over threads and the activation; the vector
 * kernels are in op_kernel_template.h. */
#include "conv.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "op_kernels.h"

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
  /* 64-byte aligned: a channel block's weights are whole cache lines */
  if (posix_memalign ((void **) &c->weight, 64, (size_t) kh * kw * cig * cout * sizeof (float)))
    c->weight = NULL;
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

typedef void (*row_fn) (const mc_conv *c, const float *in, int h, int w, int oy,
    int wo, float *out);

typedef struct {
  const mc_conv *c;
  const float *in;
  float *out;
  int h, w, ho, wo;
  mc_act act;
  row_fn row;
} conv_job;

/* General grouped conv (several inputs per group feeding several outputs;
 * the models have none, the vector kernels cover theirs), one output at a
 * time with clipped taps. */
static void
grouped_row (const mc_conv *c, const float *in, int h, int w, int oy, int wo,
    float *out)
{
  const int Cin = c->cin, Cout = c->cout;
  const int cig = Cin / c->groups, cog = Cout / c->groups;
  const int ky0 = MAX (0, c->pad_h - oy * c->stride_h);
  const int ky1 = MIN (c->kh, h + c->pad_h - oy * c->stride_h);

  for (int ox = 0; ox < wo; ox++) {
    const int kx0 = MAX (0, c->pad_w - ox * c->stride_w);
    const int kx1 = MIN (c->kw, w + c->pad_w - ox * c->stride_w);
    for (int o = 0; o < Cout; o++) {
      const int g = o / cog;
      float acc = c->bias[o];
      for (int ky = ky0; ky < ky1; ky++) {
        const int iy = oy * c->stride_h - c->pad_h + ky;
        for (int kx = kx0; kx < kx1; kx++) {
          const int ix = ox * c->stride_w - c->pad_w + kx;
          const float *src = in + ((size_t) iy * w + ix) * Cin + g * cig;
          const float *wt = c->weight + ((size_t) ky * c->kw + kx) * cig * Cout + o;
          for (int i = 0; i < cig; i++)
            acc += src[i] * wt[(size_t) i * Cout];
        }
      }
      out[(size_t) ox * Cout + o] = acc;
    }
  }
}

/* One output row, then its activation while the row is still in cache
 * (exact GELU, the GEMM's vector code). */
static void
conv_row_act (const conv_job *j, const float *img, int oy, float *o)
{
  const size_t row_len = (size_t) j->wo * j->c->cout;

  j->row (j->c, img, j->h, j->w, oy, j->wo, o);
  if (j->act == MC_ACT_GELU)
    mc_gelu_inplace (o, row_len);
  else if (j->act == MC_ACT_RELU)
    for (size_t i = 0; i < row_len; i++)
      o[i] = o[i] > 0.0f ? o[i] : 0.0f;
}

/* Rows of the batch are the work items. */
static void
conv_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const conv_job *j = p;
  const mc_conv *c = j->c;

  for (int64_t r = r0; r < r1; r++) {
    const int b = (int) (r / j->ho), oy = (int) (r % j->ho);
    conv_row_act (j, j->in + (size_t) b * j->h * j->w * c->cin, oy,
        j->out + ((size_t) b * j->ho + oy) * j->wo * c->cout);
  }
}

static row_fn
pick_row (const mc_conv *c)
{
  const mc_op_kernels *k = mc_op_kernels_get ();

  if (c->groups == 1)
    return k->full_row;
  if (c->groups == c->cin && (c->cout == c->cin || c->cout == 2 * c->cin))
    return k->chan_row;
  return grouped_row;
}

void
mc_conv_rows (const mc_conv *c, const float *in, int h, int w, int oy0,
    int oy1, float *out, mc_act act)
{
  conv_job j = { c, in, out, h, w,
    mc_conv_out_size (h, c->kh, c->stride_h, c->pad_h),
    mc_conv_out_size (w, c->kw, c->stride_w, c->pad_w), act, pick_row (c) };

  for (int oy = oy0; oy < oy1; oy++)
    conv_row_act (&j, in, oy, out + (size_t) (oy - oy0) * j.wo * c->cout);
}

void
mc_conv_forward (mc_threadpool *pool, const mc_conv *c, const float *in,
    int n, int h, int w, float *out, mc_act act)
{
  conv_job j = { c, in, out, h, w,
    mc_conv_out_size (h, c->kh, c->stride_h, c->pad_h),
    mc_conv_out_size (w, c->kw, c->stride_w, c->pad_w), act, pick_row (c) };

  mc_parallel_for (pool, (int64_t) n * j.ho, 1, conv_rows, &j);
}
