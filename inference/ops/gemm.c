/* gemm.c — the GEMM driver (see gemm.h): run-time kernel dispatch, B
 * packing, cache blocking, the fused epilogue's edge cases and threading.
 * The register-tile kernels live in gemm_kernel_template.h, instantiated here
 * (portable) and in x86/ (AVX2+FMA, AVX-512) with per-file ISA flags.
 *
 * Packed B: ceil(N/nr) panels, each K×nr floats with the nr columns of one
 * k contiguous; the last panel is zero-padded, so kernels always compute
 * whole panels and only the stores of an edge tile are clipped.
 *
 * Loop nest of one thread over its rows × panels (GotoBLAS order with A read
 * in place): for each nc-column block of B, for each kc-deep K block, for
 * each mr-row strip of A (an mr×kc slice that stays in L1), for each panel
 * of the block (kc×nr, streamed from L2 where the kc×nc block lives): one
 * register tile.  K blocks after the first accumulate into C.
 */
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "gemm_kernels.h"
#include "runtime/cpu.h"

/* ---- the portable variant: plain GCC vectors of 4 floats (SSE2 on x86-64,
 * NEON on arm64, scalar code elsewhere); tile 4×12.  No FMA is assumed:
 * v_fma rounds twice, and v_sqr_lo splits x (Veltkamp) to get x² exactly.
 * Every step is its own statement so that no compiler may contract it. ---- */

typedef float vf __attribute__ ((vector_size (16)));
typedef int vi __attribute__ ((vector_size (16)));

static inline vf
v_load (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v_store (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

static inline vf
v_set1 (float x)
{
  return (vf) { x, x, x, x };
}

static inline vf
v_fma (vf a, vf b, vf c)
{
  return a * b + c;
}

static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  vi gt = x > y;
  return (vf) (((vi) a & gt) | ((vi) b & ~gt));
}

static inline vf
v_max (vf a, vf b)
{
  return v_select_gt (a, b, a, b);
}

static inline vf
v_abs (vf x)
{
  return (vf) ((vi) x & 0x7fffffff);
}

static inline vf
v_div (vf a, vf b)
{
  return a / b;
}

/* x·x - fl(x·x) exactly, without FMA (Dekker's product) */
static inline vf
v_sqr_lo (vf x, vf x2)
{
  const vf c = x * v_set1 (4097.0f);
  const vf d = c - x;
  const vf hi = c - d;
  const vf lo = x - hi;
  const vf hh = hi * hi;
  const vf e1 = hh - x2;
  const vf hl = hi * lo;
  const vf e2 = e1 + hl;
  const vf e3 = e2 + hl;
  const vf ll = lo * lo;
  return e3 + ll;
}

#define MC_T_SYMBOL mc_gemm_kernels_portable
#define MC_T_LABEL "portable"
#define MC_VL 4
#define MC_NV 3
#define MC_MR 4
#define MC_KC 256
#define MC_NC 240
#include "gemm_kernel_template.h"

/* ---- variants ---- */

static mc_gemm_variant current_variant = MC_GEMM_PORTABLE;
static pthread_once_t variant_once = PTHREAD_ONCE_INIT;

int
mc_gemm_variant_supported (mc_gemm_variant v)
{
#ifdef MC_GEMM_HAVE_X86
  const mc_cpu_features *f = mc_cpu_get_features ();
#endif

  switch (v) {
    case MC_GEMM_PORTABLE:
      return 1;
#ifdef MC_GEMM_HAVE_X86
    case MC_GEMM_AVX2:
      return f->avx2 && f->fma;
    case MC_GEMM_AVX512:
      return f->avx512f && f->avx512dq && f->avx512bw && f->avx512vl && f->fma;
#endif
    default:
      return 0;
  }
}

static mc_gemm_variant
best_variant (void)
{
  if (mc_gemm_variant_supported (MC_GEMM_AVX512))
    return MC_GEMM_AVX512;
  if (mc_gemm_variant_supported (MC_GEMM_AVX2))
    return MC_GEMM_AVX2;
  return MC_GEMM_PORTABLE;
}

static void
variant_init (void)
{
  const char *env = getenv ("MC_GEMM_VARIANT");

  current_variant = best_variant ();
  if (env && *env) {
    for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++)
      if (strcmp (env, mc_gemm_variant_name (v)) == 0
          && mc_gemm_variant_supported (v))
        current_variant = v;
  }
}

