/* conv.c — direct (grouped and depthwise) convolutions, channels-last. */
#include "conv.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "activation.h"
#include "runtime/cpu.h"

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
  void (*row) (const mc_conv *, const float *, int, int, int, int, float *, mc_act);
} conv_job;

/* The activation runs once per output pixel over its channels, with the
 * GEMM's vectorized exact GELU. */
static inline void
apply_act (float *v, int n, mc_act act)
{
  if (act == MC_ACT_GELU)
    mc_gelu_inplace (v, (size_t) n);
  else if (act == MC_ACT_RELU)
    for (int i = 0; i < n; i++)
      v[i] = v[i] > 0.0f ? v[i] : 0.0f;
}

/* One output pixel, channels [ch0, ch0 + B): B accumulators stay in
 * registers across all taps.  B is a compile-time constant at every call;
 * B = 64 gives 8 (AVX2) independent add chains, enough to hide latency. */
static inline __attribute__ ((always_inline)) void
dw_block (const mc_conv *c, const float *in, int w, int oy, int ox, int ky0, int ky1,
    int kx0, int kx1, int ch0, float *o, const int B)
{
  const int C = c->cout;
  float acc[B];
  for (int k = 0; k < B; k++)
    acc[k] = c->bias[ch0 + k];
  for (int ky = ky0; ky < ky1; ky++) {
    const int iy = oy * c->stride_h - c->pad_h + ky;
    const float *restrict srow = in + ((size_t) iy * w + ox * c->stride_w - c->pad_w) * C + ch0;
    const float *restrict wrow = c->weight + (size_t) ky * c->kw * C + ch0;
    for (int kx = kx0; kx < kx1; kx++)
      for (int k = 0; k < B; k++)
        acc[k] += srow[(size_t) kx * C + k] * wrow[(size_t) kx * C + k];
  }
  memcpy (o + ch0, acc, sizeof acc);
}

/* Depthwise (one input, one output per group): the channel loop is innermost
 * and contiguous in input, weight and output; tap ranges are clipped once
 * per pixel so the inner loops have no bounds checks. */
static inline __attribute__ ((always_inline)) void
dw_row_body (const mc_conv *c, const float *in, int h, int w, int oy, int wo,
    float *out, mc_act act)
{
  const int C = c->cout;
  const int ky0 = MAX (0, c->pad_h - oy * c->stride_h);
  const int ky1 = MIN (c->kh, h + c->pad_h - oy * c->stride_h);

  for (int ox = 0; ox < wo; ox++) {
    const int kx0 = MAX (0, c->pad_w - ox * c->stride_w);
    const int kx1 = MIN (c->kw, w + c->pad_w - ox * c->stride_w);
    float *restrict o = out + (size_t) ox * C;
    int ch0 = 0;
    for (; ch0 + 64 <= C; ch0 += 64)
      dw_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, ch0, o, 64);
    for (; ch0 + 16 <= C; ch0 += 16)
      dw_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, ch0, o, 16);
    for (; ch0 < C; ch0++)
      dw_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, ch0, o, 1);
    apply_act (o, C, act);
  }
}

static void
dw_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const conv_job *j = p;
  const int C = j->c->cout;
  for (int64_t r = r0; r < r1; r++) {
    const int b = (int) (r / j->ho), oy = (int) (r % j->ho);
    j->row (j->c, j->in + (size_t) b * j->h * j->w * C, j->h, j->w, oy, j->wo,
        j->out + ((size_t) b * j->ho + oy) * j->wo * C, j->act);
  }
}

/* General grouped conv, one output pixel, output channels [o0, o0 + B) kept
 * in registers across all taps.  Two shapes get loops the compiler
 * vectorizes well: a full conv (groups 1, output channels innermost in the
 * weights) and one input channel feeding `cog` outputs (the downsample and
 * conv_exp convs: output o reads input o / cog). */
static inline __attribute__ ((always_inline)) void
grouped_block (const mc_conv *c, const float *in, int w, int oy, int ox, int ky0, int ky1,
    int kx0, int kx1, int o0, float *o, const int B)
{
  const int Cin = c->cin, Cout = c->cout;
  const int cig = Cin / c->groups, cog = Cout / c->groups;
  float acc[B];

  for (int k = 0; k < B; k++)
    acc[k] = c->bias[o0 + k];
  for (int ky = ky0; ky < ky1; ky++) {
    const int iy = oy * c->stride_h - c->pad_h + ky;
    for (int kx = kx0; kx < kx1; kx++) {
      const int ix = ox * c->stride_w - c->pad_w + kx;
      const float *restrict src = in + ((size_t) iy * w + ix) * Cin;
      const float *restrict wt = c->weight + ((size_t) ky * c->kw + kx) * cig * Cout + o0;
      if (c->groups == 1) {
        for (int i = 0; i < cig; i++)
          for (int k = 0; k < B; k++)
            acc[k] += src[i] * wt[(size_t) i * Cout + k];
      } else if (cig == 1 && cog == 2) {
        for (int k = 0; k < B; k++)
          acc[k] += src[(o0 + k) >> 1] * wt[k];
      } else {
        for (int k = 0; k < B; k++) {
          const int oc = o0 + k, g = oc / cog;
          for (int i = 0; i < cig; i++)
            acc[k] += src[g * cig + i] * wt[(size_t) i * Cout + k];
        }
      }
    }
  }
  memcpy (o + o0, acc, sizeof acc);
}

