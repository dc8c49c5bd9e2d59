/* test_gemm_bf16.c — the bf16 GEMM kernels (MC_GEMM_BF16 panels): every
 * kernel this CPU can run (AVX512-BF16 and AMX-BF16 where present; the log
 * says which ran and why others were skipped), plus the AVX512-BF16
 * kernel's code with VDPBF16PS emulated through AVX2
 * (gemm_bf16_avx512_geometry.c) and the AMX-BF16 kernel's code on a plain-C
 * model of the tiles (gemm_bf16_amx_emulated.c).
 *
 * 1. bf16 rounding (bf16.h) against an independent definition: round the
 *    8-bit significand to nearest even in double (frexp, nearbyint), zero
 *    for denormals, quiet NaNs, over all exponents and the tie cases.
 * 2. Products with the fused epilogue (bias, GELU, ReLU, residual, residual
 *    aliasing C, strides, 1 and 2 threads, odd K, K over several blocks),
 *    each output checked three ways:
 *    a. bit for bit (no activation or ReLU) against a scalar model of the
 *       documented arithmetic: A and W rounded to bf16, K cut into blocks of
 *       at most MC_GEMM_BF16_KC (even), per block acc = 0 then for each pair
 *       acc = ftz(fmaf(a_odd, w_odd, acc)), acc = ftz(fmaf(a_even, w_even,
 *       acc)) (Intel's VDPBF16PS), then the float epilogue in the kernels'
 *       order.  With GELU: the model's pre-activation through the reference
 *       GELU, within the coarse GELU's error (MC_TEST_GELU_COARSE_ERR·u·|pre|:
 *       bf16 products end in MC_ACT_GELU_COARSE) plus the residual's
 *       rounding.  The AMX kernels sum in TDPBF16PS's order instead
 *       (gemm_kernels.h): per 16 pairs of a K block, an even-product and an
 *       odd-product sum from 0, each fmaf then flush, then C += (even +
 *       odd), flushed; a second model does that.  The emulated AMX kernel
 *       must match it bit for bit; on real AVX512-BF16 and AMX hardware the
 *       match is only counted and printed (Intel documents each order as
 *       pseudo-code, and nobody here has checked silicon against it: a
 *       difference there would be the instruction's, not the kernel's), and
 *       (b) and (c) decide.  The emulations of both instructions, which run
 *       everywhere, must match.
 *    b. against a double-precision sum over the bf16-rounded inputs: the
 *       products of two bf16 are exact in float, so only the float
 *       summation errs, γ_(K+2)·(Σ|ã·w̃| + |bias| + |res|) (Higham §3.1),
 *       plus flushed denormals (under 2K·FLT_MIN) and the GELU terms as in
 *       test_gemm.c.  The bound holds for the AMX order too: a product there
 *       passes through at most ceil(kc/2) + ceil(kc/32) − 1 ≤ kc roundings
 *       per K block (its chain of ≤ 16 pairs, the pair sum, the C adds).
 *    c. against the double sum over the unrounded float inputs, which is
 *       what bf16 costs: |ã·w̃ − a·w| ≤ (2·2⁻⁸ + 2⁻¹⁶)·|a·w| for round to
 *       nearest (truncation would allow twice that), plus (b).
 * 3. Flush to zero: tiny inputs whose exact sums are denormal give ±0 in the
 *    model (as VDPBF16PS) and must in every kernel too.
 * 4. The pack format is thread-local.
 * 5. The AMX kernels' A packing pads rows to 16 with zeros, and (emulated)
 *    every product leaves the calling thread's tiles released.
 * 7. A product with GELU (coarse, or exact under the experiment) or ReLU
 *    gives the bits of the product without it followed by the slot's own
 *    activation: the AMX kernels apply it in their deferred epilogue.
 * The log shows, per variant, the largest errors relative to Σ|a·w| and to
 * the bounds.
 */
#include <float.h>
#include <glib.h>
#include <math.h>

#include "ops/bf16.h"
#include "ops/gemm.h"
#include "ops/gemm_kernels.h"
#include "runtime/cpu.h"
#include "runtime/threadpool.h"
#include "test_util.h"

static const double U = 1.0 / 16777216.0;    /* float unit roundoff, 2^-24 */
static const double UB = 1.0 / 256.0;        /* bf16 unit roundoff, 2^-8 */

static guint32 rng_state = 2024;

