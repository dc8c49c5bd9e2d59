/* test_gemm_int8.c — the int8 GEMM (MC_GEMM_INT8 panels, numerics in
 * ops/gemm_kernels.h) on every int8 kernel this CPU can run, and on x86-64
 * the VPDPBUSD kernel's code with the instruction emulated by AVX2
 * (gemm_int8_vnni.c built with MC_I8V_EMULATE), run in the AVX2 slot.
 *
 * 1. quant_a of each kernel against a scalar model of the documented
 *    quantization: every byte, scale and zero point equal, over row lengths
 *    0..70 (vector bodies and tails), zero rows, one huge value among tiny
 *    ones, rows of one sign, ties (values on half steps) and values that
 *    round past the ends of the code range.
 * 2. mc_gemm_int8_pack against the same model (bytes, scales, column
 *    sums, the float diagonal of square B), from [N, K] and [K, N]
 *    sources, with a folded column scale.
 * 3. Each kernel's tile on random bytes (A and B in [-127, 127], the
 *    extremes included) with unit scales and zero points 127: the float
 *    result is the exact integer sum (below 2^24), so it must equal the
 *    int64 sum bit for bit, for every m ≤ mr, K from 1 to 316 (with whole
 *    64-k steps of the AMX kernel and leftovers).
 * 4. mc_gemm through the driver with the fused epilogue (bias, GELU, ReLU,
 *    residual, residual aliasing C, strides, 1 and 2 threads, N and M
 *    edges): (a) against the model's integer sum with the float epilogue,
 *    within a few roundings (the kernels may fuse multiply and add); GELU
 *    within the coarse GELU's error (MC_TEST_GELU_COARSE_ERR·u·|pre|: int8
 *    products end in MC_ACT_GELU_COARSE); (b) against the double product of
 *    the unquantized inputs, within the quantization bound
 *    Σ |a|·sb/2 + |b|·sa/2 + sa·sb/4 (half a step of each factor; the
 *    diagonal of square B is float) plus the float terms — what int8
 *    costs.
 * 5. Packing refuses K > MC_GEMM_INT8_MAX_K.  With the models' minimum
 *    depth set (mc_gemm_set_int8_min_k), K = MC_GEMM_INT8_MODEL_MIN_K - 1
 *    packs float panels and MC_GEMM_INT8_MODEL_MIN_K int8 ones; unset (as
 *    in 1-4), every depth packs int8.
 * The log shows, per kernel, the largest errors against both references.
 */
#include <glib.h>
#include <math.h>

#include "ops/gemm.h"
#include "ops/gemm_kernels.h"
#include "runtime/cpu.h"
#include "runtime/threadpool.h"
#include "test_util.h"

static const double U = 1.0 / 16777216.0;   /* 2^-24 */

static guint32 rng_state = 777;

static guint32
rnd_u32 (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state;
}

