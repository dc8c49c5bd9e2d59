/* op_kernel_template.h — the direct conv and softmax kernels of one ISA
 * variant, written once for every vector width (see op_kernels.h for what
 * each computes).  Included once per file by op_kernels.c (portable) and by
 * x86/ops_avx2.c and x86/ops_avx512.c, each compiled with its own ISA flags.
 *
 * The includer defines, before including:
 *   MC_T_SYMBOL, MC_T_LABEL   the mc_op_kernels object and its name
 *   MC_VL                     floats per vector
 *   MC_NV, MC_P               register tile of the convs: MC_P output pixels
 *                             × MC_NV vectors of channels
 *   vf, vi                    GCC vectors of MC_VL floats / int32 (operators
 *                             work on them; casts between them reinterpret)
 *   v_load, v_store (unaligned), v_set1, v_max,
 *   v_fma (a·b + c, fused where the ISA can; s_fma is its scalar twin, the
 *   same rounding), v_load_dup2 (MC_VL/2 floats, each twice in a row)
 */
#include <math.h>
#include <string.h>

#include "op_kernels.h"

#define MC_INLINE static inline __attribute__ ((always_inline))

/* Sliding depthwise strips (slide_strip): pixels per strip for 3- and
 * 7-wide kernels; P accumulators + KW weights + 1 input must fit the
 * register file (16 vector registers unless the includer says more). */
#ifndef MC_DW_P3
#define MC_DW_P3 8
#endif
#ifndef MC_DW_P7
#define MC_DW_P7 6
#endif
#define MC_DW_MAXP (MC_DW_P3 > MC_DW_P7 ? MC_DW_P3 : MC_DW_P7)
#if MC_DW_MAXP != 4 && MC_DW_MAXP != 8 && MC_DW_MAXP != 12 && MC_DW_MAXP != 16
#error "slide_tail has instances for strips of up to 4, 8, 12 or 16 pixels"
#endif
#define MC_DW_MAXKW 7

MC_INLINE int imin (int a, int b) { return a < b ? a : b; }
MC_INLINE int imax (int a, int b) { return a > b ? a : b; }

/* ---- direct convs --------------------------------------------------------
 *
 * A strip is P neighbouring output pixels of one row × NV vectors of output
 * channels: P·NV accumulators stay in registers over all taps, and each
 * weight vector, loaded once per tap, serves the P pixels.  Interior strips
 * (every tap inside the image) run without checks; strips at the left and
 * right borders, and short ones (np < P pixels), check each pixel and tap.
 * Taps above and below the image are clipped once per row (ky0..ky1).  The
 * taps of one output are summed in the same order either way. */

typedef struct {
  const float *in;       /* input image, already offset to the strip's first
                            input channel */
  const float *wt;       /* weights, offset to the strip's first output */
  const float *bias;
  float *out;            /* output row, offset to (first pixel, first output) */
  int w;                 /* input width */
  ptrdiff_t cin, cout;
  int kw, sx;            /* kernel width, horizontal stride */
  int iy0, ky0, ky1;     /* input row of tap row 0; valid tap rows */
  int ix0;               /* input column of tap column 0 for the first pixel */
  int np;                /* pixels in this strip (checked strips only) */
} strip;

/* Output channel o reads input channel o / M (M = 1: depthwise, 2: one
 * input per two outputs). */
MC_INLINE void
chan_strip (const int P, const int NV, const int M, const int checked,
    const strip *s)
{
  vf acc[MC_P][MC_NV];   /* constant bounds: no VLA, all in registers */

#pragma GCC unroll 16
  for (int p = 0; p < P; p++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++)
      acc[p][j] = v_load (s->bias + j * MC_VL);

  for (int ky = s->ky0; ky < s->ky1; ky++) {
    const float *row = s->in + (ptrdiff_t) (s->iy0 + ky) * s->w * s->cin;
    const float *wrow = s->wt + (ptrdiff_t) ky * s->kw * s->cout;
    for (int kx = 0; kx < s->kw; kx++) {
      vf wv[MC_NV];
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++)
        wv[j] = v_load (wrow + kx * s->cout + j * MC_VL);
#pragma GCC unroll 16
      for (int p = 0; p < P; p++) {
        const int ix = s->ix0 + p * s->sx + kx;
        const float *src;
        if (checked && (p >= s->np || ix < 0 || ix >= s->w))
          continue;
        src = row + (ptrdiff_t) ix * s->cin;
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++)
          acc[p][j] = v_fma (M == 1 ? v_load (src + j * MC_VL)
              : v_load_dup2 (src + j * (MC_VL / 2)), wv[j], acc[p][j]);
      }
    }
  }