static float
rnd (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float) ((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static guint32
rnd_bits (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  guint32 hi = rng_state >> 16;
  rng_state = rng_state * 1664525u + 1013904223u;
  return (hi << 16) | (rng_state >> 16);
}

/* ---- 1. rounding ---- */

static float
from_bits (guint32 u)
{
  float x;
  memcpy (&x, &u, sizeof x);
  return x;
}

static guint32
bits (float x)
{
  guint32 u;
  memcpy (&u, &x, sizeof u);
  return u;
}

/* bf16 bits of x by an independent route (not for NaN) */
static guint16
ref_bf16 (float x)
{
  int e;
  double m, r;
  float f;
  guint32 u;

  if (x == 0.0f || fpclassify (x) == FP_SUBNORMAL)
    return signbit (x) ? 0x8000 : 0;
  if (isinf (x))
    return x > 0 ? 0x7f80 : 0xff80;
  m = frexp (x, &e);                     /* |m| in [0.5, 1): 8 bits kept */
  r = ldexp (nearbyint (ldexp (m, 8)), e - 8);
  f = (float) r;                         /* exact, or ±inf past FLT_MAX */
  memcpy (&u, &f, sizeof u);
  g_assert ((u & 0xffff) == 0);
  return (guint16) (u >> 16);
}

static void
check_rounding (void)
{
  static const struct { guint32 in; guint16 out; } fixed[] = {
    { 0x3f808000, 0x3f80 },   /* tie, even below */
    { 0x3f818000, 0x3f82 },   /* tie, odd below: up */
    { 0x3f808001, 0x3f81 },
    { 0x7f7fffff, 0x7f80 },   /* FLT_MAX rounds to infinity */
    { 0x00000001, 0x0000 },   /* denormals to zero, sign kept */
    { 0x807fffff, 0x8000 },
    { 0x00800000, 0x0080 },   /* FLT_MIN */
    { 0x7fc00001, 0x7fc0 },   /* NaN stays NaN, quiet */
    { 0x7f800001, 0x7fc0 },
    { 0xff800000, 0xff80 },
  };
  int bad = 0;

  for (size_t i = 0; i < G_N_ELEMENTS (fixed); i++) {
    guint16 got = mc_bf16_from_f32 (from_bits (fixed[i].in));
    if (got != fixed[i].out) {
      fprintf (stderr, "bf16(0x%08x) = 0x%04x, expected 0x%04x\n",
          fixed[i].in, got, fixed[i].out);
      bad++;
    }
  }
  for (int i = 0; i < 2000000; i++) {
    guint32 u = rnd_bits ();
    float x = from_bits (u);
    if (isnan (x))
      continue;
    if (mc_bf16_from_f32 (x) != ref_bf16 (x))
      bad++;
    /* ties at every exponent */
    u = (u & 0xffff0000u) | 0x8000u;
    x = from_bits (u);
    if (!isnan (x) && mc_bf16_from_f32 (x) != ref_bf16 (x))
      bad++;
  }
  printf ("bf16 rounding: %zu fixed cases and 4M random floats and ties "
      "against frexp/nearbyint: %d wrong\n", G_N_ELEMENTS (fixed), bad);
  CHECK (bad == 0, "%d roundings differ", bad);
}

/* Each kernel's own A conversion (vectorized in some) on random bit
 * patterns, infinities, NaNs and denormals included, odd lengths too. */
static void
check_pack_a (const char *name, const mc_gemm_bf16_kernels *k, int words)
{
  static const guint32 specials[] = { 0x00000001, 0x807fffff, 0x80000000,
    0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x7f7fffff, 0x3f808000,
    0x3f818000 };
  const int rows = k->mr > 16 ? k->mr : 16, kc = 255, lda = 260;
  float *a = g_new (float, rows * lda);
  guint32 *out = g_new0 (guint32, rows * (kc + 1));
  int bad = 0;

  for (int i = 0; i < rows * lda; i++)
    a[i] = from_bits (rnd_bits ());
  for (size_t i = 0; i < G_N_ELEMENTS (specials); i++)
    a[i] = a[lda + 3 * i + 1] = from_bits (specials[i]);
  for (int len = kc; len >= kc - 1; len--) {
    k->pack_a (rows, len, a, lda, out);
    for (int i = 0; i < rows; i++)
      for (int q = 0; q < (len + 1) / 2; q++) {
        const float *x = a + i * lda + 2 * q;
        const float odd = 2 * q + 1 < len ? x[1] : 0.0f;
        if (words) {
          bad += out[i * ((len + 1) / 2) + q] != mc_bf16_pair (x[0], odd);
        } else {
          const guint32 *o = out + i * 2 * ((len + 1) / 2) + 2 * q;
          bad += o[0] != bits (mc_bf16_round (x[0]))
              || o[1] != bits (mc_bf16_round (odd));
        }
      }
  }
  printf ("  %-28s A conversion of %d random bit patterns: %d wrong\n", name,
      rows * (2 * kc - 1), bad);
  CHECK (bad == 0, "%s: %d A elements converted wrongly", name, bad);
  if (k->mr >= 16 && words) {
    /* the AMX kernels' A tiles have 16 rows (32 in a 32×32 block, which
     * the 32-row form uses for more than 16): the rows past m are zero */
    int nonzero = 0;
    for (int m = 1; m < rows; m += 6) {
      const int padded = m > 16 ? rows : 16;
      memset (out, 0xff, sizeof (guint32) * rows * (kc + 1));
      k->pack_a (m, kc - 2, a, lda, out);
      for (int i = m * ((kc - 1) / 2); i < padded * ((kc - 1) / 2); i++)
        nonzero += out[i] != 0;
    }
    printf ("  %-28s rows past m of the %d-row A slice: %d not zero\n", name,
        rows, nonzero);
    CHECK (nonzero == 0, "%s: %d padding words of A not zero", name, nonzero);
  }
  g_free (a);
  g_free (out);
}

/* ---- 2. products ---- */

/* The documented K blocking of bf16 products (gemm_kernels.h). */
static int
bf16_block (int K)
{
  int blocks = (K + MC_GEMM_BF16_KC - 1) / MC_GEMM_BF16_KC;
  return blocks > 1 ? ((K + blocks - 1) / blocks + 1) & ~1 : (K > 0 ? K : 1);
}

static float
ftz (float x)
{
  return fabsf (x) < FLT_MIN ? copysignf (0.0f, x) : x;
}

static double
gelu_ref (double x)
{
  return 0.5 * x * erfc (-x / sqrt (2.0));
}

/* One problem: inputs, and per output the model and the references. */
typedef struct {
  int M, N, K, lda, ldc, ldr;
  int use_bias, res_mode;     /* 0 none, 1 separate, 2 aliasing C */
  mc_act act;
  float *A, *W, *bias, *R;
  float *model;               /* the model's final output */
  double *pre_model;          /* its value before the activation */
  float *model_amx;           /* the same in TDPBF16PS's order */
  double *pre_model_amx;
  double *ref_b, *mag_b;      /* double sum over bf16 inputs, Σ|ã·w̃| */
  double *ref_f, *mag_f;      /* over the float inputs */
} problem;

typedef struct {
  /* max |err| / (Σ|a·w| + |bias| + |res|) and max |err| / bound against
   * the references over bf16-rounded (b) and float (f) inputs */
  double max_rel_b, max_ratio_b;
  double max_rel_b_long;        /* the same for K ≥ 1024 only, where the
                                   summation order, not the epilogue, rules */
  double max_rel_f, max_ratio_f;
  long exact, checked, flushed;
} stats;

/* Which model a kernel's bits are checked against, and how. */
typedef enum {
  ORDER_VDPBF16PS,      /* must match the VDPBF16PS-order model */
  ORDER_VDPBF16PS_COUNTED,  /* the real instruction: matches counted,
                               bounds decide */
  ORDER_AMX,            /* must match the TDPBF16PS-order model */
  ORDER_AMX_COUNTED,    /* real AMX: matches counted, bounds decide */
} order;

static int
order_is_vdp (order o)
{
  return o == ORDER_VDPBF16PS || o == ORDER_VDPBF16PS_COUNTED;
}

static int
order_counted (order o)
{
  return o == ORDER_VDPBF16PS_COUNTED || o == ORDER_AMX_COUNTED;
}

/* One K block (acc from 0) of row a and column w in TDPBF16PS's order, as
 * the AMX kernel issues it: instructions of 16 pairs (the last one takes
 * what is left), each with an even and an odd sum from 0, then C += the
 * two.  A pair past kc is (0, 0) in both operands, as packed. */
static float
amx_block (const float *a, const float *w, int k0, int kc)
{
  const int pairs = (kc + 1) / 2;
  float c = 0.0f;

  for (int q0 = 0; q0 < pairs; q0 += 16) {
    float even = 0.0f, odd = 0.0f;
    for (int q = q0; q < pairs && q < q0 + 16; q++) {
      const int ke = k0 + 2 * q, ko = ke + 1;
      const float ao = ko < k0 + kc ? mc_bf16_round (a[ko]) : 0.0f;
      const float wo = ko < k0 + kc ? mc_bf16_round (w[ko]) : 0.0f;
      even = ftz (fmaf (mc_bf16_round (a[ke]), mc_bf16_round (w[ke]), even));
      odd = ftz (fmaf (ao, wo, odd));
    }
    c = ftz (c + ftz (even + odd));
  }
  return c;
}

/* outputs where the two orders' models differ, and all outputs modelled:
 * shows that checking the AMX kernels against their own model is not the
 * same as against VDPBF16PS's */
static long orders_differ, orders_compared;

static void
model_outputs (problem *pr)
{
  const int kb = bf16_block (pr->K);

  for (int m = 0; m < pr->M; m++)
    for (int n = 0; n < pr->N; n++) {
      const float *a = pr->A + (size_t) m * pr->lda;
      const float *w = pr->W + (size_t) n * pr->K;
      const float r = pr->res_mode ? pr->R[(size_t) m * pr->ldr + n] : 0.0f;
      float s = 0.0f, sx = 0.0f;
      double sb = 0, mb = 0, sf = 0, mf = 0;
      int k0 = 0;

      do {
        const int kc = pr->K - k0 < kb ? pr->K - k0 : kb;
        const float acc_x = amx_block (a, w, k0, kc);
        float acc = 0.0f;
        for (int q = 0; q < (kc + 1) / 2; q++) {
          const int ke = k0 + 2 * q, ko = ke + 1;
          const float ao = ko < k0 + kc ? mc_bf16_round (a[ko]) : 0.0f;
          const float wo = ko < k0 + kc ? mc_bf16_round (w[ko]) : 0.0f;
          acc = ftz (fmaf (ao, wo, acc));
          acc = ftz (fmaf (mc_bf16_round (a[ke]), mc_bf16_round (w[ke]), acc));
        }
        /* the tile epilogue: acc, then + src, then + bias */
        if (k0 == 0) {
          s = acc;
          sx = acc_x;
          if (pr->res_mode && pr->act == MC_ACT_NONE) {
            s = s + r;
            sx = sx + r;
          }
          if (pr->use_bias) {
            s = s + pr->bias[n];
            sx = sx + pr->bias[n];
          }
        } else {
          s = acc + s;
          sx = acc_x + sx;
        }
        k0 += kc;
      } while (k0 < pr->K);

      for (int k = 0; k < pr->K; k++) {
        const double pb = (double) mc_bf16_round (a[k]) * mc_bf16_round (w[k]);
        const double pf = (double) a[k] * w[k];
        sb += pb;
        mb += fabs (pb);
        sf += pf;
        mf += fabs (pf);
      }
      if (pr->use_bias) {
        sb += pr->bias[n];
        sf += pr->bias[n];
      }
      {
        const size_t o = (size_t) m * pr->N + n;
        float out = s, out_x = sx;
        pr->pre_model[o] = s;
        pr->pre_model_amx[o] = sx;
        if (pr->act == MC_ACT_RELU) {
          out = s > 0.0f ? s : 0.0f;
          out_x = sx > 0.0f ? sx : 0.0f;
        }
        if (pr->act != MC_ACT_NONE && pr->res_mode) {
          out = out + r;
          out_x = out_x + r;
        }
        pr->model[o] = out;
        pr->model_amx[o] = out_x;
        orders_differ += bits (out) != bits (out_x);
        orders_compared++;
        pr->ref_b[o] = sb;
        pr->mag_b[o] = mb;
        pr->ref_f[o] = sf;
        pr->mag_f[o] = mf;
      }
    }
}

/* U(-1, 1), or for scale != 1 a random sign times scale·[0.5, 1) */
static float
scaled (float scale)
{
  const float x = rnd ();
  if (scale == 1.0f)
    return x;
  return copysignf ((0.5f + 0.5f * fabsf (x)) * scale, x);
}

static void
problem_init (problem *pr, int M, int N, int K, int use_bias, mc_act act,
    int res_mode, int pad, float scale_a, float scale_w)
{
  memset (pr, 0, sizeof *pr);
  pr->M = M;
  pr->N = N;
  pr->K = K;
  pr->use_bias = use_bias;
  pr->act = act;
  pr->res_mode = res_mode;
  pr->lda = K + (pad ? 3 : 0);
  pr->ldc = N + (pad ? 5 : 0);
  pr->ldr = res_mode == 2 ? pr->ldc : N + (pad ? 2 : 0);
  pr->A = g_new (float, (size_t) M * pr->lda);
  pr->W = g_new (float, (size_t) N * K);
  pr->bias = g_new (float, N);
  pr->R = g_new (float, (size_t) M * pr->ldr);
  for (size_t i = 0; i < (size_t) M * pr->lda; i++)
    pr->A[i] = scaled (scale_a);
  for (size_t i = 0; i < (size_t) N * K; i++)
    pr->W[i] = scaled (scale_w);
  for (int i = 0; i < N; i++)
    pr->bias[i] = rnd ();
  for (size_t i = 0; i < (size_t) M * pr->ldr; i++)
    pr->R[i] = res_mode ? rnd () : 0.0f;
  pr->model = g_new (float, (size_t) M * N);
  pr->pre_model = g_new (double, (size_t) M * N);
  pr->model_amx = g_new (float, (size_t) M * N);
  pr->pre_model_amx = g_new (double, (size_t) M * N);
  pr->ref_b = g_new (double, (size_t) M * N);
  pr->mag_b = g_new (double, (size_t) M * N);
  pr->ref_f = g_new (double, (size_t) M * N);
  pr->mag_f = g_new (double, (size_t) M * N);
  model_outputs (pr);
}

static void
problem_clear (problem *pr)
{
  g_free (pr->A);
  g_free (pr->W);
  g_free (pr->bias);
  g_free (pr->R);
  g_free (pr->model);
  g_free (pr->pre_model);
  g_free (pr->model_amx);
  g_free (pr->pre_model_amx);
  g_free (pr->ref_b);
  g_free (pr->mag_b);
  g_free (pr->ref_f);
  g_free (pr->mag_f);
}

static const char *
act_name (mc_act act)
{
  return act == MC_ACT_GELU ? "gelu" : act == MC_ACT_RELU ? "relu" : "none";
}

#ifdef MC_TEST_AMX_EMULATION
extern int mc_amx_emulated_configured (void);
#endif

/* Runs the product with the current variant's bf16 kernel and checks it
 * (bits against the model of its order). */
static void
run_problem (stats *st, const problem *pr, mc_threadpool *pool,
    const char *variant, order ord)
{
  const float *model = order_is_vdp (ord) ? pr->model : pr->model_amx;
  const double *pre_model = order_is_vdp (ord) ? pr->pre_model
      : pr->pre_model_amx;
  const size_t c_size = (size_t) (pr->M - 1) * pr->ldc + pr->N, guard = 16;
  float *C = g_new (float, c_size + guard);
  const float sentinel = -12345.5f;
  mc_packed_b pb;
  int bad_bits = 0, bad_b = 0, bad_f = 0, bad_mem = 0;

  for (size_t i = 0; i < c_size + guard; i++)
    C[i] = sentinel;
  if (pr->res_mode == 2)
    for (int m = 0; m < pr->M; m++)
      memcpy (C + (size_t) m * pr->ldc, pr->R + (size_t) m * pr->ldr,
          (size_t) pr->N * sizeof (float));
  if (mc_pack_b_from_nk (&pb, pr->W, pr->N, pr->K, NULL) != 0) {
    CHECK (0, "%s: pack failed", variant);
    g_free (C);
    return;
  }
  CHECK (pb.format == MC_GEMM_BF16, "%s: panels are not bf16", variant);
  mc_gemm (pool, pr->M, pr->A, pr->lda, &pb, pr->use_bias ? pr->bias : NULL,
      pr->act, pr->res_mode == 0 ? NULL : pr->res_mode == 1 ? pr->R : C,
      pr->ldr, C, pr->ldc);
#ifdef MC_TEST_AMX_EMULATION
  CHECK (!mc_amx_emulated_configured (),
      "%s: the product left this thread's tiles configured", variant);
#endif

  for (int m = 0; m < pr->M; m++) {
    for (int n = 0; n < pr->N; n++) {
      const size_t o = (size_t) m * pr->N + n;
      const float got = C[(size_t) m * pr->ldc + n];
      const double r = pr->res_mode ? pr->R[(size_t) m * pr->ldr + n] : 0.0;
      const double bias = pr->use_bias ? fabs (pr->bias[n]) : 0.0;
      const double flushed = 2.0 * pr->K * FLT_MIN;
      double pre_b = pr->ref_b[o], pre_f = pr->ref_f[o], ref_b, ref_f;
      double bound_b, bound_f, err_b, err_f, sum_err;
      const double gelu_err = pr->act == MC_ACT_GELU ? MC_TEST_GELU_COARSE_ERR * U : 0.0;

      /* a: the model */
      if (pr->act == MC_ACT_GELU) {
        const double want = gelu_ref (pre_model[o]) + r;
        if (!(fabs (got - want) <= MC_TEST_GELU_COARSE_ERR * U * fabs (pre_model[o])
                + 8 * U * fabs (gelu_ref (pre_model[o])) + 2 * U * fabs (want)
                + 1e-37))
          bad_bits++;
      } else if (bits (got) != bits (model[o])) {
        if (bad_bits < 3 && !order_counted (ord))
          fprintf (stderr, "  %s (%d, %d): got %a (0x%08x), model %a\n",
              variant, m, n, got, bits (got), model[o]);
        bad_bits++;
      } else {
        st->exact++;
      }
      if (model[o] == 0.0f && pr->ref_b[o] != 0.0)
        st->flushed++;

      /* b: double sum over the rounded inputs */
      ref_b = (pr->act == MC_ACT_GELU ? gelu_ref (pre_b)
          : pr->act == MC_ACT_RELU ? (pre_b > 0 ? pre_b : 0) : pre_b) + r;
      sum_err = (pr->K + 2) * U * (pr->mag_b[o] + bias + fabs (r)) + flushed;
      bound_b = 1.13 * sum_err + 8 * U * fabs (ref_b) + 2 * U * fabs (pre_b)
          + gelu_err * fabs (pre_b) + 1e-37;
      err_b = fabs (got - ref_b);
      if (!(err_b <= bound_b))
        bad_b++;
      if (err_b / bound_b > st->max_ratio_b)
        st->max_ratio_b = err_b / bound_b;
      if (err_b / (pr->mag_b[o] + bias + fabs (r)) > st->max_rel_b)
        st->max_rel_b = err_b / (pr->mag_b[o] + bias + fabs (r));
      if (pr->K >= 1024 && pr->act == MC_ACT_NONE
          && err_b / (pr->mag_b[o] + bias + fabs (r)) > st->max_rel_b_long)
        st->max_rel_b_long = err_b / (pr->mag_b[o] + bias + fabs (r));

      /* c: what bf16 costs against float inputs */
      ref_f = (pr->act == MC_ACT_GELU ? gelu_ref (pre_f)
          : pr->act == MC_ACT_RELU ? (pre_f > 0 ? pre_f : 0) : pre_f) + r;
      bound_f = 1.13 * ((2 * UB + UB * UB) * pr->mag_f[o] + sum_err)
          + 8 * U * fabs (ref_f) + 2 * U * fabs (pre_f)
          + gelu_err * fabs (pre_f) + 1e-37;
      err_f = fabs (got - ref_f);
      if (!(err_f <= bound_f))
        bad_f++;
      if (err_f / bound_f > st->max_ratio_f)
        st->max_ratio_f = err_f / bound_f;
      if (err_f / (pr->mag_f[o] + bias + fabs (r)) > st->max_rel_f)
        st->max_rel_f = err_f / (pr->mag_f[o] + bias + fabs (r));
      st->checked++;
    }
    if (m + 1 < pr->M)
      for (int n = pr->N; n < pr->ldc; n++)
        if (C[(size_t) m * pr->ldc + n] != sentinel)
          bad_mem++;
  }
  for (size_t i = c_size; i < c_size + guard; i++)
    if (C[i] != sentinel)
      bad_mem++;
  if (order_counted (ord))
    bad_bits = 0;   /* counted in st->exact, printed, not required */
  CHECK (bad_bits + bad_b + bad_f + bad_mem == 0,
      "%s M%d N%d K%d bias%d act %s res%d threads %d: %d differ from the "
      "model, %d/%d out of the rounded/float-input bounds, %d writes outside C",
      variant, pr->M, pr->N, pr->K, pr->use_bias, act_name (pr->act),
      pr->res_mode, mc_threadpool_size (pool), bad_bits, bad_b, bad_f,
      bad_mem);
  mc_packed_b_free (&pb);
  g_free (C);
}

/* The kernels to run: every variant slot this CPU can run, and the
 * AVX512-BF16 code through AVX2. */
typedef struct {
  const char *name;
  mc_gemm_variant slot;
  const mc_gemm_kernels *f32;        /* overrides, or NULL */
  const mc_gemm_bf16_kernels *bf16;
  order ord;
  stats st;
} kernel_case;

static void
use_case (const kernel_case *kc)
{
  mc_gemm_kernels_override (kc->slot, kc->f32);
  mc_gemm_bf16_kernels_override (kc->slot, kc->bf16);
  mc_gemm_set_variant (kc->slot);
}

static void
restore_kernels (const kernel_case *kc)
{
  mc_gemm_kernels_override (kc->slot, NULL);
  mc_gemm_bf16_kernels_override (kc->slot, NULL);
}

static void
run_all_cases (problem *pr, kernel_case *cases, int n_cases,
    mc_threadpool *pool)
{
  for (int c = 0; c < n_cases; c++) {
    use_case (&cases[c]);
    run_problem (&cases[c].st, pr, pool, cases[c].name, cases[c].ord);
    restore_kernels (&cases[c]);
  }
}

static void
check_products (kernel_case *cases, int n_cases, mc_threadpool *pool)
{
  static const int Ms[] = { 1, 3, 17, 64, 197 };
  static const int Ns[] = { 1, 5, 16, 17, 33, 48, 100 };
  static const int Ks[] = { 1, 2, 3, 31, 100, 257, 385, 1536 };
  static const int big[][3] = {
    { 197, 33, 1536 }, { 64, 512, 100 }, { 197, 48, 385 }, { 3, 1536, 64 },
  };
  int combo = 0;
  problem pr;

  for (size_t mi = 0; mi < G_N_ELEMENTS (Ms); mi++)
    for (size_t ni = 0; ni < G_N_ELEMENTS (Ns); ni++)
      for (size_t ki = 0; ki < G_N_ELEMENTS (Ks); ki++, combo++) {
        problem_init (&pr, Ms[mi], Ns[ni], Ks[ki], (combo / 3) % 2,
            (mc_act) (combo % 3), (combo / 6) % 3, (combo / 2) % 2, 1, 1);
        run_all_cases (&pr, cases, n_cases, combo % 4 == 3 ? NULL : pool);
        problem_clear (&pr);
      }
  /* every leftover of pairs after the 16-pair AMX steps (K 1-70: r = 0-15,
   * odd and even K), K blocks whose leftovers differ (513: 86, 86, 85
   * pairs), around the block size; 16 rows and a 2-row strip, a 32-column
   * panel and an 8-column one */
  for (int K = 1; K <= 530; K += K < 70 ? 1 : K < 250 ? 60 : K < 262 ? 1 : 251) {
    problem_init (&pr, 18, 40, K, K % 2, (mc_act) (K % 3), (K / 3) % 3,
        K % 2, 1, 1);
    run_all_cases (&pr, cases, n_cases, K % 4 == 1 ? NULL : pool);
    problem_clear (&pr);
  }
  /* every option on shapes with K blocks, N and M tails, both splits */
  for (size_t s = 0; s < G_N_ELEMENTS (big); s++)
    for (int act = 0; act < 3; act++)
      for (int res_mode = 0; res_mode < 3; res_mode++) {
        problem_init (&pr, big[s][0], big[s][1], big[s][2], 1, (mc_act) act,
            res_mode, res_mode == 1, 1, 1);
        run_all_cases (&pr, cases, n_cases, pool);
        problem_clear (&pr);
      }
}

/* 3. |a| in [2⁻⁶⁴, 2⁻⁶³) and |w| in [2⁻⁶⁶, 2⁻⁶⁵): every product is in
 * [2⁻¹³⁰, 2⁻¹²⁸), below FLT_MIN yet exact as a denormal (16 significant
 * bits; so even the portable kernel's unfused add is exact), and since
 * VDPBF16PS flushes after every step the sums never leave zero, though many
 * exact sums are normal.  Then |w| 2⁶ times larger: normal products whose
 * sums sometimes cancel into the denormal range and are flushed there. */
static void
check_flush (kernel_case *cases, int n_cases)
{
  for (int pass = 0; pass < 2; pass++) {
    problem pr;
    long zeros = 0, normal_sums = 0;

    problem_init (&pr, 17, 33, 40, 0, MC_ACT_NONE, 0, 0, ldexpf (1.0f, -63),
        ldexpf (1.0f, pass ? -59 : -65));
    for (int o = 0; o < pr.M * pr.N; o++) {
      zeros += pr.model[o] == 0.0f;
      normal_sums += fabs (pr.ref_b[o]) >= FLT_MIN;
    }
    printf ("flush to zero, products of ~2^%d: %d outputs, %ld exact sums "
        "normal, %ld outputs of the model 0\n", pass ? -124 : -130,
        pr.M * pr.N, normal_sums, zeros);
    if (pass == 0)
      CHECK (zeros == pr.M * pr.N && normal_sums > 0,
          "tiny products: %ld zeros, %ld normal sums", zeros, normal_sums);
    for (int c = 0; c < n_cases; c++) {
      stats st = { 0 };
      use_case (&cases[c]);
      run_problem (&st, &pr, NULL, cases[c].name, cases[c].ord);
      restore_kernels (&cases[c]);
      printf ("  %-28s %ld of %ld bit-identical to the %s model\n",
          cases[c].name, st.exact, st.checked,
          order_is_vdp (cases[c].ord) ? "VDPBF16PS" : "TDPBF16PS");
    }
    problem_clear (&pr);
  }
}

/* 7. An activation in the kernel: the AMX kernels apply it in their
 * (deferred) epilogue, the others in the float kernel's finish.  Either
 * way a product with act equals, bit for bit, the product without one
 * followed by the slot's own GELU (coarse, or exact under the experiment)
 * or ReLU: row and column tails, K over several blocks, 1 and 2 threads. */
static void
check_kernel_act (kernel_case *cases, int n_cases, mc_threadpool *pool)
{
  static const int shapes[][3] = {
    { 1, 32, 40 }, { 17, 33, 300 }, { 40, 100, 64 }, { 197, 64, 600 },
    { 256, 96, 128 },
  };
  mc_gemm_experiments base, exp;

  mc_gemm_get_experiments (&base);
  for (int c = 0; c < n_cases; c++) {
    long diff = 0, checked = 0;

    use_case (&cases[c]);
    mc_gemm_set_pack_format (MC_GEMM_BF16);
    for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
      const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
      float *a = g_new (float, (size_t) M * K), *w = g_new (float, (size_t) N * K);
      float *bias = g_new (float, N);
      float *want = g_new (float, (size_t) M * N), *got = g_new (float, (size_t) M * N);
      mc_packed_b pb;

      for (size_t i = 0; i < (size_t) M * K; i++)
        a[i] = 2.0f * rnd ();
      for (size_t i = 0; i < (size_t) N * K; i++)
        w[i] = rnd () / sqrtf ((float) K);
      for (int i = 0; i < N; i++)
        bias[i] = rnd ();
      CHECK (mc_pack_b_from_nk (&pb, w, N, K, NULL) == 0, "pack failed");
      for (int variant = 0; variant < 3; variant++) {
        const mc_act act = variant == 2 ? MC_ACT_RELU : MC_ACT_GELU;
        mc_threadpool *p = variant == 1 ? NULL : pool;
        exp = base;
        exp.gelu_exact = variant == 1;
        mc_gemm_set_experiments (&exp);
        mc_gemm (p, M, a, K, &pb, bias, MC_ACT_NONE, NULL, 0, want, N);
        if (act == MC_ACT_RELU) {
          for (size_t i = 0; i < (size_t) M * N; i++)
            want[i] = want[i] > 0.0f ? want[i] : 0.0f;
        } else if (exp.gelu_exact) {
          mc_gelu_inplace (want, (size_t) M * N);
        } else {
          mc_gelu_coarse_inplace (want, (size_t) M * N);
        }
        mc_gemm (p, M, a, K, &pb, bias, act, NULL, 0, got, N);
        for (size_t i = 0; i < (size_t) M * N; i++)
          diff += memcmp (&want[i], &got[i], sizeof (float)) != 0;
        checked += (long) M * N;
      }
      mc_gemm_set_experiments (&base);
      mc_packed_b_free (&pb);
      g_free (a);
      g_free (w);
      g_free (bias);
      g_free (want);
      g_free (got);
    }
    restore_kernels (&cases[c]);
    printf ("  %-28s act in the product against act after it: %ld of %ld "
        "outputs differ\n", cases[c].name, diff, checked);
    CHECK (diff == 0, "%s: %ld outputs of products with an activation differ "
        "from the activation applied afterwards", cases[c].name, diff);
  }
}

/* 4. */
static gpointer
other_thread_format (gpointer data)
{
  (void) data;
  return GINT_TO_POINTER (mc_gemm_get_pack_format ());
}

/* 6. Which kernel the AVX-512 slot's bf16 panels run on: AMX where it can
 * run unless MC_GEMM_AMX turns it off, else VDPBF16PS (meson also runs
 * this part alone with MC_GEMM_AMX=0).  Returns 0 when the CPU has no
 * AVX512-BF16, so that there is nothing to choose. */
static int
check_selection (const mc_gemm_bf16_kernels *amx, const char *amx_why)
{
  const char *env = g_getenv ("MC_GEMM_AMX");
  const int off = env && (strcmp (env, "0") == 0 || strcmp (env, "off") == 0
      || strcmp (env, "no") == 0 || strcmp (env, "false") == 0);
  const char *want = amx && !off ? "amx-bf16" : "avx512bf16";

  printf ("AMX-BF16 kernel: %s; MC_GEMM_AMX=%s\n",
      amx ? "usable (tile permission granted)" : amx_why, env ? env : "(unset)");
  if (!mc_gemm_variant_supported (MC_GEMM_AVX512)
      || !mc_cpu_get_features ()->avx512_bf16) {
    printf ("bf16 kernel selection of the avx512 variant: not checked, this "
        "CPU has no AVX-512 with AVX512-BF16\n");
    return 0;
  }
  mc_gemm_set_variant (MC_GEMM_AVX512);
  printf ("bf16 kernel of the avx512 variant: %s (want %s)\n",
      mc_gemm_kernel_name (MC_GEMM_BF16), want);
  CHECK (strcmp (mc_gemm_kernel_name (MC_GEMM_BF16), want) == 0,
      "the avx512 variant's bf16 products run on %s, not %s",
      mc_gemm_kernel_name (MC_GEMM_BF16), want);
  CHECK (mc_gemm_bf16_native (), "native kernel not reported native");
  mc_gemm_set_variant (MC_GEMM_AUTO);
  return 1;
}

int
main (int argc, char **argv)
{
  mc_threadpool *pool;
  kernel_case cases[10];
  int n = 0;
  char cpu[256];
  const char *amx_why = NULL;
  const mc_gemm_bf16_kernels *amx = mc_gemm_bf16_amx_kernels (&amx_why);

  printf ("cpu features: %s\n", mc_cpu_describe (cpu, sizeof cpu));
  mc_gemm_set_variant (MC_GEMM_AUTO);
  printf ("bf16 kernel of the default variant: %s (%s)\n",
      mc_gemm_kernel_name (MC_GEMM_BF16),
      mc_gemm_bf16_native () ? "native" : "emulated");
  CHECK (mc_gemm_bf16_native () == (int) mc_cpu_get_features ()->avx512_bf16,
      "native %d but cpuid avx512_bf16 %d", mc_gemm_bf16_native (),
      mc_cpu_get_features ()->avx512_bf16);
  if (!check_selection (amx, amx_why) && argc > 1
      && strcmp (argv[1], "--selection") == 0) {
    printf ("SKIP: no AVX512-BF16, no bf16 kernel choice to check\n");
    return MC_TEST_SKIP;
  }
  if (argc > 1 && strcmp (argv[1], "--selection") == 0)
    return mc_test_finish ("gemm-bf16 kernel selection");
  pool = mc_threadpool_new (2);

  check_rounding ();

  for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++) {
    if (!mc_gemm_variant_supported (v)) {
      printf ("variant %s: SKIPPED, this CPU (or build) cannot run it\n",
          mc_gemm_variant_name (v));
      continue;
    }
    mc_gemm_set_variant (v);
    if (v == MC_GEMM_AVX512 && !mc_gemm_bf16_native ()) {
      printf ("variant avx512: its bf16 panels use %s (no AVX512-BF16): "
          "covered above\n", mc_gemm_kernel_name (MC_GEMM_BF16));
      continue;
    }
#ifdef MC_GEMM_HAVE_X86
    if (v == MC_GEMM_AVX512) {
      /* both kernels of the slot, whichever is its default */
      cases[n++] = (kernel_case) { .name = "avx512bf16", .slot = v,
        .bf16 = &mc_gemm_bf16_kernels_avx512bf16, .ord = ORDER_VDPBF16PS_COUNTED };
      continue;
    }
#endif
    cases[n++] = (kernel_case) { .name = mc_gemm_kernel_name (MC_GEMM_BF16),
      .slot = v };
  }
  if (amx) {
    cases[n++] = (kernel_case) { .name = "amx-bf16", .slot = MC_GEMM_AVX512,
      .bf16 = amx, .ord = ORDER_AMX_COUNTED };
#ifdef MC_GEMM_HAVE_AMX
    cases[n++] = (kernel_case) { .name = "amx-bf16-32", .slot = MC_GEMM_AVX512,
      .bf16 = &mc_gemm_bf16_kernels_amx32, .ord = ORDER_AMX_COUNTED };
#endif
    printf ("amx-bf16 (real tiles): runs, TDPBF16PS on this CPU\n");
  } else {
    printf ("amx-bf16 (real tiles): SKIPPED, %s\n", amx_why);
  }
#ifdef MC_TEST_AVX512_GEOMETRY
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    extern const mc_gemm_kernels mc_gemm_kernels_avx512_geometry;
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx512bf16_geometry;
    cases[n++] = (kernel_case) { .name = "avx512bf16-geometry-on-avx2",
      .slot = MC_GEMM_AVX2, .f32 = &mc_gemm_kernels_avx512_geometry,
      .bf16 = &mc_gemm_bf16_kernels_avx512bf16_geometry };
  } else {
    printf ("avx512bf16 geometry on AVX2: SKIPPED, this CPU has no AVX2\n");
  }