void
mc_gemm_set_variant (mc_gemm_variant v)
{
  pthread_once (&variant_once, variant_init);
  if (v == MC_GEMM_AUTO || !mc_gemm_variant_supported (v))
    v = best_variant ();
  current_variant = v;
}

mc_gemm_variant
mc_gemm_get_variant (void)
{
  pthread_once (&variant_once, variant_init);
  return current_variant;
}

const char *
mc_gemm_variant_name (mc_gemm_variant v)
{
  switch (v) {
    case MC_GEMM_PORTABLE: return "portable";
    case MC_GEMM_AVX2: return "avx2";
    case MC_GEMM_AVX512: return "avx512";
    default: return "auto";
  }
}

static const mc_gemm_kernels *kernel_override[MC_GEMM_AVX512 + 1];

void
mc_gemm_kernels_override (mc_gemm_variant v, const mc_gemm_kernels *k)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512)
    kernel_override[v] = k;
}

static const mc_gemm_kernels *
kernels_for (int v)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512 && kernel_override[v])
    return kernel_override[v];
  switch (v) {
#ifdef MC_GEMM_HAVE_X86
    case MC_GEMM_AVX2: return &mc_gemm_kernels_avx2;
    case MC_GEMM_AVX512: return &mc_gemm_kernels_avx512;
#endif
    default: return &mc_gemm_kernels_portable;
  }
}

void
mc_gelu_inplace (float *x, size_t n)
{
  kernels_for (mc_gemm_get_variant ())->gelu (x, n);
}

/* ---- packing ---- */

static size_t
packed_floats (int K, int N, int nr)
{
  size_t panels = ((size_t) N + nr - 1) / nr;
  return panels * (size_t) K * nr;
}

/* Packs element (k, n) = src[k·sk + n·sn] · alpha · (scale ? scale[n] : 1)
 * into panels of nr columns at dst. */
static void
pack_panels (float *dst, const float *src, ptrdiff_t sk, ptrdiff_t sn, int K,
    int N, const float *scale, float alpha, int nr)
{
  const int panels = (N + nr - 1) / nr;

  for (int p = 0; p < panels; p++) {
    float *d = dst + (size_t) p * K * nr;
    const int n0 = p * nr;
    const int w = N - n0 < nr ? N - n0 : nr;
    float s[MC_GEMM_MAX_NR];

    for (int j = 0; j < w; j++)
      s[j] = alpha * (scale ? scale[n0 + j] : 1.0f);
    if (sn == 1) {
      /* rows of [K, N]: nr contiguous floats per k */
      for (int k = 0; k < K; k++) {
        const float *row = src + (ptrdiff_t) k * sk + n0;
        float *o = d + (size_t) k * nr;
        for (int j = 0; j < w; j++)
          o[j] = row[j] * s[j];
        for (int j = w; j < nr; j++)
          o[j] = 0.0f;
      }
    } else {
      /* rows of [N, K]: one source row fills a column of the panel */
      if (w < nr)
        memset (d, 0, (size_t) K * nr * sizeof (float));
      for (int j = 0; j < w; j++) {
        const float *col = src + (ptrdiff_t) (n0 + j) * sn;
        for (int k = 0; k < K; k++)
          d[(size_t) k * nr + j] = col[(ptrdiff_t) k * sk] * s[j];
      }
    }
  }
}

static int
pack_new (mc_packed_b *pb, const float *src, ptrdiff_t sk, ptrdiff_t sn,
    int K, int N, const float *scale)
{
  const mc_gemm_variant v = mc_gemm_get_variant ();
  const mc_gemm_kernels *kr = kernels_for (v);
  size_t n = packed_floats (K, N, kr->nr);
  void *p = NULL;

  memset (pb, 0, sizeof *pb);
  if (posix_memalign (&p, 64, (n ? n : 1) * sizeof (float)) != 0)
    return -1;
  pb->K = K;
  pb->N = N;
  pb->data = p;
  pb->variant = v;
  pb->nr = kr->nr;
  pack_panels (pb->data, src, sk, sn, K, N, scale, 1.0f, kr->nr);
  return 0;
}

