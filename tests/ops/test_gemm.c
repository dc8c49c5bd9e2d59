/* test_gemm.c — every GEMM kernel variant the CPU can run against a double
 * precision reference: packed products with the fused epilogue (bias, GELU,
 * ReLU, residual, residual aliasing C, strides wider than the matrix, one
 * and two threads), unpacked products (attention), the vectorized GELU, and
 * panels packed for one variant used while another is current.  On x86-64
 * the AVX-512 instance of the kernel template also runs through AVX2
 * instructions (gemm_avx512_geometry.c), so its tile, blocking and 16-lane
 * GELU are checked on CPUs without AVX-512.
 *
 * Tolerance (per element, u = 2⁻²⁴): a float dot product of length K, summed
 * in any order with or without FMA, is within γ_K·Σ|a_k·b_k| of the exact
 * value, γ_K = K·u/(1 - K·u) (Higham, Accuracy and Stability, §3.1).  The
 * epilogue adds one rounding per bias/residual add and, with GELU, the
 * GELU's own error (under MC_TEST_GELU_ERR·u·|pre|, checked apart), and
 * GELU's slope is at most 1.13.  So the bound checked is
 *   |got - ref| ≤ 1.13·(K + 2)·u·(Σ|a·b| + |bias|) + 8u·|ref| + 2u·|pre|
 *                 [+ MC_TEST_GELU_ERR·u·|pre| with GELU] + 1e-37
 * with pre the value before the activation.  The log shows each variant's
 * largest error relative to Σ|a·b| (the scale of the sum) and relative to
 * the bound.  A variant the CPU lacks is skipped with a printed line.
 *
 * The prefetch of the next product's B (mc_packed_b.next): the tiles' shares
 * cover its slices exactly once and stay within them, and products with a
 * next (deeper than one K block, wider than a panel block, narrower than a
 * panel, itself, of another format) give the same bits as without.
 */
#include <float.h>
#include <glib.h>
#include <math.h>

#include "ops/gemm.h"
#include "ops/gemm_kernels.h"
#include "runtime/cpu.h"
#include "runtime/threadpool.h"
#include "test_util.h"

static const double U = 1.0 / 16777216.0;   /* 2^-24, float unit roundoff */

typedef struct {
  double max_rel;     /* max |err| / (Σ|a·b| + |bias| + |residual|) */
  double max_ratio;   /* max |err| / bound */
  long checked;
} stats;

static guint32 rng_state = 12345;

