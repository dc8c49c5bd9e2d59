/* isa_kernels.c — kmain of the emulated-CPU test: the engine's AVX-512
 * code (and its VNNI / BF16 kernels where the emulated CPU has them) run
 * for real, through the unchanged GEMM driver, against the AVX2 code that
 * the regular suite checks on real hardware, and against a double
 * reference.
 *
 * What must match bit for bit (by design, see gemm_kernels.h and
 * op_kernels.h): fp32 products whose K fits one K block of both variants
 * (every output is then the same chain of FMAs, then + src, + bias, then
 * the same epilogue), the GELU, every int8 kernel (the same integers, the
 * same float epilogue), every bf16 kernel but AMX, and the direct convs.
 * Deeper fp32 products (AVX-512 blocks K by 256, AVX2 by 2048) and the
 * softmax (its sum is reduced over 16 lanes instead of 8) are held to
 * their rounding-error bounds instead.  With MC_TEST_PREPROCESS_AVX512
 * (the archive has the avx512 preprocessing pass) and a CPU with
 * AVX512-VBMI and VNNI, the preprocessing's horizontal and vertical passes
 * and YUV conversion too: their bytes and floats against the AVX2 code's.
 *
 * Prints one line per group of checks and exits with the number of
 * failures (0 = all passed). */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu_runtime.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/gemm_kernels.h"
#include "ops/op_kernels.h"
#include "runtime/cpu.h"
#ifdef MC_TEST_PREPROCESS_AVX512
#include "preprocess/resample.h"
#include "preprocess/unpack.h"
#include "preprocess/x86/kernels_avx2.h"
#include "preprocess/x86/kernels_avx512.h"
#endif

#define U (1.0 / 16777216.0)   /* 2^-24: unit roundoff of float */

static int failures;

/* the first MAX_SHOWN failures are printed, all are counted */
#define MAX_SHOWN 20
#define CHECK(cond, ...) do { \
    if (!(cond) && ++failures <= MAX_SHOWN) { \
      emu_printf ("  failed: "); \
      emu_printf (__VA_ARGS__); \
      emu_printf ("\n"); \
    } \
  } while (0)

/* The word that starts a group's summary line: whether its checks (since
 * `before` failures) all held. */
static const char *
verdict (int before)
{
  return failures == before ? "ok:  " : "FAIL:";
}

/* ---- data ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* uniform in [-1, 1) */
static float
rnd (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float) ((int32_t) (rng >> 32)) / 2147483648.0f;
}

static float *
random_floats (size_t n)
{
  float *p = malloc (n * sizeof (float));
  for (size_t i = 0; i < n; i++)
    p[i] = rnd ();
  return p;
}

static double
dabs (double x)
{
  return x < 0 ? -x : x;
}

/* index of the first element whose bits differ, or -1 */
static long
first_difference (const float *a, const float *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0)
      return (long) i;
  return -1;
}

static int
variant_ok (mc_gemm_variant v, const char *what)
{
  if (mc_gemm_variant_supported (v))
    return 1;
  failures++;
  emu_printf ("FAIL: the emulated CPU cannot run the %s variant\n", what);
  return 0;
}

/* ---- fp32 products (mc_gemm, the driver included) ---- */

enum { EP_NONE, EP_BIAS, EP_RES, EP_BIAS_GELU, EP_GELU_RES, EP_GELU_RES_IN_C,
  N_EP };
static const char *const ep_names[N_EP] = { "none", "bias", "residual",
  "bias+gelu", "gelu+residual", "gelu+residual=C" };

/* One product's shape, epilogue and random inputs: A [M, K], W [N, K] (a
 * PyTorch weight), bias [N], R [M, N] (the residual). */
typedef struct {
  int M, K, N, ep;
  const float *A, *W, *bias, *R;
} product;

static product
random_product (int M, int K, int N, int ep)
{
  const product p = { M, K, N, ep, random_floats ((size_t) M * K),
    random_floats ((size_t) N * K), random_floats (N),
    random_floats ((size_t) M * N) };
  return p;
}

/* C of p with variant v current and W packed as f (a new array) */
static float *
run_product (mc_gemm_variant v, mc_gemm_format f, const product *p)
{
  mc_packed_b pb;
  const int ep = p->ep;
  const mc_act act = ep >= EP_BIAS_GELU ? MC_ACT_GELU : MC_ACT_NONE;
  const float *b = ep == EP_BIAS || ep == EP_BIAS_GELU ? p->bias : NULL;
  const float *res = ep == EP_RES || ep == EP_GELU_RES ? p->R : NULL;
  float *C = malloc ((size_t) p->M * p->N * sizeof (float));

  mc_gemm_set_variant (v);
  mc_gemm_set_pack_format (f);
  if (mc_pack_b_from_nk (&pb, p->W, p->N, p->K, NULL) != 0) {
    CHECK (0, "packing %dx%d failed", p->K, p->N);
    memset (C, 0, (size_t) p->M * p->N * sizeof (float));
    mc_gemm_set_pack_format (MC_GEMM_F32);
    return C;
  }
  if (ep == EP_GELU_RES_IN_C) {
    memcpy (C, p->R, (size_t) p->M * p->N * sizeof (float));
    res = C;
  }
  mc_gemm (NULL, p->M, p->A, p->K, &pb, b, act, res, res ? p->N : 0, C, p->N);
  mc_gemm_set_pack_format (MC_GEMM_F32);
  return C;
}