#pragma GCC unroll 16
  for (int p = 0; p < P; p++)
    if (!checked || p < s->np)
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++)
        v_store (s->out + p * s->cout + j * MC_VL, acc[p][j]);
}

/* Full conv (groups = 1): every input channel i of every tap feeds all
 * outputs; the input value is broadcast, the weights are rows of cout.
 * CIN and KW, when not 0, are the input channels and kernel width known at
 * compile time (the RGB stem's 3 and 3): the tap loops then unroll. */
MC_INLINE void
full_strip (const int P, const int NV, const int checked, const int CIN,
    const int KW, const strip *s)
{
  vf acc[MC_P][MC_NV];   /* constant bounds: no VLA, all in registers */
  const int cin = CIN ? CIN : s->cin, kw = KW ? KW : s->kw;

#pragma GCC unroll 16
  for (int p = 0; p < P; p++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++)
      acc[p][j] = v_load (s->bias + j * MC_VL);

  for (int ky = s->ky0; ky < s->ky1; ky++) {
    const float *row = s->in + (ptrdiff_t) (s->iy0 + ky) * s->w * cin;
    const float *wrow = s->wt + (ptrdiff_t) ky * kw * cin * s->cout;
#pragma GCC unroll 4
    for (int kx = 0; kx < kw; kx++) {
#pragma GCC unroll 4
      for (int i = 0; i < cin; i++) {
        vf wv[MC_NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++)
          wv[j] = v_load (wrow + (kx * cin + i) * s->cout + j * MC_VL);
#pragma GCC unroll 16
        for (int p = 0; p < P; p++) {
          const int ix = s->ix0 + p * s->sx + kx;
          vf a;
          if (checked && (p >= s->np || ix < 0 || ix >= s->w))
            continue;
          a = v_set1 (row[(ptrdiff_t) ix * cin + i]);
#pragma GCC unroll 8
          for (int j = 0; j < NV; j++)
            acc[p][j] = v_fma (a, wv[j], acc[p][j]);
        }
      }
    }
  }

#pragma GCC unroll 16
  for (int p = 0; p < P; p++)
    if (!checked || p < s->np)
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++)
        v_store (s->out + p * s->cout + j * MC_VL, acc[p][j]);
}

/* kind: 1 or 2 = chan_strip with that M, 0 = full_strip */
MC_INLINE void
run_strip (const int kind, const int NV, const int checked, const strip *s)
{
  if (kind == 0 && s->cin == 3 && s->kw == 3)
    full_strip (MC_P, NV, checked, 3, 3, s);
  else if (kind == 0)
    full_strip (MC_P, NV, checked, 0, 0, s);
  else
    chan_strip (MC_P, NV, kind, checked, s);
}

/* Output channels the vector strips do not cover (fewer than MC_VL), one
 * pixel and one channel at a time, in the same tap order. */