static float
rnd (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float) ((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static double
gelu_ref (double x)
{
  return 0.5 * x * erfc (-x / sqrt (2.0));
}

static double
act_ref (double v, mc_act act)
{
  switch (act) {
    case MC_ACT_GELU: return gelu_ref (v);
    case MC_ACT_RELU: return v > 0 ? v : 0;
    default: return v;
  }
}

static const char *
act_name (mc_act act)
{
  return act == MC_ACT_GELU ? "gelu" : act == MC_ACT_RELU ? "relu" : "none";
}

/* One packed product: C = act(A·B + bias) + residual, checked element by
 * element; also checks that C's padding columns and the guard past its end
 * are untouched. */
static void
check_gemm (stats *st, mc_threadpool *pool, int M, int N, int K, int use_bias,
    mc_act act, int res_mode /* 0 none, 1 separate, 2 aliasing C */,
    int pad)
{
  const int lda = K + (pad ? 3 : 0), ldc = N + (pad ? 5 : 0);
  const int ldr = res_mode == 2 ? ldc : N + (pad ? 2 : 0);
  const size_t c_size = (size_t) (M - 1) * ldc + N, guard = 16;
  float *A = g_new (float, (size_t) M * lda);
  float *W = g_new (float, (size_t) N * K);   /* PyTorch [N, K] */
  float *bias = g_new (float, N);
  float *R = g_new (float, (size_t) M * ldr);
  float *C = g_new (float, c_size + guard);
  const float sentinel = -12345.5f;
  mc_packed_b pb;
  int bad = 0;
  double worst_ratio = 0;

  for (size_t i = 0; i < (size_t) M * lda; i++)
    A[i] = rnd ();
  for (size_t i = 0; i < (size_t) N * K; i++)
    W[i] = rnd ();
  for (int i = 0; i < N; i++)
    bias[i] = rnd ();
  for (size_t i = 0; i < c_size + guard; i++)
    C[i] = sentinel;
  for (size_t i = 0; i < (size_t) M * ldr; i++)
    R[i] = rnd ();
  if (res_mode == 2)
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++)
        C[(size_t) m * ldc + n] = R[(size_t) m * ldr + n];

  if (mc_pack_b_from_nk (&pb, W, N, K, NULL) != 0) {
    CHECK (0, "pack failed");
    goto out;
  }
  mc_gemm (pool, M, A, lda, &pb, use_bias ? bias : NULL, act,
      res_mode == 0 ? NULL : res_mode == 1 ? R : C, ldr, C, ldc);

  for (int m = 0; m < M; m++) {
    for (int n = 0; n < N; n++) {
      double s = 0, mag = 0, scale, pre, ref, err, bound;
      for (int k = 0; k < K; k++) {
        double p = (double) A[(size_t) m * lda + k] * W[(size_t) n * K + k];
        s += p;
        mag += fabs (p);
      }
      if (use_bias) {
        s += bias[n];
        mag += fabs (bias[n]);
      }
      pre = s;
      ref = act_ref (pre, act);
      if (res_mode)
        ref += R[(size_t) m * ldr + n];
      scale = mag + (res_mode ? fabs (R[(size_t) m * ldr + n]) : 0);
      err = fabs ((double) C[(size_t) m * ldc + n] - ref);
      bound = 1.13 * (K + 2) * U * mag + 8 * U * fabs (ref)
          + 2 * U * fabs (pre) + 1e-37;
      if (act == MC_ACT_GELU)
        bound += MC_TEST_GELU_ERR * U * fabs (pre);
      if (!(err <= bound))
        bad++;
      if (err / bound > worst_ratio || isnan (err))
        worst_ratio = isnan (err) ? INFINITY : err / bound;
      if (scale > 0 && err / scale > st->max_rel)
        st->max_rel = err / scale;
      st->checked++;
    }
    if (m + 1 < M)
      for (int n = N; n < ldc; n++)
        if (C[(size_t) m * ldc + n] != sentinel)
          bad++;
  }
  for (size_t i = c_size; i < c_size + guard; i++)
    if (C[i] != sentinel)
      bad++;
  if (worst_ratio > st->max_ratio)
    st->max_ratio = worst_ratio;
  CHECK (bad == 0, "M%d N%d K%d bias%d act %s res%d pad%d threads %d: %d "
      "elements out of bound or writes outside C (worst err/bound %.3g)",
      M, N, K, use_bias, act_name (act), res_mode, pad,
      mc_threadpool_size (pool), bad, worst_ratio);
  mc_packed_b_free (&pb);
out:
  g_free (A);
  g_free (W);
  g_free (bias);
  g_free (R);
  g_free (C);
}

static void
check_plain (stats *st, int M, int N, int K, int trans_b, int pad)
{
  const int lda = K + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  const float alpha = 0.1767767f;
  float *A = g_new (float, (size_t) M * lda);
  float *B = g_new (float, (size_t) (trans_b ? N : K) * ldb);
  float *C = g_new (float, (size_t) M * ldc);
  int bad = 0;

  for (size_t i = 0; i < (size_t) M * lda; i++)
    A[i] = rnd ();
  for (size_t i = 0; i < (size_t) (trans_b ? N : K) * ldb; i++)
    B[i] = rnd ();
  mc_gemm_plain (M, N, K, alpha, A, lda, B, ldb, trans_b, C, ldc);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = 0, mag = 0, err, bound;
      for (int k = 0; k < K; k++) {
        double b = trans_b ? B[(size_t) n * ldb + k] : B[(size_t) k * ldb + n];
        double p = (double) A[(size_t) m * lda + k] * b;
        s += p;
        mag += fabs (p);
      }
      s *= alpha;
      mag *= alpha;
      err = fabs ((double) C[(size_t) m * ldc + n] - s);
      /* alpha folded into B: one more rounding per product */
      bound = (K + 3) * U * mag + 1e-37;
      if (!(err <= bound))
        bad++;
      if (err / bound > st->max_ratio || isnan (err))
        st->max_ratio = isnan (err) ? INFINITY : err / bound;
      if (mag > 0 && err / mag > st->max_rel)
        st->max_rel = err / mag;
      st->checked++;
    }
  CHECK (bad == 0, "plain M%d N%d K%d trans_b%d pad%d: %d elements out of "
      "bound", M, N, K, trans_b, pad, bad);
  g_free (A);
  g_free (B);
  g_free (C);
}