#endif
#ifdef MC_TEST_AMX_EMULATION
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    extern const mc_gemm_kernels mc_gemm_kernels_avx512_geometry;
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx_emulated;
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx32_emulated;
    cases[n++] = (kernel_case) { .name = "amx-bf16-emulated",
      .slot = MC_GEMM_AVX2, .f32 = &mc_gemm_kernels_avx512_geometry,
      .bf16 = &mc_gemm_bf16_kernels_amx_emulated, .ord = ORDER_AMX };
    /* its 32-row form: the same model, the same bits */
    cases[n++] = (kernel_case) { .name = "amx-bf16-32-emulated",
      .slot = MC_GEMM_AVX2, .f32 = &mc_gemm_kernels_avx512_geometry,
      .bf16 = &mc_gemm_bf16_kernels_amx32_emulated, .ord = ORDER_AMX };
  } else {
    printf ("amx-bf16 on the tile model: SKIPPED, this CPU has no AVX2\n");
  }
#endif
  printf ("bf16 kernels tested:");
  for (int c = 0; c < n; c++)
    printf (" %s", cases[c].name);
  printf ("\n");

  CHECK (mc_gemm_get_pack_format () == MC_GEMM_F32, "default pack format");
  mc_gemm_set_pack_format (MC_GEMM_BF16);
  {
    GThread *t = g_thread_new ("other", other_thread_format, NULL);
    CHECK (GPOINTER_TO_INT (g_thread_join (t)) == MC_GEMM_F32,
        "the pack format leaked to another thread");
  }

  printf ("bf16 kernels' A conversion:\n");
  check_pack_a ("portable-bf16-emulated", &mc_gemm_bf16_kernels_portable, 0);