typedef struct {
  long outputs, identical, asm_identical, bounded;
  double max_ratio;      /* |err| over its bound, worst case */
} product_stats;

/* |C − exact| ≤ γ_(K+2)·(Σ|a·w| + |bias| + |res|) for products without GELU */
static void
check_against_double (product_stats *st, const product *p, const float *C,
    const char *label)
{
  const int M = p->M, K = p->K, N = p->N;
  const double gamma = (K + 2) * U / (1 - (K + 2) * U);

  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0, mag = 0;
      for (int k = 0; k < K; k++) {
        const double t = (double) p->A[i * K + k] * p->W[j * K + k];
        s += t;
        mag += dabs (t);
      }
      if (p->ep == EP_BIAS) {
        s += p->bias[j];
        mag += dabs (p->bias[j]);
      } else if (p->ep == EP_RES) {
        s += p->R[i * N + j];
        mag += dabs (p->R[i * N + j]);
      }
      const double err = dabs (C[i * N + j] - s), bound = gamma * mag + 1e-38;
      if (err / bound > st->max_ratio)
        st->max_ratio = err / bound;
      CHECK (err <= bound, "%s %dx%dx%d %s: C[%d][%d] = %e, exact %e, bound %e",
          label, M, K, N, ep_names[p->ep], i, j, C[i * N + j], s, bound);
    }
}

static void
check_fp32_products (void)
{
  const int before = failures;
  static const int ms[] = { 1, 13, 14, 15, 29, 64 };
  static const int ks[] = { 1, 5, 64, 256, 300, 600 };
  static const int ns[] = { 1, 31, 32, 33, 96 };
  product_stats st = { 0 };
  int c = 0;

  if (!variant_ok (MC_GEMM_AVX512, "avx512") || !variant_ok (MC_GEMM_AVX2, "avx2"))
    return;
  for (unsigned a = 0; a < sizeof ms / sizeof ms[0]; a++)
    for (unsigned b = 0; b < sizeof ks / sizeof ks[0]; b++)
      for (unsigned d = 0; d < sizeof ns / sizeof ns[0]; d++, c++) {
        const int M = ms[a], K = ks[b], N = ns[d], ep = c % N_EP;
        const product p = random_product (M, K, N, ep);
        const float *C512 = run_product (MC_GEMM_AVX512, MC_GEMM_F32, &p);
        const float *C2 = run_product (MC_GEMM_AVX2, MC_GEMM_F32, &p);
        const float *C512c;

        /* the full tiles' k loop in C instead of assembly: the same bits */
        mc_gemm_asm_off = 1;
        C512c = run_product (MC_GEMM_AVX512, MC_GEMM_F32, &p);
        mc_gemm_asm_off = 0;
        const long asm_at = first_difference (C512, C512c, (size_t) M * N);
        CHECK (asm_at < 0, "fp32 %dx%dx%d %s: avx512 assembly k loop %e != C loop %e at %ld",
            M, K, N, ep_names[ep], asm_at < 0 ? 0.0 : C512[asm_at],
            asm_at < 0 ? 0.0 : C512c[asm_at], asm_at);
        st.asm_identical += (long) M * N;

        st.outputs += (long) M * N;
        /* one K block in both variants (or the driver's single block for
         * an activation with the residual in C): the same bits */
        if (K <= 256 || ep == EP_GELU_RES_IN_C) {
          const long at = first_difference (C512, C2, (size_t) M * N);
          CHECK (at < 0, "fp32 %dx%dx%d %s: avx512 %e != avx2 %e at %ld", M, K, N,
              ep_names[ep], at < 0 ? 0.0 : C512[at], at < 0 ? 0.0 : C2[at], at);
          st.identical += (long) M * N;
        }
        if (ep <= EP_RES) {
          check_against_double (&st, &p, C512, "fp32 avx512");
          st.bounded += (long) M * N;
        }
      }
  mc_gemm_set_variant (MC_GEMM_AVX512);
  emu_printf ("%s fp32 products (%s): %ld outputs, %ld compared bit for bit "
      "with avx2, %ld with the C k loop, %ld within the double bound "
      "(max err/bound %.3f)\n",
      verdict (before), mc_gemm_kernel_name (MC_GEMM_F32), st.outputs,
      st.identical, st.asm_identical, st.bounded, st.max_ratio);
}