/* PyTorch's float GELU on CPU (the golden data's): 0.5·x·(1 + erf(x/√2))
 * with its vectorized erf, Abramowitz and Stegun 7.1.26 (error 1.5e-7). */
static float
gelu_torch_float (float x)
{
  const float z = x * 0.70710678f, a = fabsf (z);
  const float t = 1.0f / (0.3275911f * a + 1.0f);
  const float r = (((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t
      - 0.284496736f) * t + 0.254829592f;
  const float e = copysignf (1.0f - r * t * expf (-z * z), z);
  return x * 0.5f * (1.0f + e);
}

/* The GELU checks' inputs: a dense sweep of [-14, 12], then the specials
 * (zeros, tiny, huge, the exact form's switch points, infinities, NaN);
 * GELU_SWEEP + GELU_SPECIALS values. */
#define GELU_SWEEP 2000001
#define GELU_SPECIALS 11
static float *
gelu_inputs (void)
{
  static const float specials[GELU_SPECIALS] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 5.5f, -5.5f,
    1e30f, -1e30f, INFINITY, -INFINITY, NAN };
  float *x = g_new (float, GELU_SWEEP + GELU_SPECIALS);

  for (int i = 0; i < GELU_SWEEP; i++)
    x[i] = -14.0f + 26.0f * (float) i / (float) (GELU_SWEEP - 1);
  memcpy (x + GELU_SWEEP, specials, sizeof specials);
  return x;
}

/* The vectorized GELU over a dense sweep, against erfc in double.  Its
 * error is absolute (1 + erf cancels for x < 0, as in the reference), so
 * it is measured relative to |x|; for x > 0 also in ulp of the result. */
static void
check_gelu (const char *variant)
{
  const int n = GELU_SWEEP + GELU_SPECIALS;
  float *x = gelu_inputs (), *y = g_new (float, n);
  double max_abs_x = 0, max_ulp_pos = 0, max_torch = 0;
  float worst = 0;
  int count = 0;

  memcpy (y, x, (size_t) n * sizeof (float));
  mc_gelu_inplace (y, n);
  for (int i = 0; i < n; i++) {
    const double ref = gelu_ref (x[i]);
    const double err = fabs ((double) y[i] - ref);
    if (isnan (x[i])) {
      if (!isnan (y[i]))
        count++;
      continue;
    }
    if (fabs (x[i]) > 1e29) {
      /* GELU(±huge) and GELU(±inf) = x or 0 */
      if (!(x[i] > 0 ? y[i] == x[i] : y[i] == 0.0f))
        count++;
      continue;
    }
    if (x[i] == 0.0f || fabs (ref) < 1e-37) {
      if (!(err <= 1e-37))
        count++;
      continue;
    }
    const double rel_x = err / fabs (x[i]);
    const double ulp = err / ldexp (1.0, ilogb (ref) - 23);
    const double torch = fabs ((double) gelu_torch_float (x[i]) - ref) / fabs (x[i]);
    if (rel_x > max_abs_x) {
      max_abs_x = rel_x;
      worst = x[i];
    }
    if (x[i] > 0 && ulp > max_ulp_pos)
      max_ulp_pos = ulp;
    if (torch > max_torch)
      max_torch = torch;
  }
  printf ("  gelu %-9s max |err|/|x| %.2f u (at x=%.6g), for x > 0 max %.2f ulp; "
      "PyTorch's float GELU: max |err|/|x| %.2f u (u = 2^-24)\n",
      variant, max_abs_x / U, worst, max_ulp_pos, max_torch / U);
  CHECK (count == 0, "%s: %d GELU specials or tiny results wrong", variant,
      count);
  /* the reference's own float GELU is at 4.6 u */
  const double bound = strcmp (variant, "portable") ? MC_TEST_GELU_PIECES_ERR
      : MC_TEST_GELU_ERR;
  CHECK (max_abs_x < bound * U, "%s: GELU error %.2f u·|x| (bound %.2f)", variant,
      max_abs_x / U, bound);
  CHECK (max_ulp_pos < 4.0, "%s: GELU error %.2f ulp for x > 0", variant,
      max_ulp_pos);
  g_free (x);
  g_free (y);
}

/* The coarse GELU of bf16 and int8 products (MC_ACT_GELU_COARSE) over the
 * same inputs: within MC_TEST_GELU_COARSE_ERR·u·|x| everywhere (huge x
 * included), +∞ stays +∞, −∞ gives a tiny finite value, NaN stays NaN. */
static void
check_gelu_coarse (const char *variant)
{
  const int n = GELU_SWEEP + GELU_SPECIALS;
  float *x = gelu_inputs (), *y = g_new (float, n);
  double max_abs_x = 0;
  float worst = 0;
  int count = 0;

  memcpy (y, x, (size_t) n * sizeof (float));
  mc_gelu_coarse_inplace (y, n);
  for (int i = 0; i < n; i++) {
    if (isnan (x[i]) || isinf (x[i])) {
      if (isnan (x[i]) ? !isnan (y[i])
          : x[i] > 0 ? y[i] != x[i] : !(fabsf (y[i]) < 1e-5f))
        count++;
      continue;
    }
    const double err = fabs ((double) y[i] - gelu_ref (x[i]));
    if (x[i] == 0.0f) {
      if (err != 0.0)
        count++;
      continue;
    }
    if (err / fabs (x[i]) > max_abs_x) {
      max_abs_x = err / fabs (x[i]);
      worst = x[i];
    }
  }
  printf ("  gelu-coarse %-9s max |err|/|x| %.2f u (at x=%.6g)\n", variant,
      max_abs_x / U, worst);
  CHECK (count == 0, "%s: %d coarse GELU specials wrong", variant, count);
  CHECK (max_abs_x < MC_TEST_GELU_COARSE_ERR * U, "%s: coarse GELU error %.2f u·|x|",
      variant, max_abs_x / U);
  g_free (x);
  g_free (y);
}

static void
run_variant (mc_gemm_variant v, const char *name, mc_threadpool *pool)
{
  static const int Ms[] = { 1, 3, 17, 64, 197 };
  static const int Ns[] = { 1, 5, 16, 17, 33, 48, 512 };
  static const int Ks[] = { 1, 3, 31, 32, 100, 1536 };
  stats st = { 0 }, stp = { 0 };
  int combo = 0;

  mc_gemm_set_variant (v);
  CHECK (mc_gemm_get_variant () == v, "set_variant (%s) did not stick", name);

  /* every shape, with the options rotating through the combinations */
  for (size_t mi = 0; mi < G_N_ELEMENTS (Ms); mi++)
    for (size_t ni = 0; ni < G_N_ELEMENTS (Ns); ni++)
      for (size_t ki = 0; ki < G_N_ELEMENTS (Ks); ki++, combo++) {
        const mc_act act = (mc_act) (combo % 3);
        const int use_bias = (combo / 3) % 2;
        const int res_mode = (combo / 6) % 3;
        const int pad = (combo / 2) % 2;
        check_gemm (&st, (combo % 4 == 3) ? NULL : pool, Ms[mi], Ns[ni],
            Ks[ki], use_bias, act, res_mode, pad);
      }
  /* every option on shapes that need K blocks, N and M tails, and both
   * ways of splitting over threads */
  {
    static const int shapes[][3] = {
      { 197, 33, 1536 }, { 64, 512, 100 }, { 197, 48, 300 }, { 3, 1536, 64 },
      { 20, 40, 4100 },   /* over the AVX2 kernel's 2048: K blocks there too */
      { 256, 48, 300 },   /* 8 strips a thread and more: split by rows (choose_grid) */
    };
    for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++)
      for (int act = 0; act < 3; act++)
        for (int res_mode = 0; res_mode < 3; res_mode++)
          check_gemm (&st, pool, shapes[s][0], shapes[s][1], shapes[s][2],
              1, (mc_act) act, res_mode, res_mode == 1);
  }
  printf ("  %-9s mc_gemm: %ld outputs, max |err|/(Σ|a·b| + |bias| + |res|) "
      "%.3g (%.2f u), "
      "max err/bound %.3f\n", name, st.checked, st.max_rel,
      st.max_rel / U, st.max_ratio);

  {
    static const int pm[] = { 1, 17, 64, 197 };
    static const int pn[] = { 1, 17, 64, 197 };
    static const int pk[] = { 1, 32, 100, 600 };
    int c = 0;
    for (size_t a = 0; a < G_N_ELEMENTS (pm); a++)
      for (size_t b = 0; b < G_N_ELEMENTS (pn); b++)
        for (size_t k = 0; k < G_N_ELEMENTS (pk); k++, c++)
          check_plain (&stp, pm[a], pn[b], pk[k], c % 2, (c / 2) % 2 ? 7 : 0);
  }
  printf ("  %-9s mc_gemm_plain: %ld outputs, max |err|/Σ|a·b| %.3g "
      "(%.2f u), max err/bound %.3f\n", name, stp.checked, stp.max_rel,
      stp.max_rel / U, stp.max_ratio);

  check_gelu (name);
  check_gelu_coarse (name);
}