MC_INLINE void
scalar_tail (const int kind, const mc_conv *c, const float *in, int h, int w,
    int oy, int wo, float *out, int o0)
{
  const int cin = c->cin, cout = c->cout, kw = c->kw;
  const int iy0 = oy * c->stride_h - c->pad_h;

  for (int ox = 0; ox < wo; ox++) {
    const int ix0 = ox * c->stride_w - c->pad_w;
    for (int o = o0; o < cout; o++) {
      float a = c->bias[o];
      for (int ky = 0; ky < c->kh; ky++) {
        const int iy = iy0 + ky;
        if (iy < 0 || iy >= h)
          continue;
        for (int kx = 0; kx < kw; kx++) {
          const int ix = ix0 + kx;
          const float *src;
          if (ix < 0 || ix >= w)
            continue;
          src = in + ((ptrdiff_t) iy * w + ix) * cin;
          if (kind == 0) {
            for (int i = 0; i < cin; i++)
              a = s_fma (src[i], c->weight[(((ptrdiff_t) ky * kw + kx) * cin + i) * cout + o], a);
          } else {
            a = s_fma (src[o / kind], c->weight[((ptrdiff_t) ky * kw + kx) * cout + o], a);
          }
        }
      }
      out[(ptrdiff_t) ox * cout + o] = a;
    }
  }
}

/* Points a strip at output channel o0 and output pixel ox of the row. */
MC_INLINE void
at_strip (strip *s, const strip *row, const int kind, int o0, int ox, int pad)
{
  s->in = row->in + (kind ? o0 / kind : 0);
  s->wt = row->wt + o0;
  s->bias = row->bias + o0;
  s->out = row->out + o0 + ox * s->cout;
  s->ix0 = ox * s->sx - pad;
}

/* Depthwise, stride 1, kernel width KW known at compile time: P output
 * pixels × one vector of channels.  Along a tap row, input pixel t of the
 * strip feeds outputs t - KW + 1 .. t, so each input vector is loaded once
 * and serves up to KW accumulators, with the row's KW weight vectors held
 * in registers (chan_strip loads every input once per output it feeds:
 * about one load per FMA, which bounds it at half the FMA rate).  Checked
 * strips skip input pixels outside the row, which are the zero padding.
 * Output p still receives its taps in (ky, kx) order, skipping the same
 * ones: the same sums, bit for bit, as chan_strip. */
MC_INLINE void
slide_strip (const int P, const int KW, const int checked, const strip *s)
{
  vf acc[MC_DW_MAXP];

#pragma GCC unroll 32
  for (int p = 0; p < P; p++)
    acc[p] = v_load (s->bias);

  for (int ky = s->ky0; ky < s->ky1; ky++) {
    const float *row = s->in + ((ptrdiff_t) (s->iy0 + ky) * s->w + s->ix0) * s->cin;
    const float *wrow = s->wt + (ptrdiff_t) ky * KW * s->cout;
    vf wv[MC_DW_MAXKW];
#pragma GCC unroll 16
    for (int kx = 0; kx < KW; kx++)
      wv[kx] = v_load (wrow + kx * s->cout);
#pragma GCC unroll 48
    for (int t = 0; t < P + KW - 1; t++) {
      vf x;
      if (checked && (s->ix0 + t < 0 || s->ix0 + t >= s->w))
        continue;
      x = v_load (row + t * s->cin);
#pragma GCC unroll 16
      for (int kx = KW - 1; kx >= 0; kx--)
        if (t - kx >= 0 && t - kx < P)
          acc[t - kx] = v_fma (x, wv[kx], acc[t - kx]);
    }
  }

#pragma GCC unroll 32
  for (int p = 0; p < P; p++)
    v_store (s->out + p * s->cout, acc[p]);
}

/* r ≤ MC_DW_MAXP pixels as one checked strip of r (the last r < P of a
 * row, or a short row's strip): each r its own instance, so that every
 * accumulator is a register. */
MC_INLINE void
slide_tail (const int KW, int r, const strip *s)
{
#define MC_TAIL(n) case n: slide_strip (n, KW, 1, s); return;
  switch (r) {
    MC_TAIL (1) MC_TAIL (2) MC_TAIL (3) MC_TAIL (4)
#if MC_DW_MAXP >= 8
    MC_TAIL (5) MC_TAIL (6) MC_TAIL (7) MC_TAIL (8)
#endif
#if MC_DW_MAXP >= 12
    MC_TAIL (9) MC_TAIL (10) MC_TAIL (11) MC_TAIL (12)
#endif
#if MC_DW_MAXP >= 16
    MC_TAIL (13) MC_TAIL (14) MC_TAIL (15) MC_TAIL (16)
#endif
    default: return;
  }
#undef MC_TAIL
}