/* attention's unpacked products, both layouts of B, alpha folded in */
static void
check_plain_products (void)
{
  const int before = failures;
  static const struct { int M, N, K, trans_b; } cases[] = {
    { 64, 64, 32, 1 }, { 64, 32, 64, 0 }, { 77, 77, 64, 1 }, { 77, 64, 77, 0 },
    { 5, 3, 17, 1 }, { 16, 40, 33, 0 },
  };
  long outputs = 0;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const int M = cases[c].M, N = cases[c].N, K = cases[c].K, tb = cases[c].trans_b;
    float *A = random_floats ((size_t) M * K), *B = random_floats ((size_t) K * N);
    float *C512 = malloc ((size_t) M * N * sizeof (float));
    float *C2 = malloc ((size_t) M * N * sizeof (float));
    const int ldb = tb ? K : N;

    mc_gemm_set_variant (MC_GEMM_AVX512);
    mc_gemm_plain (M, N, K, 0.125f, A, K, B, ldb, tb, C512, N);
    mc_gemm_set_variant (MC_GEMM_AVX2);
    mc_gemm_plain (M, N, K, 0.125f, A, K, B, ldb, tb, C2, N);
    const long at = first_difference (C512, C2, (size_t) M * N);
    CHECK (at < 0, "plain %dx%dx%d trans_b=%d: avx512 != avx2 at %ld", M, N, K, tb, at);
    outputs += (long) M * N;
  }
  emu_printf ("%s unpacked products: %ld outputs bit for bit equal to avx2\n",
      verdict (before), outputs);
}

/* ---- GELU ---- */

static void
check_gelu (void)
{
  const int before = failures;
  enum { N = 65536 };
  float *x512 = malloc (N * sizeof (float)), *x2 = malloc (N * sizeof (float));
  const uint32_t specials[] = { 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x00000000u,
    0x80000000u, 0x00000001u, 0x80800000u, 0x40b00000u /* 5.5 */, 0xc0b00000u,
    0x407a0000u /* 3.906 */, 0xc07a0000u, 0x7f7fffffu, 0xff7fffffu };
  const unsigned n_special = sizeof specials / sizeof specials[0];

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  for (int i = 0; i < N; i++)
    x512[i] = -12.0f + 24.0f * (float) i / N;
  for (unsigned i = 0; i < n_special; i++)
    memcpy (&x512[i * 97], &specials[i], sizeof (float));
  memcpy (x2, x512, N * sizeof (float));
  mc_gemm_set_variant (MC_GEMM_AVX512);
  mc_gelu_inplace (x512, N - 3);   /* a length that leaves a vector tail */
  mc_gemm_set_variant (MC_GEMM_AVX2);
  mc_gelu_inplace (x2, N - 3);
  const long at = first_difference (x512, x2, N);
  CHECK (at < 0, "gelu: avx512 %e != avx2 %e at %ld", at < 0 ? 0.0 : x512[at],
      at < 0 ? 0.0 : x2[at], at);
  emu_printf ("%s gelu: %d values (-12..12, inf, nan, denormal) bit for bit "
      "equal to avx2\n", verdict (before), N - 3);
}

/* ---- int8 and bf16 panels ---- */

/* The AMX kernels' code on the C model of the tiles (tests/ops, linked
 * in): where the CPU has AMX, the real kernels must give the model's bits. */
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx_emulated;
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx32_emulated;
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx_emulated;
/* the engine's 32-row AMX-INT8 kernel (MC_GEMM_AMX_ROWS=32), where the
 * compiler that built the archive had AMX */
extern const mc_gemm_int8_kernels mc_gemm_int8_kernels_amx32
    __attribute__ ((weak));
/* and its 32-row AMX-BF16 kernel */
extern const mc_gemm_bf16_kernels mc_gemm_bf16_kernels_amx32
    __attribute__ ((weak));

/* C of p on int8 (or bf16) panels of slot v, its kernel replaced by k */
static float *
run_product_int8_on (mc_gemm_variant v, const mc_gemm_int8_kernels *k,
    const product *p)
{
  float *C;

  mc_gemm_int8_kernels_override (v, k);
  C = run_product (v, MC_GEMM_INT8, p);
  mc_gemm_int8_kernels_override (v, NULL);
  return C;
}

static float *
run_product_bf16_on (mc_gemm_variant v, const mc_gemm_bf16_kernels *k,
    const product *p)
{
  float *C;

  mc_gemm_bf16_kernels_override (v, k);
  C = run_product (v, MC_GEMM_BF16, p);
  mc_gemm_bf16_kernels_override (v, NULL);
  return C;
}

/* int8: the AVX-512 slot's kernel (AMX-INT8 where the CPU has it, else
 * VPDPBUSD on 512-bit vectors) and the AVX2 slot's (VPDPBUSD on 256-bit
 * vectors where the CPU has VNNI) against the AVX2 kernel; every int8
 * kernel computes the same integers and the same float epilogue, so all
 * agree bit for bit.  With AMX also the 512-bit VPDPBUSD kernel, which AMX
 * replaces, and the AMX kernel's code on the tile model. */