/* Panels keep the variant they were packed for: pack with each supported
 * variant, then multiply while another is current. */
static void
check_cross_variant (mc_threadpool *pool)
{
  const int M = 37, N = 70, K = 45;
  float *A = g_new (float, M * K), *W = g_new (float, N * K);
  float *C0 = g_new (float, M * N), *C1 = g_new (float, M * N);

  for (int i = 0; i < M * K; i++)
    A[i] = rnd ();
  for (int i = 0; i < N * K; i++)
    W[i] = rnd ();
  for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++) {
    mc_packed_b pb;
    if (!mc_gemm_variant_supported (v))
      continue;
    mc_gemm_set_variant (v);
    CHECK (mc_pack_b_from_nk (&pb, W, N, K, NULL) == 0, "pack");
    mc_gemm (pool, M, A, K, &pb, NULL, MC_ACT_NONE, NULL, 0, C0, N);
    for (int w = MC_GEMM_PORTABLE; w <= MC_GEMM_AVX512; w++) {
      if (!mc_gemm_variant_supported (w))
        continue;
      mc_gemm_set_variant (w);
      mc_gemm (pool, M, A, K, &pb, NULL, MC_ACT_NONE, NULL, 0, C1, N);
      CHECK (memcmp (C0, C1, sizeof (float) * M * N) == 0,
          "panels packed for %s gave other results while %s was current",
          mc_gemm_variant_name (v), mc_gemm_variant_name (w));
    }
    mc_packed_b_free (&pb);
  }
  g_free (A);
  g_free (W);
  g_free (C0);
  g_free (C1);
}