static inline __attribute__ ((always_inline)) void
grouped_row_body (const mc_conv *c, const float *in, int h, int w, int oy, int wo,
    float *out, mc_act act)
{
  const int Cout = c->cout;
  const int ky0 = MAX (0, c->pad_h - oy * c->stride_h);
  const int ky1 = MIN (c->kh, h + c->pad_h - oy * c->stride_h);

  for (int ox = 0; ox < wo; ox++) {
    const int kx0 = MAX (0, c->pad_w - ox * c->stride_w);
    const int kx1 = MIN (c->kw, w + c->pad_w - ox * c->stride_w);
    float *restrict o = out + (size_t) ox * Cout;
    int o0 = 0;
    for (; o0 + 32 <= Cout; o0 += 32)
      grouped_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, o0, o, 32);
    for (; o0 + 8 <= Cout; o0 += 8)
      grouped_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, o0, o, 8);
    for (; o0 < Cout; o0++)
      grouped_block (c, in, w, oy, ox, ky0, ky1, kx0, kx1, o0, o, 1);
    apply_act (o, Cout, act);
  }
}

static void
grouped_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const conv_job *j = p;
  const mc_conv *c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const int b = (int) (r / j->ho), oy = (int) (r % j->ho);
    j->row (c, j->in + (size_t) b * j->h * j->w * c->cin, j->h, j->w, oy, j->wo,
        j->out + ((size_t) b * j->ho + oy) * j->wo * c->cout, j->act);
  }
}

/* Each row kernel is compiled for three instruction sets from one body (the
 * compiler vectorizes the channel loops); conv_row_kernels picks the best the
 * CPU and OS allow (runtime/cpu.h), so one binary runs on any x86-64. */
#define ROW_ARGS const mc_conv *c, const float *in, int h, int w, int oy, int wo, \
    float *out, mc_act act
#define ROW_CALL c, in, h, w, oy, wo, out, act

typedef void (*row_fn) (ROW_ARGS);

static void dw_row_portable (ROW_ARGS) { dw_row_body (ROW_CALL); }
static void grouped_row_portable (ROW_ARGS) { grouped_row_body (ROW_CALL); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__ ((target ("avx2,fma"))) static void dw_row_avx2 (ROW_ARGS) { dw_row_body (ROW_CALL); }
__attribute__ ((target ("avx2,fma"))) static void grouped_row_avx2 (ROW_ARGS) { grouped_row_body (ROW_CALL); }
__attribute__ ((target ("avx512f,avx512dq,avx512bw,avx512vl,fma"))) static void dw_row_avx512 (ROW_ARGS) { dw_row_body (ROW_CALL); }
__attribute__ ((target ("avx512f,avx512dq,avx512bw,avx512vl,fma"))) static void grouped_row_avx512 (ROW_ARGS) { grouped_row_body (ROW_CALL); }
#endif

static void
conv_row_kernels (row_fn *dw, row_fn *grouped)
{
#if defined(__x86_64__) && defined(__GNUC__)
  const mc_cpu_features *f = mc_cpu_get_features ();
  if (f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl && f->fma) {
    *dw = dw_row_avx512;
    *grouped = grouped_row_avx512;
    return;
  }
  if (f->avx2 && f->fma) {
    *dw = dw_row_avx2;
    *grouped = grouped_row_avx2;
    return;
  }
#endif
  *dw = dw_row_portable;
  *grouped = grouped_row_portable;
}

void
mc_conv_forward (mc_threadpool *pool, const mc_conv *c, const float *in,
    int n, int h, int w, float *out, mc_act act)
{
  conv_job j = { c, in, out, h, w,
    mc_conv_out_size (h, c->kh, c->stride_h, c->pad_h),
    mc_conv_out_size (w, c->kw, c->stride_w, c->pad_w), act, NULL };
  int64_t rows = (int64_t) n * j.ho;
  int dw = (c->groups == c->cin && c->groups == c->cout);
  row_fn dw_fn, grouped_fn;

  conv_row_kernels (&dw_fn, &grouped_fn);
  j.row = dw ? dw_fn : grouped_fn;
  mc_parallel_for (pool, rows, 1, dw ? dw_rows : grouped_rows, &j);
}