static void
check_int8 (const mc_cpu_features *f)
{
  const int before = failures;
  static const struct { int M, K, N, ep; } cases[] = {
    { 29, 256, 96, EP_BIAS_GELU }, { 14, 768, 64, EP_RES }, { 64, 128, 33, EP_BIAS },
    { 7, 100, 32, EP_GELU_RES }, { 16, 384, 384, EP_GELU_RES_IN_C },
    { 9, 20, 17, EP_NONE }, { 1, 2048, 512, EP_BIAS },
    /* strips of more than 16 rows with a leftover of k (the 32-row AMX
     * kernel's reloaded configuration), with and without whole steps */
    { 40, 100, 48, EP_BIAS }, { 20, 36, 40, EP_NONE },
  };
  const char *k512, *k256;
  long outputs = 0;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  mc_gemm_set_pack_format (MC_GEMM_INT8);
  mc_gemm_set_variant (MC_GEMM_AVX512);
  k512 = mc_gemm_kernel_name (MC_GEMM_INT8);
  mc_gemm_set_variant (MC_GEMM_AVX2);
  k256 = mc_gemm_kernel_name (MC_GEMM_INT8);
  mc_gemm_set_pack_format (MC_GEMM_F32);
  const int amx = f->amx_tile && f->amx_int8;
  CHECK (!amx || strcmp (k512, "amx-int8") == 0,
      "the CPU has AMX-INT8 but the AVX-512 slot's int8 runs %s", k512);
  CHECK (amx || !f->avx512_vnni || strcmp (k512, "avx512-vnni512-int8") == 0,
      "the CPU has AVX512-VNNI but the AVX-512 slot's int8 runs %s", k512);
  CHECK (!f->avx512_vnni || f->avx_vnni || strcmp (k256, "avx512-vnni-int8") == 0,
      "the CPU has AVX512-VNNI but the AVX2 slot's int8 runs %s", k256);
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const int M = cases[c].M, K = cases[c].K, N = cases[c].N, ep = cases[c].ep;
    const product p = random_product (M, K, N, ep);
    const float *C512 = run_product (MC_GEMM_AVX512, MC_GEMM_INT8, &p);
    const float *C256 = run_product (MC_GEMM_AVX2, MC_GEMM_INT8, &p);
    const float *C2;
    long at;

    mc_gemm_int8_kernels_override (MC_GEMM_AVX2, &mc_gemm_int8_kernels_avx2);
    C2 = run_product (MC_GEMM_AVX2, MC_GEMM_INT8, &p);
    mc_gemm_int8_kernels_override (MC_GEMM_AVX2, NULL);
    at = first_difference (C512, C2, (size_t) M * N);
    CHECK (at < 0, "int8 %dx%dx%d %s: %s != avx2-int8 at %ld", M, K, N,
        ep_names[ep], k512, at);
    at = first_difference (C256, C2, (size_t) M * N);
    CHECK (at < 0, "int8 %dx%dx%d %s: %s != avx2-int8 at %ld", M, K, N,
        ep_names[ep], k256, at);
    if (amx && mc_gemm_int8_vnni512_kernels ()) {
      const float *Cv = run_product_int8_on (MC_GEMM_AVX512,
          mc_gemm_int8_vnni512_kernels (), &p);
      const float *Cm = run_product_int8_on (MC_GEMM_AVX512,
          &mc_gemm_int8_kernels_amx_emulated, &p);
      at = first_difference (Cv, C2, (size_t) M * N);
      CHECK (at < 0, "int8 %dx%dx%d %s: avx512-vnni512-int8 != avx2-int8 at %ld",
          M, K, N, ep_names[ep], at);
      at = first_difference (C512, Cm, (size_t) M * N);
      CHECK (at < 0, "int8 %dx%dx%d %s: %s != its code on the tile model at %ld",
          M, K, N, ep_names[ep], k512, at);
    }
    if (amx && &mc_gemm_int8_kernels_amx32) {   /* 32-row strips */
      const float *C32 = run_product_int8_on (MC_GEMM_AVX512,
          &mc_gemm_int8_kernels_amx32, &p);
      const float *Cm32 = run_product_int8_on (MC_GEMM_AVX512,
          &mc_gemm_int8_kernels_amx32_emulated, &p);
      at = first_difference (C32, C2, (size_t) M * N);
      CHECK (at < 0, "int8 %dx%dx%d %s: amx-int8-32 != avx2-int8 at %ld",
          M, K, N, ep_names[ep], at);
      at = first_difference (C32, Cm32, (size_t) M * N);
      CHECK (at < 0, "int8 %dx%dx%d %s: amx-int8-32 != its code on the tile "
          "model at %ld", M, K, N, ep_names[ep], at);
    }
    outputs += (long) M * N;
  }
  emu_printf ("%s int8 products (%s, %s%s): %ld outputs each bit for bit equal "
      "to avx2-int8%s\n", verdict (before), k512, k256,
      amx ? ", avx512-vnni512-int8, amx-int8-32" : "", outputs,
      amx ? " and to the AMX tile model" : "");
}