/* The AVX2 tiles (every row count) and the AVX-512 full tiles run their
 * first k steps in assembly (gemm_kernels.h): the same products with the C
 * loop (mc_gemm_asm_off) must give the same bits, for K below one pass of 8
 * steps, with a remainder, over several K blocks, with every epilogue, and
 * with last row strips of 1 to 5 rows (M = 37, 14, 3, 64, 11 on AVX2). */
static void
check_asm_loop (mc_threadpool *pool)
{
  static const int Ms[] = { 3, 6, 11, 14, 37, 64 };
  static const int Ks[] = { 5, 8, 13, 64, 300, 2100 };
  const int N = 80;
  long compared = 0;

  for (int v = MC_GEMM_AVX2; v <= MC_GEMM_AVX512; v++) {
    if (!mc_gemm_variant_supported (v))
      continue;
    mc_gemm_set_variant (v);
    for (unsigned a = 0; a < G_N_ELEMENTS (Ms); a++)
      for (unsigned b = 0; b < G_N_ELEMENTS (Ks); b++) {
        const int M = Ms[a], K = Ks[b], ep = (a + b) % 3;
        const mc_act act = ep == 1 ? MC_ACT_GELU : MC_ACT_NONE;
        float *A = g_new (float, M * K), *W = g_new (float, N * K);
        float *bias = g_new (float, N), *R = g_new (float, M * N);
        float *C[2] = { g_new (float, M * N), g_new (float, M * N) };
        mc_packed_b pb;

        for (int i = 0; i < M * K; i++)
          A[i] = rnd ();
        for (int i = 0; i < N * K; i++)
          W[i] = rnd ();
        for (int i = 0; i < N; i++)
          bias[i] = rnd ();
        for (int i = 0; i < M * N; i++)
          R[i] = rnd ();
        CHECK (mc_pack_b_from_nk (&pb, W, N, K, NULL) == 0, "pack");
        for (int off = 0; off < 2; off++) {
          mc_gemm_asm_off = off;
          mc_gemm (pool, M, A, K, &pb, ep ? bias : NULL, act,
              ep == 2 ? R : NULL, N, C[off], N);
        }
        mc_gemm_asm_off = 0;
        CHECK (memcmp (C[0], C[1], sizeof (float) * M * N) == 0,
            "%s %dx%dx%d: the assembly k loop and the C loop differ",
            mc_gemm_variant_name (v), M, K, N);
        compared += (long) M * N;
        mc_packed_b_free (&pb);
        g_free (A);
        g_free (W);
        g_free (bias);
        g_free (R);
        g_free (C[0]);
        g_free (C[1]);
      }
  }
  printf ("assembly k loop against the C loop: %ld outputs compared bit for bit\n",
      compared);
}