static float
rnd (void)
{
  return (float) ((rnd_u32 () >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

/* ---- the model of gemm_kernels.h ---- */

static int
model_q (float x, float inv)
{
  return (int) nearbyintf (x * inv);
}

/* a row of A: codes u − 127 as signed bytes, its scale and zero point */
static void
model_quant_row (const float *x, int K, int8_t *q, float *scale, int *zero)
{
  float lo = 0.0f, hi = 0.0f, inv;

  for (int k = 0; k < K; k++) {
    lo = fminf (lo, x[k]);
    hi = fmaxf (hi, x[k]);
  }
  inv = hi - lo > 0.0f ? 254.0f / (hi - lo) : 0.0f;
  *scale = (hi - lo) / 254.0f;
  *zero = model_q (-lo, inv);
  for (int k = 0; k < K; k++) {
    int u = model_q (x[k], inv) + *zero;
    u = u < 0 ? 0 : u > 254 ? 254 : u;
    q[k] = (int8_t) (u - 127);
  }
}

/* column n of B (element (k, n) = w[n·K + k] · s); diag ≥ 0: that element
 * is kept in float (*dval) and left out of the code */
static void
model_quant_col (const float *w, int K, float s, int diag, int8_t *q,
    float *scale, float *dval)
{
  float max = 0.0f, inv;

  for (int k = 0; k < K; k++)
    if (k != diag)
      max = fmaxf (max, fabsf (w[k] * s));
  inv = max > 0.0f ? 127.0f / max : 0.0f;
  *scale = max / 127.0f;
  for (int k = 0; k < K; k++)
    q[k] = k == diag ? 0 : (int8_t) model_q (w[k] * s, inv);
  if (dval)
    *dval = diag >= 0 ? w[diag] * s : 0.0f;
}

static double
ref_gelu (double x)
{
  return 0.5 * x * erfc (-x / sqrt (2.0));
}

/* ---- the kernels under test ---- */

typedef struct {
  const char *name;
  const mc_gemm_int8_kernels *k;
  mc_gemm_variant slot;   /* whose driver products run it */
  const mc_gemm_kernels *f32;   /* the slot's float kernels instead, or NULL */
} int8_kernel;

/* The products of k's slot run on k (the slot's own, or a stand-in: the
 * avx2 entry runs the AVX2 kernel even where VNNI would replace it) */
static void
use_kernel (const int8_kernel *k)
{
  mc_gemm_set_variant (k->slot);
  mc_gemm_kernels_override (k->slot, k->f32);
  mc_gemm_int8_kernels_override (k->slot, k->k);
}

static void
drop_kernel (const int8_kernel *k)
{
  mc_gemm_kernels_override (k->slot, NULL);
  mc_gemm_int8_kernels_override (k->slot, NULL);
}

/* 1. */
static void
check_quant_a (const int8_kernel *ik)
{
  enum { MAXK = 70 };
  float a[3 * MAXK];
  uint32_t dst[3 * ((MAXK + 3) / 4)];
  float scale[3];
  int32_t zero[3];
  int bad = 0;

  for (int K = 0; K <= MAXK; K++)
    for (int kind = 0; kind < 6; kind++) {
      const int groups = (K + 3) / 4;
      for (int i = 0; i < 3 * K; i++) {
        a[i] = rnd () * 3.0f;
        if (kind == 1)
          a[i] = 0.0f;
        else if (kind == 2)
          a[i] *= 1e-6f;
        else if (kind == 3)   /* half steps of a range of 127 */
          a[i] = (float) ((int) (rnd_u32 () % 255) - 127) * 0.5f;
        else if (kind == 4)   /* one sign (after a GELU or ReLU) */
          a[i] = fabsf (a[i]) - 0.01f;
        else if (kind == 5)   /* all negative */
          a[i] = -fabsf (a[i]) - 1.0f;
      }
      if (kind == 2 && K > 0)
        a[K / 2] = -4e6f;
      memset (dst, 0xa5, sizeof dst);
      ik->k->quant_a (3, K, a, K, dst, scale, zero);
      for (int i = 0; i < 3; i++) {
        int8_t q[MAXK + 3];
        float s;
        int z;
        const uint8_t *got = (const uint8_t *) (dst + (size_t) i * groups);
        model_quant_row (a + i * K, K, q, &s, &z);
        bad += s != scale[i] || z != zero[i];
        /* stored: u − a_bias, as a byte; q is u − 127 */
        for (int k = 0; k < K; k++)
          bad += got[k] != (uint8_t) (q[k] + 127 - ik->k->a_bias);
        for (int k = K; k < 4 * groups; k++)
          bad += got[k] != 0;
      }
    }
  /* rows whose top code rounds to 255 before the clamp (float rounding in
   * inv): searched for, then quantized in rows of 1 to 19 */
  {
    int found = 0;
    for (int t = 0; t < 1000000 && found < 8; t++) {
      const float lo = -fabsf (rnd ()) * 10.0f, hi = fabsf (rnd ()) * 10.0f;
      const float inv = 254.0f / (hi - lo);
      if (hi - lo > 0.0f && model_q (hi, inv) + model_q (-lo, inv) > 254) {
        for (int K = 1; K < 20; K += 3) {
          int8_t q[20];
          float s;
          int z;
          for (int k = 0; k < K; k++)
            a[k] = k == 0 ? hi : k == 1 ? lo : rnd () * 0.1f;
          ik->k->quant_a (1, K, a, K, dst, scale, zero);
          model_quant_row (a, K, q, &s, &z);
          bad += s != scale[0] || z != zero[0];
          for (int k = 0; k < K; k++)
            bad += ((const uint8_t *) dst)[k]
                != (uint8_t) (q[k] + 127 - ik->k->a_bias);
        }
        found++;
      }
    }
    CHECK (found > 0, "no row rounding past the code range was found");
  }
  printf ("  %s quant_a: %d byte, scale or zero point mismatches over "
      "K = 0..%d and rows rounding past code 254\n", ik->name, bad, MAXK);
  CHECK (bad == 0, "%s: quant_a differs from the model", ik->name);
}

/* 2. */
static void
check_pack (void)
{
  for (int square = 0; square < 2; square++) {
  const int K = square ? 29 : 37, N = 29, nr = 16;
  const int groups = (K + 3) / 4, panels = (N + nr - 1) / nr;
  const size_t words = (size_t) panels * groups * nr;
  float *w = g_new (float, (size_t) N * K), *wt = g_new (float, (size_t) K * N);
  float colscale[29];
  uint32_t *dst = g_new0 (uint32_t, words);
  uint32_t *dst2 = g_new0 (uint32_t, words);
  float cs[32], cs2[32], dg[32], dg2[32];
  int32_t sums[32], sums2[32];
  int bad = 0;

  for (int i = 0; i < N * K; i++)
    w[i] = rnd ();
  if (square)   /* a folded identity branch: the diagonal dominates */
    for (int n = 0; n < N; n++)
      w[(size_t) n * K + n] += 8.0f;
  for (int n = 0; n < N; n++) {
    colscale[n] = 0.5f + (float) n / 7.0f;
    for (int k = 0; k < K; k++)
      wt[(size_t) k * N + n] = w[(size_t) n * K + k] * colscale[n];
  }
  mc_gemm_int8_pack (dst, cs, sums, square ? dg : NULL, w, 1, K, K, N,
      colscale, nr);
  mc_gemm_int8_pack (dst2, cs2, sums2, square ? dg2 : NULL, wt, N, 1, K, N,
      NULL, nr);
  for (int n = 0; n < panels * nr; n++) {
    int8_t q[37];
    float s = 0.0f, d = 0.0f;
    int32_t sum = 0;
    const int8_t *panel = (const int8_t *) (dst + (size_t) (n / nr) * groups * nr);
    if (n < N)
      model_quant_col (w + (size_t) n * K, K, colscale[n], square ? n : -1, q,
          &s, &d);
    else
      memset (q, 0, sizeof q);
    for (int k = 0; k < 4 * groups; k++) {
      const int8_t want = k < K ? q[k] : 0;
      const size_t word = (size_t) (k / 4) * nr + n % nr;
      bad += panel[word * 4 + k % 4] != want;
      if (k < K)
        sum += want;
    }
    bad += cs[n] != s || sums[n] != sum || (square && dg[n] != d);
  }
  /* [K, N] with the scale applied beforehand: the same products in float */
  bad += memcmp (dst, dst2, words * 4) != 0;
  bad += memcmp (cs, cs2, sizeof cs) != 0 || memcmp (sums, sums2, sizeof sums) != 0;
  if (square)
    bad += memcmp (dg, dg2, sizeof dg) != 0;
  printf ("  pack: %d mismatches (K=%d, N=%d, nr=%d%s)\n", bad, K, N, nr,
      square ? ", float diagonal" : "");
  CHECK (bad == 0, "int8 packing differs from the model");
  g_free (w);
  g_free (wt);
  g_free (dst);
  g_free (dst2);
  }
}

/* 3. */
static void
check_tile_integers (const int8_kernel *ik)
{
  const int nr = ik->k->nr, mr = ik->k->mr;
  float ones[MC_GEMM_MAX_NR], out[MC_GEMM_INT8_MAX_MR * MC_GEMM_MAX_NR];
  int32_t zsum[MC_GEMM_MAX_NR] = { 0 }, za[MC_GEMM_INT8_MAX_MR];
  int bad = 0, cases = 0;

  for (int j = 0; j < MC_GEMM_MAX_NR; j++)
    ones[j] = 1.0f;
  /* 1..20, then steps of 37, then depths of whole 64-k AMX steps, with
   * and without a leftover */
  static const int depths[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    14, 15, 16, 17, 18, 19, 20, 57, 94, 131, 168, 205, 242, 279, 64, 128,
    256, 260, 316 };

  for (size_t d = 0; d < G_N_ELEMENTS (depths); d++) {
    const int K = depths[d];
    const int groups = (K + 3) / 4;
    uint32_t *a = g_new0 (uint32_t, (size_t) mr * groups);
    uint32_t *b = g_new0 (uint32_t, (size_t) groups * nr);
    uint8_t *ab = (uint8_t *) a;
    int8_t *bb = (int8_t *) b;
    /* A's bytes are u − a_bias for codes u in [0, 254] */
    const int a_bias = ik->k->a_bias;
#define A_VALUE(byte) (a_bias ? (int) (int8_t) (byte) : (int) (uint8_t) (byte))
    for (int i = 0; i < mr * groups * 4; i++)
      ab[i] = (uint8_t) ((int) (rnd_u32 () % 255) - a_bias);
    for (int i = 0; i < groups * nr * 4; i++)
      bb[i] = (int8_t) ((int) (rnd_u32 () % 255) - 127);
    /* extremes: rows of the largest and smallest codes against columns of
     * ±127, and zeros */
    for (int k = 0; k < 4 * groups; k++) {
      ab[k] = (uint8_t) (254 - a_bias);
      if (mr > 1)
        ab[4 * groups + k] = (uint8_t) (0 - a_bias);
      bb[((size_t) (k / 4) * nr) * 4 + k % 4] = -127;
      bb[((size_t) (k / 4) * nr + 1) * 4 + k % 4] = 127;
      bb[((size_t) (k / 4) * nr + 2) * 4 + k % 4] = 0;
    }
    for (int i = 0; i < mr; i++)   /* no zero-point correction */
      za[i] = a_bias;
    for (int m = 1; m <= mr; m++) {
      ik->k->tile (m, groups, a, b, zsum, ones, za, ones, NULL, 0, NULL, out,
          nr);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < nr; j++) {
          int64_t s = 0;
          for (int k = 0; k < 4 * groups; k++)
            s += A_VALUE (ab[(size_t) i * groups * 4 + k])
                * bb[((size_t) (k / 4) * nr + j) * 4 + k % 4];
          bad += (double) out[i * nr + j] != (double) s;
        }
      cases++;
    }
    g_free (a);
    g_free (b);
#undef A_VALUE
  }
  printf ("  %s tile: %d integer sums wrong over %d tiles\n", ik->name, bad,
      cases);
  CHECK (bad == 0, "%s: integer sums differ", ik->name);
}

/* 4. */
typedef struct {
  int M, K, N;
  int bias;
  mc_act act;
  int res;          /* 0 none, 1 separate, 2 C itself */
  int pad;          /* extra columns of stride in A and C */
} product_case;

static void
check_products (const int8_kernel *ik, const int8_kernel *same_as,
    mc_threadpool *pool, double *worst_model, double *worst_quant)
{
  int differ = 0, compared = 0;

  static const product_case cases[] = {
    { 1, 1, 1, 0, MC_ACT_NONE, 0, 0 },
    { 7, 5, 3, 1, MC_ACT_NONE, 0, 0 },
    { 13, 64, 33, 1, MC_ACT_GELU, 0, 0 },
    { 37, 130, 50, 1, MC_ACT_RELU, 1, 3 },
    { 64, 96, 48, 0, MC_ACT_NONE, 2, 0 },
    { 50, 77, 40, 1, MC_ACT_GELU, 2, 5 },
    { 300, 192, 64, 1, MC_ACT_NONE, 1, 0 },
    { 256, 64, 192, 1, MC_ACT_GELU, 0, 0 },
    { 65, 512, 100, 1, MC_ACT_NONE, 2, 1 },
    { 40, 96, 96, 1, MC_ACT_GELU, 0, 2 },     /* square: float diagonal */
    { 33, 64, 64, 0, MC_ACT_NONE, 2, 0 },
    { 19, 1536, 40, 1, MC_ACT_GELU, 1, 0 },
  };

  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++) {
    const product_case *pc = &cases[c];
    const int M = pc->M, K = pc->K, N = pc->N;
    const int lda = K + pc->pad, ldc = N + pc->pad;
    float *A = g_new (float, (size_t) M * lda);
    float *W = g_new (float, (size_t) N * K);
    float *bias = g_new (float, N);
    float *R = g_new (float, (size_t) M * ldc);
    float *C = g_new (float, (size_t) M * ldc);
    mc_packed_b pb;
    mc_gemm_format old = mc_gemm_set_pack_format (MC_GEMM_INT8);
    int fail;

    for (int i = 0; i < M * lda; i++)
      A[i] = rnd () * (i % 11 == 0 ? 4.0f : 1.0f);
    for (int i = 0; i < M * lda; i++)   /* some one-sided rows */
      if ((i / lda) % 3 == 1)
        A[i] = fabsf (A[i]) - 0.05f;
    for (int i = 0; i < N * K; i++)
      W[i] = rnd () * 0.2f;
    if (K == N)
      for (int n = 0; n < N; n++)
        W[(size_t) n * K + n] += 1.5f;
    for (int n = 0; n < N; n++)
      bias[n] = rnd ();
    for (int i = 0; i < M * ldc; i++)
      R[i] = C[i] = rnd ();
    fail = mc_pack_b_from_nk (&pb, W, N, K, NULL);
    mc_gemm_set_pack_format (old);
    CHECK (fail == 0 && pb.format == MC_GEMM_INT8, "pack failed");
    if (fail) {
      g_free (A); g_free (W); g_free (bias); g_free (R); g_free (C);
      continue;
    }
    float *C0 = g_memdup2 (C, (gsize) M * ldc * sizeof (float));
    mc_gemm (pool, M, A, lda, &pb, pc->bias ? bias : NULL, pc->act,
        pc->res == 1 ? R : pc->res == 2 ? C : NULL, ldc, C, ldc);
    if (same_as) {
      /* the same product on the reference kernel, from the same C */
      mc_packed_b pr;
      drop_kernel (ik);
      use_kernel (same_as);
      old = mc_gemm_set_pack_format (MC_GEMM_INT8);
      CHECK (mc_pack_b_from_nk (&pr, W, N, K, NULL) == 0, "pack failed");
      mc_gemm_set_pack_format (old);
      mc_gemm (pool, M, A, lda, &pr, pc->bias ? bias : NULL, pc->act,
          pc->res == 1 ? R : pc->res == 2 ? C0 : NULL, ldc, C0, ldc);
      mc_packed_b_free (&pr);
      drop_kernel (same_as);
      use_kernel (ik);
      for (int i = 0; i < M; i++)
        differ += memcmp (C + (size_t) i * ldc, C0 + (size_t) i * ldc,
            (size_t) N * sizeof (float)) != 0;
      compared += M;
    }
    g_free (C0);

    int bad = 0;
    for (int i = 0; i < M; i++) {
      int8_t qa[1536];
      float sa;
      int za;
      model_quant_row (A + (size_t) i * lda, K, qa, &sa, &za);
      for (int n = 0; n < N; n++) {
        int8_t qb[1536];
        float sb, dval;
        int64_t s = 0;
        double exact = 0, qerr = 0;
        model_quant_col (W + (size_t) n * K, K, 1.0f, K == N ? n : -1, qb,
            &sb, &dval);
        /* a = qa·sa + ea with |ea| ≤ sa/2 (and a float rounding of x·inv,
         * hence the 1.0001), the same for b: |a·b − qa·sa·qb·sb| ≤
         * |a|·|eb| + |b|·|ea| + |ea|·|eb| per product */
        const double ea = 1.0001 * sa / 2, eb = 1.0001 * sb / 2;
        for (int k = 0; k < K; k++) {
          const double x = A[(size_t) i * lda + k], y = W[(size_t) n * K + k];
          s += ((int) qa[k] + 127 - za) * qb[k];
          exact += x * y;
          if (!(K == N && k == n))
            qerr += fabs (x) * eb + fabs (y) * ea + ea * eb;
        }
        /* the float diagonal joins after the tile */
        const float dterm = K == N ? A[(size_t) i * lda + n] * dval : 0.0f;
        const float ipart = (float) s * (sa * sb);
        const float deq = ipart + dterm;
        const double b = pc->bias ? bias[n] : 0.0;
        const double r = pc->res ? R[(size_t) i * ldc + n] : 0.0;
        const double pre_model = (double) deq + b;
        const double pre_exact = exact + b;
        double want_model, want_exact, tol_model, tol_quant;
        /* the kernels add the parts in their own order (and may fuse) */
        const double floats = fabs (ipart) + fabs (dterm) + fabs (b) + fabs (r);
        double slope = 1.0;

        if (pc->act == MC_ACT_GELU) {
          want_model = ref_gelu (pre_model) + r;
          want_exact = ref_gelu (pre_exact) + r;
          slope = 1.13;   /* GELU's steepest slope */
          tol_model = MC_TEST_GELU_COARSE_ERR * U * fabs (pre_model)
              + 8 * U * fabs (ref_gelu (pre_model)) + 1e-30
              + slope * 5 * U * floats + 2 * U * fabs (r);
        } else if (pc->act == MC_ACT_RELU) {
          want_model = fmax (pre_model, 0.0) + r;
          want_exact = fmax (pre_exact, 0.0) + r;
          tol_model = 5 * U * floats + 1e-30;
        } else {
          want_model = pre_model + r;
          want_exact = pre_exact + r;
          tol_model = 5 * U * floats + 1e-30;
        }
        tol_quant = slope * qerr + tol_model;
        const double got = C[(size_t) i * ldc + n];
        const double em = fabs (got - want_model) / tol_model;
        const double eq = fabs (got - want_exact) / tol_quant;
        if (em > *worst_model)
          *worst_model = em;
        if (eq > *worst_quant)
          *worst_quant = eq;
        bad += !(em <= 1.0) || !(eq <= 1.0);
      }
    }
    CHECK (bad == 0, "%s: %d outputs out of bounds, case M=%d K=%d N=%d "
        "act=%d res=%d (%d threads)", ik->name, bad, M, K, N, (int) pc->act,
        pc->res, mc_threadpool_size (pool));
    mc_packed_b_free (&pb);
    g_free (A);
    g_free (W);
    g_free (bias);
    g_free (R);
    g_free (C);
  }
  if (same_as) {
    printf ("  %d of %d output rows differ from %s's (%d thread%s)\n", differ,
        compared, same_as->name, mc_threadpool_size (pool),
        mc_threadpool_size (pool) > 1 ? "s" : "");
    CHECK (differ == 0, "%s: outputs differ from %s's", ik->name, same_as->name);
  }
}

#ifdef MC_TEST_VNNI_EMULATION
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_vnni_emulated;
#endif
#ifdef MC_TEST_AMX_EMULATION
#include "amx_tile_model.h"
extern const mc_gemm_kernels mc_gemm_kernels_avx512_geometry;
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx_emulated;
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx32_emulated;
#endif

int
main (void)
{
  int8_kernel kernels[11];
  const int8_kernel *avx2 = NULL;
  int n = 0;
  mc_threadpool *pools[2] = { mc_threadpool_new (1), mc_threadpool_new (2) };

  kernels[n++] = (int8_kernel) { "portable-int8",
    &mc_gemm_int8_kernels_portable, MC_GEMM_PORTABLE, NULL };
#ifdef MC_GEMM_HAVE_X86
  if (mc_gemm_variant_supported (MC_GEMM_AVX2))
    avx2 = &kernels[n], kernels[n++] = (int8_kernel) { "avx2-int8",
      &mc_gemm_int8_kernels_avx2, MC_GEMM_AVX2, NULL };
  else
    printf ("avx2-int8: SKIPPED, this CPU has no AVX2\n");
  if (mc_gemm_int8_vnni_kernels ())
    kernels[n++] = (int8_kernel) { mc_gemm_int8_vnni_kernels ()->name,
      mc_gemm_int8_vnni_kernels (), MC_GEMM_AVX2, NULL };
  else
    printf ("VPDPBUSD kernels: SKIPPED, this CPU has neither AVX-VNNI nor "
        "AVX512-VNNI (or MC_GEMM_VNNI=0, or the compiler had neither)\n");
  /* the AVX-512 slot's own (512-bit VPDPBUSD, 32-column panels); on CPUs
   * without AVX512-VNNI tests/emulated runs it on an emulated one */
  if (mc_gemm_int8_vnni512_kernels ())
    kernels[n++] = (int8_kernel) { mc_gemm_int8_vnni512_kernels ()->name,
      mc_gemm_int8_vnni512_kernels (), MC_GEMM_AVX512, NULL };
  else
    printf ("avx512-vnni512-int8: SKIPPED, this CPU has no AVX512-VNNI (or "
        "MC_GEMM_VNNI=0, or the compiler lacked it; tests/emulated runs it)\n");
  /* AMX-INT8 on the real tiles (the AVX-512 slot's int8 kernel where it
   * is usable and MC_GEMM_AMX is not 0) */
  {
    const char *why = NULL;
    if (mc_gemm_int8_amx_kernels (&why))
      kernels[n++] = (int8_kernel) { "amx-int8", mc_gemm_int8_amx_kernels (NULL),
        MC_GEMM_AVX512, NULL };
    else
      printf ("amx-int8 (real tiles): SKIPPED, %s\n", why);
  }
  /* where the CPU has both encodings (Sapphire Rapids) the engine runs the VEX
   * one: the EVEX one, which Cascade Lake and Ice Lake run, is tested here */
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    const mc_cpu_features *f = mc_cpu_get_features ();
    (void) f;
#ifdef MC_GEMM_HAVE_AVX_VNNI
    if (f->avx_vnni
        && mc_gemm_int8_vnni_kernels () != &mc_gemm_int8_kernels_avx_vnni)
      kernels[n++] = (int8_kernel) { mc_gemm_int8_kernels_avx_vnni.name,
        &mc_gemm_int8_kernels_avx_vnni, MC_GEMM_AVX2, NULL };
#endif
#ifdef MC_GEMM_HAVE_AVX512_VNNI
    if (f->avx512_vnni && f->avx512vl && f->avx512f
        && mc_gemm_int8_vnni_kernels () != &mc_gemm_int8_kernels_avx512_vnni)
      kernels[n++] = (int8_kernel) { mc_gemm_int8_kernels_avx512_vnni.name,
        &mc_gemm_int8_kernels_avx512_vnni, MC_GEMM_AVX2, NULL };
#endif
  }
#endif
#ifdef MC_TEST_VNNI_EMULATION
  if (mc_gemm_variant_supported (MC_GEMM_AVX2))
    kernels[n++] = (int8_kernel) { "vnni-emulated-int8",
      &mc_gemm_int8_kernels_vnni_emulated, MC_GEMM_AVX2, NULL };
#endif
#ifdef MC_TEST_AMX_EMULATION
  /* the AMX-INT8 kernel's code on the tile model, with the AVX-512 float
   * geometry (its 32-column panels) on the AVX2 slot */
  if (mc_gemm_variant_supported (MC_GEMM_AVX2)) {
    kernels[n++] = (int8_kernel) { "amx-int8-emulated",
      &mc_gemm_int8_kernels_amx_emulated, MC_GEMM_AVX2,
      &mc_gemm_kernels_avx512_geometry };
    /* and on 32-row strips (32×32 blocks, MC_GEMM_AMX_ROWS=32) */
    kernels[n++] = (int8_kernel) { "amx-int8-32-emulated",
      &mc_gemm_int8_kernels_amx32_emulated, MC_GEMM_AVX2,
      &mc_gemm_kernels_avx512_geometry };
  }
#endif

  check_pack ();
  for (int i = 0; i < n; i++) {
    double worst_model = 0, worst_quant = 0;

    printf ("%s:\n", kernels[i].name);
    check_quant_a (&kernels[i]);
    check_tile_integers (&kernels[i]);
    use_kernel (&kernels[i]);
    CHECK (!strcmp (mc_gemm_kernel_name (MC_GEMM_INT8), kernels[i].name),
        "variant %s runs int8 on %s", mc_gemm_variant_name (kernels[i].slot),
        mc_gemm_kernel_name (MC_GEMM_INT8));
#ifdef MC_TEST_AMX_EMULATION
    const long dp_before = mc_amx_emulated_dpbusd_count ();
#endif
    /* the x86 kernels compute the same integers and the same epilogue
     * (the portable one's activations differ in the last bits, as in
     * fp32): their outputs must equal the AVX2 kernel's bit for bit */
    for (int p = 0; p < 2; p++)
      check_products (&kernels[i], avx2 && &kernels[i] != avx2
          && kernels[i].slot != MC_GEMM_PORTABLE ? avx2 : NULL, pools[p],
          &worst_model, &worst_quant);
    printf ("  products: worst error %.3f of the model bound, %.4f of the "
        "quantization bound\n", worst_model, worst_quant);
#ifdef MC_TEST_AMX_EMULATION
    if (kernels[i].k == &mc_gemm_int8_kernels_amx_emulated
        || kernels[i].k == &mc_gemm_int8_kernels_amx32_emulated) {
      printf ("  %ld TDPBUSD modelled\n",
          mc_amx_emulated_dpbusd_count () - dp_before);
      CHECK (mc_amx_emulated_dpbusd_count () > dp_before,
          "the products did not run on the tile model");
      CHECK (!mc_amx_emulated_configured (),
          "tiles left configured on the calling thread");
    }
#endif
    drop_kernel (&kernels[i]);
  }
  if (mc_gemm_variant_supported (MC_GEMM_AVX512)) {
    mc_gemm_set_variant (MC_GEMM_AVX512);
    printf ("avx512 variant: int8 products run on %s\n",
        mc_gemm_kernel_name (MC_GEMM_INT8));
  }
  mc_gemm_set_variant (MC_GEMM_AUTO);

  /* 5. */
  {
    mc_packed_b pb;
    const int K = MC_GEMM_INT8_MAX_K + 1;
    float *w = g_new0 (float, K);
    mc_gemm_format old = mc_gemm_set_pack_format (MC_GEMM_INT8);
    CHECK (mc_pack_b_from_nk (&pb, w, 1, K, NULL) == -1,
        "K = %d packed as int8", K);
    mc_gemm_set_pack_format (old);
    g_free (w);
  }
  {
    const int lo = MC_GEMM_INT8_MODEL_MIN_K - 1, hi = MC_GEMM_INT8_MODEL_MIN_K;
    float *w = g_new0 (float, 16 * hi);
    mc_gemm_format old = mc_gemm_set_pack_format (MC_GEMM_INT8);
    mc_packed_b a, b, c;
    int old_min = mc_gemm_set_int8_min_k (MC_GEMM_INT8_MODEL_MIN_K);
    CHECK (mc_pack_b_from_nk (&a, w, 16, lo, NULL) == 0
        && mc_pack_b_from_nk (&b, w, 16, hi, NULL) == 0, "packing failed");
    CHECK (a.format == MC_GEMM_F32 && !a.col_scale, "K = %d: format %d, not float",
        lo, (int) a.format);
    CHECK (b.format == MC_GEMM_INT8, "K = %d: format %d, not int8", hi, (int) b.format);
    mc_gemm_set_int8_min_k (old_min);
    CHECK (mc_pack_b_from_nk (&c, w, 16, lo, NULL) == 0 && c.format == MC_GEMM_INT8,
        "K = %d without a minimum depth: format %d, not int8", lo, (int) c.format);
    printf ("minimum int8 depth %d: K = %d packs format %d, K = %d format %d\n",
        MC_GEMM_INT8_MODEL_MIN_K, lo, (int) a.format, hi, (int) b.format);
    mc_packed_b_free (&a);
    mc_packed_b_free (&b);
    mc_packed_b_free (&c);
    mc_gemm_set_pack_format (old);
    g_free (w);
  }

  mc_threadpool_free (pools[0]);
  mc_threadpool_free (pools[1]);
  return mc_test_finish ("gemm-int8");
}