/* A whole row of channels [o_begin, o_end) in sliding strips of KW-wide
 * kernels: strips of P pixels from the left, then one of the r < P pixels
 * left.  Strips that reach into the padding check their inputs. */
MC_INLINE void
slide_row_kw (const int KW, const int P, const strip *row, int o_begin,
    int o_end, int pad, int wo)
{
  strip s = *row;
  int ox = 0;

  for (; ox + P <= wo; ox += P) {
    const int inside = ox - pad >= 0 && ox - pad + P + KW - 1 <= s.w;
    for (int o0 = o_begin; o0 < o_end; o0 += MC_VL) {
      at_strip (&s, row, 1, o0, ox, pad);
      if (inside)
        slide_strip (P, KW, 0, &s);
      else
        slide_strip (P, KW, 1, &s);
    }
  }
  if (ox < wo)
    for (int o0 = o_begin; o0 < o_end; o0 += MC_VL) {
      at_strip (&s, row, 1, o0, ox, pad);
      slide_tail (KW, wo - ox, &s);
    }
}

/* one function per kernel width, out of line: inlined into conv_row, they
 * made the compiler schedule the other strips worse */
static __attribute__ ((noinline)) void
slide_row_3 (const strip *row, int o_begin, int o_end, int pad, int wo)
{
  slide_row_kw (3, MC_DW_P3, row, o_begin, o_end, pad, wo);
}

static __attribute__ ((noinline)) void
slide_row_7 (const strip *row, int o_begin, int o_end, int pad, int wo)
{
  slide_row_kw (7, MC_DW_P7, row, o_begin, o_end, pad, wo);
}

/* A row narrower than two strips of P (stage 3's 16 pixels and stage 4's 8
 * for AVX-512's P of 16) in as few near-equal checked strips as fit: one of
 * 16 or of 8; 12 pixels with a P of 8 make two of 6.  Strips narrower than
 * MC_DW_MIN_SHORT leave too few accumulators to hide the FMA latency, so
 * such rows keep chan_strip's P×NV tile (slide_row).  Same sums, bit for
 * bit, as either. */
#define MC_DW_MIN_SHORT 6
MC_INLINE void
slide_short_row_kw (const int KW, const int P, const strip *row, int o_begin,
    int o_end, int pad, int wo)
{
  strip s = *row;
  int ox = 0, left = wo;

  for (int k = (wo + P - 1) / P; k > 0; k--) {
    const int np = (left + k - 1) / k;
    for (int o0 = o_begin; o0 < o_end; o0 += MC_VL) {
      at_strip (&s, row, 1, o0, ox, pad);
      slide_tail (KW, np, &s);
    }
    ox += np;
    left -= np;
  }
}

static __attribute__ ((noinline)) void
slide_short_row_3 (const strip *row, int o_begin, int o_end, int pad, int wo)
{
  slide_short_row_kw (3, MC_DW_P3, row, o_begin, o_end, pad, wo);
}

static __attribute__ ((noinline)) void
slide_short_row_7 (const strip *row, int o_begin, int o_end, int pad, int wo)
{
  slide_short_row_kw (7, MC_DW_P7, row, o_begin, o_end, pad, wo);
}

/* whether a row of wo < 2·P pixels splits into strips of MC_DW_MIN_SHORT
 * or more (the narrowest is wo / strips, rounded down) */
MC_INLINE int
short_row_fits (int wo, int P)
{
  return wo / ((wo + P - 1) / P) >= MC_DW_MIN_SHORT;
}

/* The row in sliding strips where the conv has them (depthwise, stride 1,
 * 3 or 7 wide); returns 0 where not. */