/* mc_gemm_next_share: with T ≥ nq tiles every byte of the nq slices is in
 * exactly one share; with fewer, each tile takes one whole slice; no share
 * leaves its slice. */
static void
check_next_share (void)
{
  static const size_t lens[] = { 0, 1, 64, 1000, 32768 };
  int bad = 0;

  for (unsigned l = 0; l < G_N_ELEMENTS (lens); l++)
    for (int nq = 1; nq <= 16; nq++)
      for (int64_t T = 1; T <= 40; T++) {
        const size_t len = lens[l], stride = len + 100;
        int *seen = g_new0 (int, (size_t) nq * stride + 1);
        for (int64_t t = 0; t < T; t++) {
          size_t b0, b1;
          mc_gemm_next_share (t, T, nq, len, stride, &b0, &b1);
          if (b1 < b0 || (b1 > b0 && b0 / stride != (b1 - 1) / stride)
              || (b1 > b0 && (b1 - 1) % stride >= len))
            bad++;
          else if (T < nq && b1 - b0 != len)
            bad++;
          for (size_t i = b0; i < b1; i++)
            if (i < (size_t) nq * stride)
              seen[i]++;
        }
        for (size_t i = 0; i < (size_t) nq * stride; i++)
          if (seen[i] > 1 || (T >= nq && i % stride < len && seen[i] != 1))
            bad++;
        g_free (seen);
      }
  CHECK (bad == 0, "the next product's prefetch shares: %d misplaced", bad);
  printf ("next product's prefetch shares: checked for 1-16 slices, 1-40 tiles\n");
}

/* The same products with B->next set and not: the same bits, on float and
 * bf16 panels. */