static void
check_bf16 (const mc_cpu_features *f)
{
  const int before = failures;
  static const struct { int M, K, N, ep; } cases[] = {
    { 29, 256, 96, EP_BIAS_GELU }, { 14, 768, 64, EP_RES }, { 64, 129, 33, EP_BIAS },
    { 15, 600, 32, EP_GELU_RES }, { 16, 384, 384, EP_GELU_RES_IN_C },
  };
  const char *native;
  long outputs = 0;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  mc_gemm_set_variant (MC_GEMM_AVX512);
  native = mc_gemm_kernel_name (MC_GEMM_BF16);
  if (!f->avx512_bf16) {
    emu_printf ("bf16 products: SKIPPED, the emulated CPU has no AVX512-BF16 "
        "(the AVX-512 slot packs for %s)\n", native);
    return;
  }
  CHECK (mc_gemm_bf16_native (), "AVX512-BF16 present but bf16 runs %s", native);
  const int amx = f->amx_tile && f->amx_bf16;
  CHECK (!amx || strcmp (native, "amx-bf16") == 0,
      "the CPU has AMX-BF16 but the AVX-512 slot's bf16 runs %s", native);
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const int M = cases[c].M, K = cases[c].K, N = cases[c].N, ep = cases[c].ep;
    const product p = random_product (M, K, N, ep);
    /* VDPBF16PS's order: the same bits as the AVX2 emulation */
    const float *Cv = run_product_bf16_on (MC_GEMM_AVX512,
        &mc_gemm_bf16_kernels_avx512bf16, &p);
    const float *C2 = run_product (MC_GEMM_AVX2, MC_GEMM_BF16, &p);
    long at = first_difference (Cv, C2, (size_t) M * N);
    CHECK (at < 0, "bf16 %dx%dx%d %s: avx512bf16 != avx2 emulation at %ld", M,
        K, N, ep_names[ep], at);
    if (amx) {   /* TDPBF16PS's order: the tile model's bits */
      const float *Ca = run_product (MC_GEMM_AVX512, MC_GEMM_BF16, &p);
      const float *Cm = run_product_bf16_on (MC_GEMM_AVX512,
          &mc_gemm_bf16_kernels_amx_emulated, &p);
      at = first_difference (Ca, Cm, (size_t) M * N);
      CHECK (at < 0, "bf16 %dx%dx%d %s: amx-bf16 %e != tile model %e at %ld",
          M, K, N, ep_names[ep], at < 0 ? 0.0 : Ca[at], at < 0 ? 0.0 : Cm[at],
          at);
      if (&mc_gemm_bf16_kernels_amx32) {   /* 32-row strips: the same bits */
        const float *C32 = run_product_bf16_on (MC_GEMM_AVX512,
            &mc_gemm_bf16_kernels_amx32, &p);
        at = first_difference (C32, Cm, (size_t) M * N);
        CHECK (at < 0, "bf16 %dx%dx%d %s: amx-bf16-32 != tile model at %ld",
            M, K, N, ep_names[ep], at);
      }
    }
    outputs += (long) M * N;
  }
  emu_printf ("%s bf16 products (avx512bf16%s): %ld outputs bit for bit equal "
      "to the avx2 emulation%s\n", verdict (before),
      amx ? ", amx-bf16, amx-bf16-32" : "", outputs,
      amx ? " (amx-bf16, amx-bf16-32: to the AMX tile model)" : "");
}

/* ---- direct convs and the softmax (op_kernels.h) ---- */

typedef struct {
  int cin, cout, groups, kh, kw, stride, pad, h, w;
} conv_case;

static void
check_convs (void)
{
  const int before = failures;
  static const conv_case cases[] = {
    { 64, 64, 64, 3, 3, 1, 1, 9, 13 },     /* RepMixer, rows too short to slide */
    { 40, 40, 40, 7, 7, 1, 3, 11, 10 },    /* ConvFFN, channels not a vector multiple */
    /* rows long enough for the sliding strips (AVX-512: 16 pixels for 3×3
     * and 7×7; AVX2: 8 and 8), with tails and channel remainders */
    { 128, 128, 128, 3, 3, 1, 1, 8, 32 },
    { 48, 48, 48, 3, 3, 1, 1, 6, 45 },
    { 64, 64, 64, 7, 7, 1, 3, 16, 64 },   /* a band of stage 1 */
    { 40, 40, 40, 7, 7, 1, 3, 9, 37 },
    { 64, 64, 64, 7, 7, 1, 3, 5, 16 },     /* stage 3's rows: one short strip */
    { 48, 96, 48, 7, 7, 2, 3, 13, 12 },    /* PatchEmbed: one input feeds two outputs */
    { 24, 24, 24, 3, 3, 2, 1, 15, 9 },     /* stem, stride 2 */
    { 80, 80, 80, 1, 11, 1, 5, 1, 77 },    /* the mct text mixer */
    { 3, 32, 1, 3, 3, 2, 1, 17, 16 },      /* stem's first, a full conv */
    { 16, 48, 1, 3, 3, 1, 1, 8, 7 },
  };
  long outputs = 0;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const conv_case *k = &cases[c];
    const int ho = mc_conv_out_size (k->h, k->kh, k->stride, k->pad);
    const int wo = mc_conv_out_size (k->w, k->kw, k->stride, k->pad);
    mc_conv conv = { k->cin, k->cout, k->groups, k->kh, k->kw, k->stride,
      k->stride, k->pad, k->pad, NULL, NULL };
    float *in = random_floats ((size_t) k->h * k->w * k->cin);
    float *row512 = malloc ((size_t) wo * k->cout * sizeof (float));
    float *row2 = malloc ((size_t) wo * k->cout * sizeof (float));

    conv.weight = random_floats ((size_t) k->kh * k->kw * (k->cin / k->groups) * k->cout);
    conv.bias = random_floats (k->cout);
    for (int oy = 0; oy < ho; oy++) {
      if (k->groups == 1) {
        mc_op_kernels_avx512.full_row (&conv, in, k->h, k->w, oy, wo, row512);
        mc_op_kernels_avx2.full_row (&conv, in, k->h, k->w, oy, wo, row2);
      } else {
        mc_op_kernels_avx512.chan_row (&conv, in, k->h, k->w, oy, wo, row512);
        mc_op_kernels_avx2.chan_row (&conv, in, k->h, k->w, oy, wo, row2);
      }
      const long at = first_difference (row512, row2, (size_t) wo * k->cout);
      CHECK (at < 0, "conv %d→%d g%d %dx%d/%d on %dx%d, row %d: avx512 != avx2 at %ld",
          k->cin, k->cout, k->groups, k->kh, k->kw, k->stride, k->h, k->w, oy, at);
      outputs += (long) wo * k->cout;
    }
  }
  emu_printf ("%s direct convs: %ld outputs bit for bit equal to avx2\n",
      verdict (before), outputs);
}