int
mc_pack_b_from_nk (mc_packed_b *pb, const float *w, int N, int K,
    const float *scale)
{
  return pack_new (pb, w, 1, K, K, N, scale);
}

int
mc_pack_b_from_kn (mc_packed_b *pb, const float *b, int K, int N)
{
  return pack_new (pb, b, N, 1, K, N, NULL);
}

void
mc_packed_b_free (mc_packed_b *pb)
{
  free (pb->data);
  pb->data = NULL;
}

/* ---- the blocked product ---- */

typedef struct {
  const mc_gemm_kernels *kr;
  int M, N, K;
  const float *A;
  ptrdiff_t lda;
  const float *B;          /* packed panels */
  const float *bias;
  const float *bias_tail;  /* bias of the last, partial panel, zero-padded */
  mc_act act;
  const float *res;
  ptrdiff_t ldr;
  float *C;
  ptrdiff_t ldc;
  int kc;                  /* K block in use */
  int strip_act;           /* the activation runs over C's rows in place */
  int tm, tn;              /* thread grid: row parts × panel parts */
} gemm_job;

/* One register tile of C at rows i0.., panel p, K block [k0, k0 + kc).
 * The residual joins as the starting accumulator when there is no
 * activation (so that K blocks may accumulate in C even when the residual
 * is C itself); after an activation it is added by finish().  The
 * activation runs over whole row strips of C (strip_act, see run_region)
 * unless the residual is C itself, which C must not overwrite before the
 * activation is done: then the tile goes through `tile`, a stack buffer, as
 * do tiles cut by N. */
static inline void
one_tile (const gemm_job *j, float *tile, int i0, int m, int p, int k0, int kc)
{
  const mc_gemm_kernels *kr = j->kr;
  const int nr = kr->nr;
  const int n0 = p * nr;
  const int n = j->N - n0 < nr ? j->N - n0 : nr;
  const int first = k0 == 0, last = k0 + kc >= j->K;
  const int post = last && j->act != MC_ACT_NONE
      && (!j->strip_act || n < nr);
  const float *a = j->A + (ptrdiff_t) i0 * j->lda + k0;
  const float *b = j->B + ((size_t) p * j->K + k0) * nr;
  float *c = j->C + (ptrdiff_t) i0 * j->ldc + n0;
  const float *bias = NULL, *src = NULL;
  ptrdiff_t lds = 0;

  if (first && j->bias)
    bias = n == nr ? j->bias + n0 : j->bias_tail;
  if (!first) {
    src = c;
    lds = j->ldc;
  } else if (j->act == MC_ACT_NONE && j->res) {
    src = j->res + (ptrdiff_t) i0 * j->ldr + n0;
    lds = j->ldr;
  }

  if (n == nr && !post) {
    kr->tile (m, kc, a, j->lda, b, src, lds, bias, c, j->ldc);
    return;
  }
  if (src && n < nr) {
    for (int i = 0; i < m; i++) {
      memcpy (tile + i * nr, src + i * lds, (size_t) n * sizeof (float));
      memset (tile + i * nr + n, 0, (size_t) (nr - n) * sizeof (float));
    }
    src = tile;
    lds = nr;
  }
  kr->tile (m, kc, a, j->lda, b, src, lds, bias, tile, nr);
  kr->finish (tile, nr, m, n, post ? j->act : MC_ACT_NONE,
      post && j->res ? j->res + (ptrdiff_t) i0 * j->ldr + n0 : NULL, j->ldr,
      c, j->ldc);
}

static void
run_region (const gemm_job *j, int m0, int m1, int p0, int p1)
{
  const mc_gemm_kernels *kr = j->kr;
  const int mr = kr->mr, nr = kr->nr;
  const int full_panels = j->N / nr;
  const int block = kr->nc / kr->nr > 0 ? kr->nc / kr->nr : 1;
  float tile[MC_GEMM_MAX_MR * MC_GEMM_MAX_NR] __attribute__ ((aligned (64)));

  for (int pb = p0; pb < p1; pb += block) {
    const int pe = pb + block < p1 ? pb + block : p1;
    int k0 = 0;
    do {
      const int kc = j->K - k0 < j->kc ? j->K - k0 : j->kc;
      for (int i0 = m0; i0 < m1; i0 += mr) {
        const int m = m1 - i0 < mr ? m1 - i0 : mr;
        for (int p = pb; p < pe; p++)
          one_tile (j, tile, i0, m, p, k0, kc);
        /* the activation over the strip's whole panels while it is in L1:
         * long rows keep the vectorized GELU busy */
        if (j->strip_act && k0 + kc >= j->K) {
          const int fe = pe < full_panels ? pe : full_panels;
          float *c = j->C + (ptrdiff_t) i0 * j->ldc + pb * nr;
          if (fe > pb)
            kr->finish (c, j->ldc, m, (fe - pb) * nr, j->act,
                j->res ? j->res + (ptrdiff_t) i0 * j->ldr + pb * nr : NULL,
                j->ldr, c, j->ldc);
        }
      }
      k0 += kc;
    } while (k0 < j->K);
  }
}