#ifdef MC_GEMM_HAVE_X86
  if (mc_gemm_variant_supported (MC_GEMM_AVX2))
    check_pack_a ("avx2-bf16-emulated", &mc_gemm_bf16_kernels_avx2, 0);
  if (mc_gemm_bf16_native ())
    check_pack_a ("avx512bf16", &mc_gemm_bf16_kernels_avx512bf16, 1);
#endif
  if (amx)
    check_pack_a ("amx-bf16", amx, 1);
#ifdef MC_GEMM_HAVE_AMX
  if (amx)
    check_pack_a ("amx-bf16-32", &mc_gemm_bf16_kernels_amx32, 1);
#endif
#ifdef MC_TEST_AVX512_GEOMETRY
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_avx512bf16_geometry;
    check_pack_a ("avx512bf16-geometry-on-avx2",
        &mc_gemm_bf16_kernels_avx512bf16_geometry, 1);
  }
#endif
#ifdef MC_TEST_AMX_EMULATION
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx_emulated;
    extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx32_emulated;
    check_pack_a ("amx-bf16-emulated", &mc_gemm_bf16_kernels_amx_emulated, 1);
    check_pack_a ("amx-bf16-32-emulated", &mc_gemm_bf16_kernels_amx32_emulated, 1);
  }