/* Softmax rows: max and exponentials are elementwise the same code; the sum
 * is reduced over 16 lanes instead of 8, so each result may differ by the
 * summation's bound, γ_n relative. */
static void
check_softmax (void)
{
  const int before = failures;
  static const int ns[] = { 1, 5, 16, 33, 64, 77, 100 };
  static const int causal[] = { -1, 0, 3 };
  const int m = 9;
  long outputs = 0;
  double worst = 0;

  if (!mc_gemm_variant_supported (MC_GEMM_AVX512))
    return;
  for (unsigned a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (unsigned b = 0; b < sizeof causal / sizeof causal[0]; b++) {
      const int n = ns[a], lds = n + 3;
      float *s512 = random_floats ((size_t) m * lds);
      float *s2 = malloc ((size_t) m * lds * sizeof (float));
      const double gamma = (n + 2) * U / (1 - (n + 2) * U);

      for (int i = 0; i < m * lds; i++)
        s512[i] *= 8.0f;   /* logits of a few units, as attention gives */
      memcpy (s2, s512, (size_t) m * lds * sizeof (float));
      mc_op_kernels_avx512.softmax_rows (s512, lds, m, n, causal[b]);
      mc_op_kernels_avx2.softmax_rows (s2, lds, m, n, causal[b]);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < lds; j++) {
          const float x = s512[i * lds + j], y = s2[i * lds + j];
          const double d = dabs ((double) x - y), bound = gamma * dabs (y);
          if (j >= n) {
            /* past n: the padding is not the kernel's to touch */
            CHECK (memcmp (&x, &y, sizeof x) == 0,
                "softmax n=%d: column %d past n changed", n, j);
            continue;
          }
          if (bound > 0 && d / bound > worst)
            worst = d / bound;
          CHECK (d <= bound, "softmax n=%d causal=%d [%d][%d]: avx512 %e, avx2 %e",
              n, causal[b], i, j, x, y);
          outputs++;
        }
    }
  emu_printf ("%s softmax: %ld outputs within γ_n of avx2 (max diff/bound "
      "%.3f)\n", verdict (before), outputs, worst);
}

#ifdef MC_TEST_PREPROCESS_AVX512
static uint64_t
rng_next (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A table of n_out outputs `scale` inputs apart, each with 1..taps random
 * positive weights summing to about 2^22 (the kernels need no more). */
static void
random_table (mc_filter_table *t, int n_out, double scale, int taps)
{
  memset (t, 0, sizeof *t);
  t->n_out = n_out;
  t->taps = taps;
  t->first = malloc (sizeof (int) * n_out);
  t->count = malloc (sizeof (int) * n_out);
  t->coef = calloc ((size_t) n_out * taps, sizeof (int32_t));
  for (int o = 0; o < n_out; o++) {
    const int count = 1 + (int) (rng_next () % (uint64_t) taps);
    uint32_t w[64], sum = 0;
    t->first[o] = (int) (o * scale);
    t->count[o] = count;
    t->in_hi = t->first[o] + count;
    for (int k = 0; k < count; k++)
      sum += w[k] = 1 + (uint32_t) (rng_next () % 1000);
    for (int k = 0; k < count; k++)
      t->coef[(size_t) o * taps + k] = (int32_t) ((uint64_t) w[k] * (1u << 22) / sum);
  }
}

/* The avx512 variant's horizontal pass (VPERMT2B, VPDPBUSD on the weights'
 * signed-byte digits) against the AVX2 pass, byte for byte, on tables that
 * fit its 128-byte window and on ones that do not (no plan: the AVX2 pass
 * runs them); bytes past its n_out triples must stay untouched. */
static void
check_preprocess_hpass (const mc_cpu_features *f)
{
  const int before = failures;
  static const struct { int n_out; double scale; int taps; } cases[] = {
    { 1, 1.0, 2 }, { 7, 0.5, 2 }, { 16, 1.875, 5 }, { 17, 4.22, 10 }, { 256, 4.22, 10 },
    { 224, 4.82, 11 }, { 40, 8.0, 18 }, { 4, 25.0, 52 },
    { 256, 8.44, 19 }, { 16, 15.6, 33 },   /* beyond the window: no plan */
  };
  long bytes = 0;
  int planned = 0, fallbacks = 0;

  if (!f->avx512vbmi || !f->avx512_vnni) {
    emu_printf ("skip: preprocessing horizontal pass (no AVX512-VBMI or VNNI)\n");
    return;
  }
  for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    mc_filter_table t;
    mc_hplan plan2 = { 0 };
    mc_hplan512 plan = { 0 };
    random_table (&t, cases[c].n_out, cases[c].scale, cases[c].taps);
    CHECK (mc_hplan_build_avx2 (&plan2, &t, NULL) == MC_OK, "avx2 plan %u", c);
    CHECK (mc_hplan512_build (&plan, &t, NULL) == MC_OK, "avx512 plan %u", c);
    if (!plan.n_out) {
      fallbacks++;
      continue;
    }
    planned++;
    const int end = (plan.read_end > plan2.read_end + 16 ? plan.read_end : plan2.read_end + 16);
    const int out_bytes = 3 * ((cases[c].n_out + 7) / 8 * 8) + 64;
    uint8_t *rgb[3], *d512 = malloc (out_bytes), *d2 = malloc (out_bytes);
    for (int ch = 0; ch < 3; ch++) {
      rgb[ch] = malloc (end);
      for (int i = 0; i < end; i++)
        rgb[ch][i] = (uint8_t) rng_next ();
    }
    memset (d512, 0xa5, out_bytes);
    mc_hpass_row_avx512 (&plan, rgb[0], rgb[1], rgb[2], 0, d512);
    mc_hpass_row_avx2 (&plan2, rgb[0], rgb[1], rgb[2], 0, d2);
    for (int i = 0; i < 3 * cases[c].n_out; i++)
      CHECK (d512[i] == d2[i], "hpass case %u byte %d: avx512 %d, avx2 %d", c, i, d512[i], d2[i]);
    for (int i = 3 * cases[c].n_out; i < out_bytes; i++)
      CHECK (d512[i] == 0xa5, "hpass case %u: byte %d past the outputs written", c, i);
    bytes += 3 * cases[c].n_out;
  }
  CHECK (planned == 8 && fallbacks == 2, "%d tables planned, %d left to AVX2 (8 and 2 expected)",
      planned, fallbacks);
  emu_printf ("%s preprocessing horizontal pass: %ld bytes of %d tables equal to avx2's "
      "(%d left to it)\n", verdict (before), bytes, planned, fallbacks);
}