static void
run_part (void *arg, int64_t begin, int64_t end, int worker)
{
  const gemm_job *j = arg;
  const int mt = (j->M + j->kr->mr - 1) / j->kr->mr;
  const int pt = (j->N + j->kr->nr - 1) / j->kr->nr;

  for (int64_t idx = begin; idx < end; idx++) {
    const int im = (int) (idx / j->tn), in = (int) (idx % j->tn);
    int m0 = (int) ((int64_t) im * mt / j->tm) * j->kr->mr;
    int m1 = (int) ((int64_t) (im + 1) * mt / j->tm) * j->kr->mr;
    const int p0 = (int) ((int64_t) in * pt / j->tn);
    const int p1 = (int) ((int64_t) (in + 1) * pt / j->tn);
    if (m1 > j->M)
      m1 = j->M;
    if (m0 < m1 && p0 < p1)
      run_region (j, m0, m1, p0, p1);
  }
}

/* Even K blocks no deeper than the kernel's kc (K = 384 → 2 × 192). */
static int
k_block (int K, int kc)
{
  int blocks = (K + kc - 1) / kc;
  return blocks > 1 ? (K + blocks - 1) / blocks : (K > 0 ? K : 1);
}

/* Below this many multiply-adds (~20 µs on one AVX2 core) a product runs on
 * the calling thread: handing half to a worker costs 6-11 µs back to back,
 * and ~150 µs when the worker's CPU had gone idle (measured on a 2-vCPU KVM
 * guest). */
#define MC_GEMM_MIN_PARALLEL_MACS (1024 * 1024)

/* Splits the threads into tm row parts × tn panel parts, minimizing the
 * register tiles of the busiest thread.  A thread that owns only some rows
 * still streams all of B, one that owns only some columns all of A: each
 * extra part that copies the larger operand counts 10% (splitting rows
 * measured ~20% faster per thread on Zen 3 at M=1024, K=128, N=384, where
 * the tile counts tie). */
static void
choose_grid (gemm_job *j, int threads)
{
  const int mt = (j->M + j->kr->mr - 1) / j->kr->mr;
  const int pt = (j->N + j->kr->nr - 1) / j->kr->nr;
  const int a_larger = j->M >= j->N;   /* M·K vs K·N */
  int64_t best = -1;

  j->tm = j->tn = 1;
  if ((int64_t) j->M * j->N * j->K < MC_GEMM_MIN_PARALLEL_MACS)
    return;
  for (int tm = threads; tm >= 1; tm--) {
    const int tn = threads / tm;
    const int64_t cost = (int64_t) ((mt + tm - 1) / tm) * ((pt + tn - 1) / tn)
        * (10 + (a_larger ? tn - 1 : tm - 1));
    if (best < 0 || cost < best) {
      best = cost;
      j->tm = tm;
      j->tn = tn;
    }
  }
}

static int
ranges_overlap (const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
    int M, int N)
{
  const char *a0 = (const char *) a, *b0 = (const char *) b;
  const char *a1 = (const char *) (a + (ptrdiff_t) (M - 1) * lda + N);
  const char *b1 = (const char *) (b + (ptrdiff_t) (M - 1) * ldb + N);
  return a0 < b1 && b0 < a1;
}