#endif

  check_products (cases, n, pool);
  printf ("the TDPBF16PS-order model differs from the VDPBF16PS-order one in "
      "%ld of %ld outputs\n", orders_differ, orders_compared);
  for (int c = 0; c < n; c++) {
    const stats *st = &cases[c].st;
    printf ("%-28s %ld outputs, %ld bit-identical to the %s model (the rest "
        "GELU%s);\n"
        "  vs double over bf16 inputs: max |err|/(Σ|ã·w̃|+|bias|+|res|) %.3g "
        "(%.2f u), err/bound %.3f; K ≥ 1024 without activation %.2f u\n"
        "  vs double over float inputs: max |err|/(Σ|a·w|+|bias|+|res|) %.3g "
        "(%.3f bf16 u = 2^-8), err/bound %.3f\n", cases[c].name, st->checked, st->exact,
        order_is_vdp (cases[c].ord) ? "VDPBF16PS" : "TDPBF16PS",
        order_counted (cases[c].ord) ? ", or not required to match"
        : ", within 8 ulp",
        st->max_rel_b, st->max_rel_b / U, st->max_ratio_b,
        st->max_rel_b_long / U, st->max_rel_f,
        st->max_rel_f / UB, st->max_ratio_f);
  }
  check_flush (cases, n);
  printf ("activations in the product:\n");
  check_kernel_act (cases, n, pool);

  mc_gemm_set_pack_format (MC_GEMM_F32);
  mc_gemm_set_variant (MC_GEMM_AUTO);
  mc_threadpool_free (pool);
  return mc_test_finish ("gemm-bf16");
}