/* The avx512 variant's vertical pass (four rows a step, VPDPBUSD on the
 * weights' digits) against the AVX2 one, float for float, on random rows
 * and tables of 1 to 19 taps summing to about 2^22 (and one of 600, which
 * it hands to the AVX2 pass), for row lengths that end anywhere in its
 * 64-column steps; floats past n must stay untouched. */
static void
check_preprocess_vpass (void)
{
  enum { ROWS = 600, N = 260 };
  static uint8_t data[ROWS][N];
  static const uint8_t *rows[ROWS];
  static int32_t k[ROWS];
  static const int counts[] = { 1, 2, 3, 4, 5, 8, 9, 10, 13, 19, 600 };
  static const int lengths[] = { 1, 15, 16, 63, 64, 65, 200, 256 };
  float got[N + 32], want[N + 32];
  const int before = failures;
  long values = 0;

  for (int r = 0; r < ROWS; r++) {
    for (int i = 0; i < N; i++)
      data[r][i] = (uint8_t) rng_next ();
    rows[r] = data[r];
  }
  for (unsigned ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
    const int count = counts[ci];
    uint32_t sum = 0;
    for (int t = 0; t < count; t++)
      sum += (uint32_t) (k[t] = 1 + (int32_t) (rng_next () % 1000));
    for (int t = 0; t < count; t++)
      k[t] = (int32_t) ((uint64_t) k[t] * (1u << 22) / sum);
    for (unsigned li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
      const int n = lengths[li];
      memset (got, 0xa5, sizeof got);
      mc_vpass_row_avx512 (rows, k, count, n, got);
      mc_vpass_row_avx2 (rows, k, count, n, want);
      for (int i = 0; i < n; i++)
        CHECK (memcmp (&got[i], &want[i], sizeof (float)) == 0,
            "vpass %d taps, %d columns: column %d avx512 %g, avx2 %g", count, n, i,
            (double) got[i], (double) want[i]);
      for (int i = n; i < N + 32; i++) {
        uint32_t bits;
        memcpy (&bits, &got[i], sizeof bits);
        CHECK (bits == 0xa5a5a5a5u, "vpass %d taps, %d columns: float %d past the row written",
            count, n, i);
      }
      values += n;
    }
  }
  emu_printf ("%s preprocessing vertical pass: %ld floats of %d tables equal to avx2's\n",
      verdict (before), values, (int) (sizeof counts / sizeof counts[0]));
}

/* The avx512 variant's unpacking (64 pixels a step, byte masks at the row's
 * end) against the AVX2 one, byte for byte, on random 4:2:0 (8- and
 * 10-bit), 4:2:2 and 4:4:4 rows (planar, semi-planar and packed) and
 * constants, and on 3- and
 * 4-byte RGB-family rows, one and two rows at a time, for pixel
 * spans that end anywhere in a step; bytes past the span must stay
 * untouched. */