MC_INLINE int
slide_row (const int kind, const strip *row, int o_begin, int o_end, int pad,
    int wo)
{
  if (kind != 1 || row->sx != 1)
    return 0;
  if (row->kw == 3 && wo >= 2 * MC_DW_P3)
    slide_row_3 (row, o_begin, o_end, pad, wo);
  else if (row->kw == 3 && short_row_fits (wo, MC_DW_P3))
    slide_short_row_3 (row, o_begin, o_end, pad, wo);
  else if (row->kw == 7 && wo >= 2 * MC_DW_P7)
    slide_row_7 (row, o_begin, o_end, pad, wo);
  else if (row->kw == 7 && short_row_fits (wo, MC_DW_P7))
    slide_short_row_7 (row, o_begin, o_end, pad, wo);
  else
    return 0;
  return 1;
}

/* Checked strips over pixels [ox, end): as few as fit, of near-equal
 * widths (7 pixels make 4 + 3, not 6 + 1: a 1-pixel strip has only NV
 * accumulators, too few to hide the FMA latency). */
MC_INLINE void
checked_strips (const int kind, const int NV, const strip *row, strip *s,
    int o_begin, int o_end, int pad, int ox, int end)
{
  int left = end - ox, strips = (left + MC_P - 1) / MC_P;

  for (; strips > 0; strips--) {
    s->np = (left + strips - 1) / strips;
    for (int o0 = o_begin; o0 < o_end; o0 += NV * MC_VL) {
      at_strip (s, row, kind, o0, ox, pad);
      run_strip (kind, NV, 1, s);
    }
    ox += s->np;
    left -= s->np;
  }
}

/* Output channels [o_begin, o_end) in blocks of NV vectors across the row,
 * each strip position running all those blocks (the strip's input pixels
 * are whole contiguous runs of memory, read once from L2 into L1):
 * checked strips over the left border, unchecked ones over the interior
 * [lo, hi), checked ones over what is left (all checked when the interior
 * is narrower than a strip). */
MC_INLINE void
span_row (const int kind, const int NV, const strip *row, int o_begin,
    int o_end, int pad, int wo, int lo, int hi)
{
  strip s = *row;
  int ox = 0;

  if (slide_row (kind, row, o_begin, o_end, pad, wo))
    return;
  if (hi - lo >= MC_P) {
    checked_strips (kind, NV, row, &s, o_begin, o_end, pad, 0, lo);
    for (ox = lo; ox + MC_P <= hi; ox += MC_P)
      for (int o0 = o_begin; o0 < o_end; o0 += NV * MC_VL) {
        at_strip (&s, row, kind, o0, ox, pad);
        run_strip (kind, NV, 0, &s);
      }
  }
  checked_strips (kind, NV, row, &s, o_begin, o_end, pad, ox, wo);
}

MC_INLINE void
conv_row (const int kind, const mc_conv *c, const float *in, int h, int w,
    int oy, int wo, float *out)
{
  const int sx = c->stride_w, pad = c->pad_w, kw = c->kw, cout = c->cout;
  const int last = w + pad - kw;   /* ox·sx ≤ last: every tap inside */
  const int lo = imin (wo, (pad + sx - 1) / sx);
  const int hi = last >= 0 ? imin (wo, last / sx + 1) : 0;
  const int cb = MC_NV * MC_VL, full_end = cout / cb * cb, vec_end = cout / MC_VL * MC_VL;
  strip s;

  s.in = in;
  s.wt = c->weight;
  s.bias = c->bias;
  s.out = out;
  s.w = w;
  s.cin = c->cin;
  s.cout = cout;
  s.kw = kw;
  s.sx = sx;
  s.iy0 = oy * c->stride_h - c->pad_h;
  s.ky0 = imax (0, -s.iy0);
  s.ky1 = imin (c->kh, h - s.iy0);

  if (full_end > 0)
    span_row (kind, MC_NV, &s, 0, full_end, pad, wo, lo, hi);
  if (full_end < vec_end)
    span_row (kind, 1, &s, full_end, vec_end, pad, wo, lo, hi);
  if (vec_end < cout)
    scalar_tail (kind, c, in, h, w, oy, wo, out, vec_end);
}

static void
chan_row (const mc_conv *c, const float *in, int h, int w, int oy, int wo,
    float *out)
{
  if (c->cout == c->cin)
    conv_row (1, c, in, h, w, oy, wo, out);
  else
    conv_row (2, c, in, h, w, oy, wo, out);
}