void
mc_gemm (mc_threadpool *pool, int M, const float *A, int lda,
    const mc_packed_b *B, const float *bias, mc_act act,
    const float *residual, int ldr, float *C, int ldc)
{
  gemm_job j = { 0 };
  float bias_tail[MC_GEMM_MAX_NR] __attribute__ ((aligned (64)));

  if (M <= 0 || B->N <= 0)
    return;
  j.kr = kernels_for (B->variant);
  j.M = M;
  j.N = B->N;
  j.K = B->K;
  j.A = A;
  j.lda = lda;
  j.B = B->data;
  j.bias = bias;
  j.act = act;
  j.res = residual;
  j.ldr = ldr;
  j.C = C;
  j.ldc = ldc;
  j.kc = k_block (j.K, j.kr->kc);
  /* an activation adds the residual after the whole sum: K blocks cannot
   * keep their partial sums in C when C is the residual, nor can the
   * activation run in place in C */
  j.strip_act = act != MC_ACT_NONE;
  if (act != MC_ACT_NONE && residual
      && ranges_overlap (residual, ldr, C, ldc, M, j.N)) {
    j.kc = j.K > 0 ? j.K : 1;
    j.strip_act = 0;
  }
  if (bias && j.N % j.kr->nr) {
    const int n0 = j.N - j.N % j.kr->nr;
    memset (bias_tail, 0, sizeof bias_tail);
    memcpy (bias_tail, bias + n0, (size_t) (j.N - n0) * sizeof (float));
    j.bias_tail = bias_tail;
  }
  choose_grid (&j, mc_threadpool_size (pool));
  if (j.tm * j.tn == 1)
    run_part (&j, 0, 1, 0);
  else
    mc_parallel_for (pool, j.tm * j.tn, 1, run_part, &j);
}

/* ---- unpacked products (attention) ---- */

/* B packed per call into a per-thread buffer that grows and is freed when
 * the thread exits. */
typedef struct {
  float *data;
  size_t cap;
} scratch_buf;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_ok;

static void
scratch_free (void *p)
{
  scratch_buf *s = p;
  free (s->data);
  free (s);
}

static void
scratch_init (void)
{
  scratch_ok = pthread_key_create (&scratch_key, scratch_free) == 0;
}

static float *
scratch_get (size_t n)
{
  scratch_buf *s;
  void *p = NULL;

  pthread_once (&scratch_once, scratch_init);
  if (!scratch_ok)
    return NULL;
  s = pthread_getspecific (scratch_key);
  if (!s) {
    s = calloc (1, sizeof *s);
    if (!s || pthread_setspecific (scratch_key, s) != 0) {
      free (s);
      return NULL;
    }
  }
  if (s->cap >= n)
    return s->data;
  n += n / 4;
  if (posix_memalign (&p, 64, n * sizeof (float)) != 0)
    return NULL;
  free (s->data);
  s->data = p;
  s->cap = n;
  return s->data;
}

/* The fallback when no scratch can be had: correct, slow. */
static void
plain_naive (int M, int N, int K, float alpha, const float *A, int lda,
    const float *B, int ldb, int trans_b, float *C, int ldc)
{
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++)
        s += A[(size_t) m * lda + k]
            * (trans_b ? B[(size_t) n * ldb + k] : B[(size_t) k * ldb + n]);
      C[(size_t) m * ldc + n] = alpha * s;
    }
}

void
mc_gemm_plain (int M, int N, int K, float alpha, const float *A, int lda,
    const float *B, int ldb, int trans_b, float *C, int ldc)
{
  const mc_gemm_kernels *kr = kernels_for (mc_gemm_get_variant ());
  gemm_job j = { 0 };
  float *packed;

  if (M <= 0 || N <= 0)
    return;
  packed = scratch_get (packed_floats (K, N, kr->nr) + 1);
  if (!packed) {
    plain_naive (M, N, K, alpha, A, lda, B, ldb, trans_b, C, ldc);
    return;
  }
  /* alpha scales B while packing: one rounding, as scaling C would cost */
  if (trans_b)
    pack_panels (packed, B, 1, ldb, K, N, NULL, alpha, kr->nr);
  else
    pack_panels (packed, B, ldb, 1, K, N, NULL, alpha, kr->nr);
  j.kr = kr;
  j.M = M;
  j.N = N;
  j.K = K;
  j.A = A;
  j.lda = lda;
  j.B = packed;
  j.act = MC_ACT_NONE;
  j.C = C;
  j.ldc = ldc;
  j.kc = k_block (K, kr->kc);
  j.tm = j.tn = 1;
  run_part (&j, 0, 1, 0);
}