static void
check_preprocess_unpack (void)
{
  enum { W = 200, H = 4, SLACK = 96 };
  static const mc_pixel_format formats[] = {
    MC_PIXEL_I420, MC_PIXEL_YV12, MC_PIXEL_Y42B, MC_PIXEL_Y444, MC_PIXEL_I420_10LE,
    MC_PIXEL_NV12, MC_PIXEL_NV21, MC_PIXEL_YUY2, MC_PIXEL_UYVY, MC_PIXEL_RGB, MC_PIXEL_BGR, MC_PIXEL_RGBX, MC_PIXEL_XBGR,
    MC_PIXEL_BGRA, MC_PIXEL_ARGB,
  };
  static const int spans[][2] = { { 0, W }, { 0, 1 }, { 2, 65 }, { 6, 70 }, { 0, 64 },
    { 10, 139 }, { 4, 196 } };
  static uint8_t plane[3][4 * W * H], out[2][2][3][W + SLACK];   /* packed: up to 4 bytes a pixel */
  const int before = failures;
  long bytes = 0;

  for (unsigned fi = 0; fi < sizeof formats / sizeof formats[0]; fi++) {
    mc_image img;
    mc_unpacker up;
    memset (&img, 0, sizeof img);
    memset (&up, 0, sizeof up);
    img.format = formats[fi];
    img.width = W;
    img.height = H;
    const mc_pixel_format f = formats[fi];
    /* bytes per pixel of plane 0 (and per sample of the chroma planes) */
    const int bpp = f == MC_PIXEL_YUY2 || f == MC_PIXEL_UYVY || f == MC_PIXEL_I420_10LE ? 2
        : f == MC_PIXEL_RGB || f == MC_PIXEL_BGR ? 3
        : f >= MC_PIXEL_RGBX && f <= MC_PIXEL_ABGR ? 4 : 1;
    for (int p = 0; p < 3; p++) {
      for (int i = 0; i < 4 * W * H; i++)
        plane[p][i] = (uint8_t) rng_next ();
      img.planes[p] = plane[p];
      img.strides[p] = bpp * W;
    }
    /* any 16-bit constants: both kernels do the same integer operations */
    up.cy = (int) (rng_next () % 65536);
    up.crv = (int) (rng_next () % 65536) - 32768;
    up.cgu = (int) (rng_next () % 65536) - 32768;
    up.cgv = (int) (rng_next () % 65536) - 32768;
    up.cbu = (int) (rng_next () % 65536) - 32768;
    up.bias = (int) (rng_next () % 4096) - 2048;
    for (unsigned si = 0; si < sizeof spans / sizeof spans[0]; si++)
      for (int y = 0; y < H; y++)
        for (int rows = 1; rows <= 2; rows++) {
          const int x0 = spans[si][0], x1 = spans[si][1], n = x1 - x0;
          uint8_t *scratch[2][2][3];
          const uint8_t *planes[2][2][3];
          memset (out, 0xa5, sizeof out);
          for (int v = 0; v < 2; v++)
            for (int r = 0; r < 2; r++)
              for (int c = 0; c < 3; c++)
                scratch[v][r][c] = out[v][r][c];
          const int got512 = mc_unpack_planar_avx512 (&up, &img, y, x0, x1, rows, scratch[0],
              planes[0]);
          const int got2 = mc_unpack_planar_avx2 (&up, &img, y, x0, x1, rows, scratch[1],
              planes[1]);
          CHECK (got512 == got2, "unpack format %u y %d: %d rows, avx2 %d", fi, y, got512, got2);
          for (int r = 0; r < got2 && r < got512; r++)
            for (int c = 0; c < 3; c++) {
              for (int i = 0; i < n; i++)
                CHECK (planes[0][r][c][i] == planes[1][r][c][i],
                    "unpack format %u span %u y %d row %d channel %d pixel %d: avx512 %d, avx2 %d",
                    fi, si, y, r, c, i, planes[0][r][c][i], planes[1][r][c][i]);
              for (int i = n; i < W + SLACK; i++)
                CHECK (out[0][r][c][i] == 0xa5, "unpack format %u span %u: byte %d past the span",
                    fi, si, i);
              bytes += n;
            }
        }
  }
  emu_printf ("%s preprocessing unpacking (YUV and RGB): %ld bytes of %d formats equal to avx2's\n",
      verdict (before), bytes, (int) (sizeof formats / sizeof formats[0]));
}
#endif

void
kmain (void)
{
  char cpu[256];
  const mc_cpu_features *f = mc_cpu_get_features ();

  emu_printf ("engine cpu features: %s\n", mc_cpu_describe (cpu, sizeof cpu));
  mc_gemm_set_variant (MC_GEMM_AUTO);
  emu_printf ("default variant: %s\n", mc_gemm_variant_name (mc_gemm_get_variant ()));
  CHECK (mc_gemm_get_variant () == MC_GEMM_AVX512,
      "the driver did not choose avx512 on a CPU with AVX-512");
  check_fp32_products ();
  check_plain_products ();
  check_gelu ();
  check_int8 (f);
  check_bf16 (f);
  check_convs ();
  check_softmax ();
#ifdef MC_TEST_PREPROCESS_AVX512
  check_preprocess_hpass (f);
  check_preprocess_vpass ();
  check_preprocess_unpack ();
#endif
  emu_printf ("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  emu_exit (failures ? 1 : 0);
}