static void
check_next_prefetch (mc_threadpool *pool)
{
  static const int shapes[][3] = {   /* M, K, N */
    { 37, 45, 80 }, { 300, 600, 700 }, { 64, 256, 1536 }, { 5, 5, 16 },
  };
  static const mc_gemm_format formats[] = { MC_GEMM_F32, MC_GEMM_BF16 };
  const int n = G_N_ELEMENTS (shapes);
  float *A = g_new (float, 300 * 600), *W = g_new (float, 1536 * 600);
  float *C0 = g_new (float, 300 * 1536), *C1 = g_new (float, 300 * 1536);
  int differ = 0, runs = 0;

  for (int i = 0; i < 300 * 600; i++)
    A[i] = rnd ();
  for (int i = 0; i < 1536 * 600; i++)
    W[i] = rnd ();
  for (unsigned fi = 0; fi < G_N_ELEMENTS (formats); fi++) {
    mc_packed_b pb[G_N_ELEMENTS (shapes)], other;
    const mc_gemm_format f = mc_gemm_set_pack_format (formats[fi]);
    int packed = 1;

    for (int i = 0; i < n; i++)
      packed &= mc_pack_b_from_nk (&pb[i], W, shapes[i][2], shapes[i][1], NULL) == 0;
    /* the other format: its blocks are not where this one's would be */
    mc_gemm_set_pack_format (formats[1 - fi]);
    packed &= mc_pack_b_from_nk (&other, W, 700, 600, NULL) == 0;
    mc_gemm_set_pack_format (f);
    CHECK (packed && pb[0].next == NULL, "packed B without a next product");
    for (int t = 1; t <= 2 && packed; t++)
      for (int i = 0; i < n; i++) {
        const int M = shapes[i][0], N = shapes[i][2];
        pb[i].next = NULL;
        mc_gemm (t == 1 ? NULL : pool, M, A, shapes[i][1], &pb[i], NULL,
            MC_ACT_GELU, NULL, 0, C0, N);
        for (int k = 0; k <= n + 1; k++) {
          pb[i].next = k < n ? &pb[k] : k == n ? &other : &pb[i];
          memset (C1, 0, sizeof (float) * M * N);
          mc_gemm (t == 1 ? NULL : pool, M, A, shapes[i][1], &pb[i], NULL,
              MC_ACT_GELU, NULL, 0, C1, N);
          differ += memcmp (C0, C1, sizeof (float) * M * N) != 0;
          runs++;
        }
        pb[i].next = NULL;
      }
    for (int i = 0; i < n; i++)
      mc_packed_b_free (&pb[i]);
    mc_packed_b_free (&other);
  }
  CHECK (differ == 0, "products with a next product's prefetch: %d of %d differ "
      "from those without", differ, runs);
  printf ("next product's prefetch: %d products (float and bf16 panels), the same "
      "bits as without\n", runs);
  g_free (A);
  g_free (W);
  g_free (C0);
  g_free (C1);
}

int
main (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);
  char cpu[256];

  printf ("cpu features: %s\n", mc_cpu_describe (cpu, sizeof cpu));
  printf ("default variant: %s\n",
      mc_gemm_variant_name (mc_gemm_get_variant ()));
  for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++) {
    if (!mc_gemm_variant_supported (v)) {
      printf ("variant %s: SKIPPED, this CPU (or build) cannot run it\n",
          mc_gemm_variant_name (v));
      continue;
    }
    printf ("variant %s (K blocks of up to %d):\n", mc_gemm_variant_name (v),
        mc_gemm_k_block (v));
    /* the test "gemm-kc64" runs all of this with K blocks of 64, so that
     * nearly every product sums in several blocks */
    if (g_getenv ("MC_GEMM_KC"))
      CHECK (mc_gemm_k_block (v) == atoi (g_getenv ("MC_GEMM_KC")),
          "MC_GEMM_KC=%s, but %s sums K blocks of %d", g_getenv ("MC_GEMM_KC"),
          mc_gemm_variant_name (v), mc_gemm_k_block (v));
    run_variant (v, mc_gemm_variant_name (v), pool);
  }
#ifdef MC_TEST_AVX512_GEOMETRY
  /* the AVX-512 template instance, emulated with AVX2 instructions */
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    extern const mc_gemm_kernels mc_gemm_kernels_avx512_geometry;
    printf ("variant avx512 geometry (16 lanes, 14x32 tile) on AVX2:\n");
    mc_gemm_kernels_override (MC_GEMM_AVX2, &mc_gemm_kernels_avx512_geometry);
    run_variant (MC_GEMM_AVX2, "avx512geo", pool);
    mc_gemm_kernels_override (MC_GEMM_AVX2, NULL);
  } else {
    printf ("avx512 geometry on AVX2: SKIPPED, this CPU has no AVX2\n");
  }
#endif
  check_cross_variant (pool);
  check_asm_loop (pool);
  check_next_share ();
  check_next_prefetch (pool);
  mc_gemm_set_variant (MC_GEMM_AUTO);
  mc_threadpool_free (pool);
  return mc_test_finish ("gemm");
}