static void
full_row (const mc_conv *c, const float *in, int h, int w, int oy, int wo,
    float *out)
{
  conv_row (0, c, in, h, w, oy, wo, out);
}

/* ---- softmax --------------------------------------------------------------
 *
 * e^x for x ≤ 0 (Cephes' expf scheme): x = n·ln2 + r with |r| ≤ ln2/2, ln2
 * in two parts so that n·C1 is exact, a degree-6 polynomial for e^r, 2^n
 * through the exponent bits.  Within 2 ulp of e^x; x below −87 gives
 * e^−87 ≈ 1.6e-38 instead of a denormal or 0, which no softmax sum of
 * terms ≥ 1 can tell apart. */
MC_INLINE vf
v_exp_nonpositive (vf x)
{
  const vf shifter = v_set1 (12582912.0f);   /* 1.5·2^23: rounds to integer */
  vf t, nf, r, p, y;
  vi n;

  x = v_max (x, v_set1 (-87.0f));
  t = v_fma (x, v_set1 (1.44269504088896341f), shifter);
  nf = t - shifter;
  n = (vi) t - (vi) shifter;
  r = v_fma (nf, v_set1 (-0.693359375f), x);
  r = v_fma (nf, v_set1 (2.12194440e-4f), r);
  p = v_set1 (1.9875691500e-4f);
  p = v_fma (p, r, v_set1 (1.3981999507e-3f));
  p = v_fma (p, r, v_set1 (8.3334519073e-3f));
  p = v_fma (p, r, v_set1 (4.1665795894e-2f));
  p = v_fma (p, r, v_set1 (1.6666665459e-1f));
  p = v_fma (p, r, v_set1 (5.0000001201e-1f));
  y = v_fma (p, r * r, r) + v_set1 (1.0f);
  return y * (vf) ((n + 127) << 23);
}

static void
softmax_rows (float *s, ptrdiff_t lds, int m, int n, int causal_base)
{
  for (int i = 0; i < m; i++) {
    float *row = s + i * lds;
    const int valid = causal_base >= 0 ? imin (n, causal_base + i + 1) : n;
    const int nv = valid / MC_VL * MC_VL;
    float buf[MC_VL], mx = -INFINITY, sum = 0.0f, inv;
    vf vmx = v_set1 (-INFINITY), vsum = v_set1 (0.0f), vm, vinv;

    for (int k = 0; k < nv; k += MC_VL)
      vmx = v_max (vmx, v_load (row + k));
    v_store (buf, vmx);
    for (int l = 0; l < MC_VL; l++)
      mx = buf[l] > mx ? buf[l] : mx;
    for (int k = nv; k < valid; k++)
      mx = row[k] > mx ? row[k] : mx;

    vm = v_set1 (mx);
    for (int k = 0; k < nv; k += MC_VL) {
      const vf e = v_exp_nonpositive (v_load (row + k) - vm);
      v_store (row + k, e);
      vsum += e;
    }
    v_store (buf, vsum);
    for (int l = 0; l < MC_VL; l++)
      sum += buf[l];
    if (nv < valid) {
      /* the last partial vector through a buffer, its unused lanes far
       * below the maximum */
      for (int l = 0; l < MC_VL; l++)
        buf[l] = nv + l < valid ? row[nv + l] : mx - 1000.0f;
      v_store (buf, v_exp_nonpositive (v_load (buf) - vm));
      for (int l = 0; nv + l < valid; l++) {
        row[nv + l] = buf[l];
        sum += buf[l];
      }
    }

    inv = 1.0f / sum;
    vinv = v_set1 (inv);
    for (int k = 0; k < nv; k += MC_VL)
      v_store (row + k, v_load (row + k) * vinv);
    for (int k = nv; k < valid; k++)
      row[k] *= inv;
    for (int k = valid; k < n; k++)
      row[k] = 0.0f;
  }
}

const mc_op_kernels MC_T_SYMBOL = {
  MC_T_LABEL, chan_row, full_row, softmax_rows,
};

#undef MC_INLINE
