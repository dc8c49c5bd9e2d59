/* gemm.c — the GEMM driver (see gemm.h): cache blocking, threading and the
 * fused epilogue's edge cases of products over packed B (gemm_pack.c), on
 * the kernels gemm_dispatch.c picks; and products over unpacked B
 * (attention).  The register-tile kernels live in gemm_kernel_template.h,
 * instantiated in gemm_portable.c and in x86/ (AVX2+FMA, AVX-512) with
 * per-file ISA flags.
 *
 * Packed B: ceil(N/nr) panels, each K×nr floats with the nr columns of one
 * k contiguous; the last panel is zero-padded, so kernels always compute
 * whole panels and only the stores of an edge tile are clipped.
 *
 * Loop nest of one thread over its rows × panels (GotoBLAS order with A read
 * in place): for each nc-column block of B, for each kc-deep K block, for
 * each mr-row strip of A (an mr×kc slice, in L1 for the shallower blocks),
 * for each panel of the block (kc×nr, streamed from L2 or L3): one register
 * tile.  K blocks after the first accumulate into C.  Row strips
 * are the tile kernel's mr: the float kernel's, or a bf16 or int8 kernel's
 * own (the AMX kernels' 16 rows share the AVX-512 slot's 32-column panels).
 * int8 panels (gemm_int8.c) take the same path with K in one block: each
 * row strip is quantized as its panels' block reaches it.
 */
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "gemm_kernels.h"
#include "gemm_shapes.h"

/* ---- the blocked product ---- */

/* defined here, not in gemm_shapes.c, so that linking mc_gemm does not pull
 * in the timing code and its GLib calls (the bare-metal kernel tests) */
const mc_gemm_shape_hooks *mc_gemm_shape_hooks_active;

typedef struct {
  const mc_gemm_kernels *kr;
  const mc_gemm_bf16_kernels *bk;  /* bf16 panels: their kernel (kr then
                                      gives the tile, blocking, epilogue) */
  const mc_gemm_int8_kernels *ik;  /* int8 panels: likewise */
  const float *col_scale;          /* int8: B's column scales */
  const int32_t *col_sum;          /* int8: Σ_k of B's columns */
  const float *col_diag;           /* int8, K = N: B's diagonal in float */
  int M, N, K;
  const float *A;
  ptrdiff_t lda;
  const void *B;           /* packed panels */
  const float *bias;
  const float *bias_tail;  /* bias of the last, partial panel, zero-padded */
  mc_act act;
  const float *res;
  ptrdiff_t ldr;
  float *C;
  ptrdiff_t ldc;
  int kc;                  /* K block in use */
  int mr;                  /* row strip: the tile kernel's (bk's, else kr's) */
  int strip_act;           /* the activation runs over C's rows in place */
  int k_inner;             /* bf16 with an activation and C as residual:
                              each tile sums all K blocks in a buffer */
  int defer;               /* the last K block's whole bf16 panels run
                              tile_deferred, which applies the activation */
  int tm, tn;              /* thread grid: row parts × panel parts */
  int prefetch;            /* float tiles prefetch the B that follows */
  const mc_packed_b *next; /* and in the last pass B->next's first block */
  int next_kc;             /* that product's K block */
  int next_tn;             /* that product's parts along N (choose_grid) */
} gemm_job;

/* Panel p of bf16 panels from k0 on */
static inline const uint32_t *
bf16_slice (const gemm_job *j, int p, int k0)
{
  return (const uint32_t *) j->B + ((size_t) p * ((j->K + 1) / 2) + k0 / 2) * j->kr->nr;
}

/* The register tile at rows i0.. (m of them), panel p, K block
 * [k0, k0 + kc), on float, bf16 or int8 panels; apack is the bf16 kernel's
 * copy of that A slice, or the int8 kernel's quantized strip.  n is the
 * panel's columns: float panels of at most half a panel run the half tile
 * where the kernel has one. */
static inline void
run_tile (const gemm_job *j, const void *apack, int i0, int m, int p, int n, int k0,
    int kc, const float *src, ptrdiff_t lds, const float *bias, float *out,
    ptrdiff_t ldo, const char *pf, const char *pf_end)
{
  const int nr = j->kr->nr;

  if (j->ik) {
    /* one K block: apack holds the strip's mr rows, their scales and their
     * zero points */
    const int groups = (j->K + 3) / 4;
    const float *sa = (const float *) apack + (size_t) j->mr * groups;
    j->ik->tile (m, groups, apack, (const uint32_t *) j->B
        + (size_t) p * groups * nr, j->col_sum + (size_t) p * nr, sa,
        (const int32_t *) (sa + j->mr), j->col_scale + (size_t) p * nr, src,
        lds, bias, out, ldo);
    if (j->col_diag) {
      /* the float diagonal (gemm_kernels.h), before any activation */
      const int n0 = p * nr, n = j->N - n0 < nr ? j->N - n0 : nr;
      for (int i = 0; i < m; i++) {
        const float *a = j->A + (ptrdiff_t) (i0 + i) * j->lda + n0;
        float *o = out + i * ldo;
        for (int c = 0; c < n; c++)
          o[c] += a[c] * j->col_diag[n0 + c];
      }
    }
  } else if (j->bk)
    j->bk->tile (m, kc, apack, bf16_slice (j, p, k0), src, lds, bias, out, ldo);
  else
    (2 * n <= nr && j->kr->tile_half ? j->kr->tile_half : j->kr->tile) (m, kc,
        j->A + (ptrdiff_t) i0 * j->lda + k0, j->lda,
        (const float *) j->B + ((size_t) p * j->K + k0) * nr, src, lds, bias,
        out, ldo, pf, pf_end);
}

/* One register tile of C at rows i0.., panel p, K block [k0, k0 + kc).
 * The residual joins as the starting accumulator when there is no
 * activation (so that K blocks may accumulate in C even when the residual
 * is C itself); after an activation it is added by finish().  The
 * activation runs over whole row strips of C (strip_act, see run_region)
 * unless the residual is C itself, which C must not overwrite before the
 * activation is done: then the tile goes through `tile`, a stack buffer, as
 * do tiles cut by N.  In the last K block, whole panels of a bf16 kernel
 * with tile_deferred (j->defer) take the activation into the kernel's
 * epilogue instead. */
static inline void
one_tile (const gemm_job *j, float *tile, const void *apack, int i0, int m,
    int p, int k0, int kc, const char *pf, const char *pf_end)
{
  const mc_gemm_kernels *kr = j->kr;
  const int nr = kr->nr;
  const int n0 = p * nr;
  const int n = j->N - n0 < nr ? j->N - n0 : nr;
  const int first = k0 == 0, last = k0 + kc >= j->K;
  const int post = last && j->act != MC_ACT_NONE
      && (!j->strip_act || n < nr);
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

  if (n == nr && j->defer && last) {
    j->bk->tile_deferred (m, kc, apack, bf16_slice (j, p, k0), src, lds, bias,
        j->act, c, j->ldc);
    return;
  }
  if (n == nr && !post) {
    run_tile (j, apack, i0, m, p, n, k0, kc, src, lds, bias, c, j->ldc, pf, pf_end);
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
  run_tile (j, apack, i0, m, p, n, k0, kc, src, lds, bias, tile, nr, pf, pf_end);
  kr->finish (tile, nr, m, n, post ? j->act : MC_ACT_NONE,
      post && j->res ? j->res + (ptrdiff_t) i0 * j->ldr + n0 : NULL, j->ldr,
      c, j->ldc);
}

/* bf16 panels when C is the residual of an activation: C cannot hold
 * partial sums, and the bf16 A slice is at most MC_GEMM_BF16_KC deep, so
 * each tile runs through all K blocks in the stack buffer (A is converted
 * again for every panel: this case does not occur in the models). */
static void
run_region_k_inner (const gemm_job *j, float *tile, void *apack, int m0,
    int m1, int p0, int p1)
{
  const int mr = j->mr, nr = j->kr->nr;

  for (int i0 = m0; i0 < m1; i0 += mr) {
    const int m = m1 - i0 < mr ? m1 - i0 : mr;
    for (int p = p0; p < p1; p++) {
      const int n0 = p * nr;
      const int n = j->N - n0 < nr ? j->N - n0 : nr;
      int k0 = 0;
      do {
        const int kc = j->K - k0 < j->kc ? j->K - k0 : j->kc;
        const float *bias = k0 == 0 && j->bias
            ? (n == nr ? j->bias + n0 : j->bias_tail) : NULL;
        j->bk->pack_a (m, kc, j->A + (ptrdiff_t) i0 * j->lda + k0, j->lda,
            apack);
        run_tile (j, apack, i0, m, p, n, k0, kc, k0 ? tile : NULL, nr, bias,
            tile, nr, NULL, NULL);
        k0 += kc;
      } while (k0 < j->K);
      j->kr->finish (tile, nr, m, n, j->act,
          j->res + (ptrdiff_t) i0 * j->ldr + n0, j->ldr,
          j->C + (ptrdiff_t) i0 * j->ldc + n0, j->ldc);
    }
  }
}

/* int8 panels of a block share L2 (256 KiB, half of Zen 3's); with K in
 * one block, every block quantizes each row strip again: K·mr values
 * against K·mr·(block·nr) multiply-adds. */
static int
int8_block (int K, int nr)
{
  const size_t panel = (size_t) ((K + 3) / 4) * nr * sizeof (uint32_t);
  const int b = (int) ((256 * 1024) / (panel ? panel : 1));
  return b > 0 ? b : 1;
}

/* tile t takes share t - first of the cnt tiles on slice sq = ⌊t·nq/T⌋ */
void
mc_gemm_next_share (int64_t t, int64_t T, int nq, size_t len, size_t stride,
    size_t *begin, size_t *end)
{
  const int64_t sq = t * nq / T;
  const int64_t first = (sq * T + nq - 1) / nq;
  const int64_t cnt = ((sq + 1) * T + nq - 1) / nq - first;

  *begin = (size_t) sq * stride + (size_t) ((int64_t) len * (t - first) / cnt);
  *end = (size_t) sq * stride + (size_t) ((int64_t) len * (t - first + 1) / cnt);
}

/* Rows [m0, m1) × panels [p0, p1) of the product: the work of part `part`
 * of the thread grid (the pool's chunk index; 0 on one thread). */
static void
run_region (const gemm_job *j, int m0, int m1, int p0, int p1, int part)
{
  const mc_gemm_kernels *kr = j->kr;
  const int mr = j->mr, nr = kr->nr;
  const int full_panels = j->N / nr;
  const int block = j->ik ? int8_block (j->K, nr)
      : kr->nc / kr->nr > 0 ? kr->nc / kr->nr : 1;
  float tile[MC_GEMM_MAX_MR * MC_GEMM_MAX_NR] __attribute__ ((aligned (64)));
  /* Row strips run in groups of g: each group's A is packed first, then
   * each panel's tiles run over the group's strips before the next panel.
   * g is 1 (each strip against every panel in turn) but for bf16 kernels
   * that ask for more (strip_group: the panel slice then stays in L1 while
   * the strips' A slices stream from L2) on products at least
   * MC_GEMM_BF16_GROUP_MIN_K deep.  A tile computes the same either way. */
  const int g = j->bk && j->bk->strip_group > 1 && j->K >= MC_GEMM_BF16_GROUP_MIN_K
      ? j->bk->strip_group : 1;
  /* the bf16 kernel's copy of an mr × kc slice of A (g of them, each
   * mr·ceil(kc/2) words, when grouped), or the int8 kernel's quantized
   * mr × K strip with its row scales and zero points */
  const size_t a_stride = g > 1 ? (size_t) mr * ((j->kc + 1) / 2)
      : j->bk ? MC_GEMM_MAX_MR * (MC_GEMM_BF16_KC + 1)
      : j->ik ? (size_t) j->mr * ((j->K + 3) / 4 + 2) : 1;
  float apack[g * a_stride] __attribute__ ((aligned (64)));

  /* a half tile leaves the buffer's right half as it was, and finish()'s
   * GELU runs over whole rows: zeros there, not stale stack bytes (a
   * denormal would cost a microcode assist per operation) */
  if (j->N % nr && kr->tile_half)
    memset (tile, 0, sizeof tile);
  if (j->k_inner) {
    run_region_k_inner (j, tile, apack, m0, m1, p0, p1);
    return;
  }
  for (int pb = p0; pb < p1; pb += block) {
    const int pe = pb + block < p1 ? pb + block : p1;
    int k0 = 0;
    do {
      const int kc = j->K - k0 < j->kc ? j->K - k0 : j->kc;
      /* The B this pass is followed by: the next K block of these panels,
       * else the first of the next panel block (none after the last, and
       * none for bf16 or int8 panels).  The tiles of panel pb + i prefetch
       * the slice of next panel q0 + i, a share per row strip: when the
       * next pass starts, its first row strip finds B in cache instead of
       * waiting for L3 or memory.  On Zen 3, with the weights in memory,
       * the time over that with them in cache went 1.03–1.12 → 1.02–1.03
       * (77×512×2048, GELU) and 1.12–1.17 → 1.03–1.09 (64×320×960); S0
       * text 1-5 % faster, the image towers unchanged (docs/performance.md). */
      int q0 = 0, q1 = 0, nk0 = 0;
      /* The last pass prefetches instead the first block of the product
       * the model runs next (j->next: nq panel slices of n_len bytes,
       * n_stride apart), which that product would otherwise read from L3
       * or memory: a 256×256×768 product took 1.06–1.09 times as long with
       * its weights in L3 or memory as with them in L2 (twentieth
       * session).  Each tile of the pass takes an even share of one slice,
       * the slices in turn.  The slices are those of the panels the thread
       * will run in that product: from the first panel of its part where
       * that product is split by panels (part `part` mod next_tn of
       * next_tn), from panel 0 where every thread needs all of its B (split
       * by rows, or one thread).  Before, every thread took the slices
       * from panel 0, and the second thread of a product split by panels
       * found its first block in memory: 12 layers of the S0 text
       * products with weights of their own (151 MB) took 1.074 times as
       * long as with one layer's weights in L3, on 2 threads (1.000 on
       * 1); the own part's slices took 0.974 and 0.976 of the time;
       * the S0 text tower on 2 threads 0.984 and 0.984, MCi0 0.998, MCi2
       * 0.987 (pairs in one process; twenty-second session). */
      int nq = 0;
      const char *n_base = NULL;
      size_t n_stride = 0, n_len = 0;
      if (j->prefetch && !j->bk && !j->ik) {
        if (k0 + kc < j->K) {
          q0 = pb;
          q1 = pe;
          nk0 = k0 + kc;
        } else if (pe < p1) {
          q0 = pe;
          q1 = pe + block < p1 ? pe + block : p1;
        } else if (j->next) {
          const int np = (j->next->N + nr - 1) / nr;
          const int first = j->next_tn > 1 ? part % j->next_tn * np / j->next_tn : 0;
          nq = np - first < block ? np - first : block;
          n_stride = (size_t) j->next->K * nr * sizeof (float);
          n_base = (const char *) j->next->data + (size_t) first * n_stride;
          n_len = (size_t) (j->next->K < j->next_kc ? j->next->K : j->next_kc) * nr
              * sizeof (float);
        }
      }
      const size_t next_len = (size_t) (j->K - nk0 < j->kc ? j->K - nk0 : j->kc) * nr
          * sizeof (float);
      const int strips = (m1 - m0 + mr - 1) / mr;
      for (int g0 = m0; g0 < m1; g0 += g * mr) {
        const int g1 = m1 - g0 < g * mr ? m1 : g0 + g * mr;
        for (int i0 = g0; i0 < g1; i0 += mr) {
          const int m = m1 - i0 < mr ? m1 - i0 : mr;
          float *a = apack + (size_t) (i0 - g0) / mr * a_stride;
          if (j->bk)
            j->bk->pack_a (m, kc, j->A + (ptrdiff_t) i0 * j->lda + k0, j->lda, a);
          else if (j->ik) {
            float *sa = a + (size_t) j->mr * ((j->K + 3) / 4);
            j->ik->quant_a (m, kc, j->A + (ptrdiff_t) i0 * j->lda, j->lda,
                (uint32_t *) a, sa, (int32_t *) (sa + j->mr));
          }
        }
        for (int p = pb; p < pe; p++)
          for (int i0 = g0; i0 < g1; i0 += mr) {
            const int s = (i0 - m0) / mr, q = q0 + (p - pb);
            const char *pf = NULL, *pf_end = NULL;
            if (q < q1) {
              const char *slice = (const char *) ((const float *) j->B
                  + ((size_t) q * j->K + nk0) * nr);
              pf = slice + next_len * s / strips;
              pf_end = slice + next_len * (s + 1) / strips;
            } else if (nq) {
              size_t b0, b1;
              mc_gemm_next_share ((int64_t) (p - pb) * strips + s,
                  (int64_t) (pe - pb) * strips, nq, n_len, n_stride, &b0, &b1);
              pf = n_base + b0;
              pf_end = n_base + b1;
            }
            one_tile (j, tile, apack + (size_t) (i0 - g0) / mr * a_stride, i0,
                m1 - i0 < mr ? m1 - i0 : mr, p, k0, kc, pf, pf_end);
          }
        /* the activation over each strip's whole panels while it is in L1:
         * long rows keep the vectorized GELU busy */
        if (j->strip_act && k0 + kc >= j->K) {
          const int fe = pe < full_panels ? pe : full_panels;
          for (int i0 = g0; i0 < g1 && fe > pb; i0 += mr) {
            float *c = j->C + (ptrdiff_t) i0 * j->ldc + pb * nr;
            kr->finish (c, j->ldc, m1 - i0 < mr ? m1 - i0 : mr, (fe - pb) * nr,
                j->act, j->res ? j->res + (ptrdiff_t) i0 * j->ldr + pb * nr : NULL,
                j->ldr, c, j->ldc);
          }
        }
      }
      k0 += kc;
    } while (k0 < j->K);
  }
}

static void
release_kernels (const gemm_job *j)
{
  if (j->bk && j->bk->release)
    j->bk->release ();
  if (j->ik && j->ik->release)
    j->ik->release ();
}

/* Row strips [begin, end) × every panel: the pool's chunk of a product
 * split by rows (its chunks follow the threads' speeds, threadpool.c). */
static void
run_strips (void *arg, int64_t begin, int64_t end, int worker)
{
  const gemm_job *j = arg;
  const int m1 = (int) (end * j->mr < j->M ? end * j->mr : j->M);

  run_region (j, (int) begin * j->mr, m1, 0, (j->N + j->kr->nr - 1) / j->kr->nr, worker);
  release_kernels (j);
}

/* Every row × panels [begin, end): a product split by panels. */
static void
run_panels (void *arg, int64_t begin, int64_t end, int worker)
{
  const gemm_job *j = arg;

  run_region (j, 0, j->M, (int) begin, (int) end, worker);
  release_kernels (j);
}

/* Parts [begin, end) of the tm × tn grid (products split both ways). */
static void
run_part (void *arg, int64_t begin, int64_t end, int worker)
{
  const gemm_job *j = arg;
  const int mt = (j->M + j->mr - 1) / j->mr;
  const int pt = (j->N + j->kr->nr - 1) / j->kr->nr;

  for (int64_t idx = begin; idx < end; idx++) {
    const int im = (int) (idx / j->tn), in = (int) (idx % j->tn);
    int m0 = (int) ((int64_t) im * mt / j->tm) * j->mr;
    int m1 = (int) ((int64_t) (im + 1) * mt / j->tm) * j->mr;
    const int p0 = (int) ((int64_t) in * pt / j->tn);
    const int p1 = (int) ((int64_t) (in + 1) * pt / j->tn);
    if (m1 > j->M)
      m1 = j->M;
    if (m0 < m1 && p0 < p1)
      run_region (j, m0, m1, p0, p1, (int) idx);
  }
  release_kernels (j);
}

/* Timing experiments (gemm.h), read once from the environment and changed
 * between products by mc_gemm_set_experiments.  MC_GEMM_KC=N (N ≥ 16)
 * replaces the float kernels' K block (2048 on AVX2, 512 on AVX-512,
 * gemm_avx*.c); other K blocks sum in another order, so results move within
 * the error bounds, and the tests run the kernels' own.  MC_GEMM_ASM=0 makes
 * the float tiles run the C k loop instead of the assembly one
 * (gemm_kernels.h), MC_GEMM_PREFETCH=0 stops their prefetching of B,
 * MC_GEMM_PREFETCH_NEXT=0 only that of the next product's: same bits
 * either way. */
static int kc_override, prefetch_off, next_off, gelu_exact;
static pthread_once_t experiments_once = PTHREAD_ONCE_INIT;
int mc_gemm_asm_off;

static void
read_experiments (void)
{
  const char *p = getenv ("MC_GEMM_KC"), *asm_loop = getenv ("MC_GEMM_ASM");
  const char *pf = getenv ("MC_GEMM_PREFETCH");
  const char *pf_next = getenv ("MC_GEMM_PREFETCH_NEXT");
  const char *coarse = getenv ("MC_GEMM_GELU_COARSE");
  long v = 0;

  /* digits by hand: the bare-metal test build (tests/emulated) has no strtol */
  for (; p && *p >= '0' && *p <= '9' && v <= 65536; p++)
    v = v * 10 + (*p - '0');
  kc_override = p && *p == '\0' && v >= 16 && v <= 65536 ? (int) v : 0;
  if (asm_loop)   /* unset: whatever a test chose stays */
    mc_gemm_asm_off = asm_loop[0] == '0' && asm_loop[1] == '\0';
  prefetch_off = pf && pf[0] == '0' && pf[1] == '\0';
  next_off = pf_next && pf_next[0] == '0' && pf_next[1] == '\0';
  gelu_exact = coarse && coarse[0] == '0' && coarse[1] == '\0';
}

void
mc_gemm_get_experiments (mc_gemm_experiments *e)
{
  pthread_once (&experiments_once, read_experiments);
  e->kc = kc_override;
  e->asm_off = mc_gemm_asm_off;
  e->prefetch_off = prefetch_off;
  e->next_off = next_off;
  e->gelu_exact = gelu_exact;
  e->amx_rows32 = mc_gemm_amx_rows32 ();
}

void
mc_gemm_set_experiments (const mc_gemm_experiments *e)
{
  pthread_once (&experiments_once, read_experiments);
  kc_override = e->kc >= 16 && e->kc <= 65536 ? e->kc : 0;
  mc_gemm_asm_off = e->asm_off != 0;
  prefetch_off = e->prefetch_off != 0;
  next_off = e->next_off != 0;
  gelu_exact = e->gelu_exact != 0;
  mc_gemm_set_amx_rows32 (e->amx_rows32);
}

static int
float_kc (const mc_gemm_kernels *kr)
{
  pthread_once (&experiments_once, read_experiments);
  return kc_override ? kc_override : kr->kc;
}

int
mc_gemm_k_block (mc_gemm_variant v)
{
  return float_kc (mc_gemm_kernels_f32 (v));
}

static int
prefetch_b (void)
{
  pthread_once (&experiments_once, read_experiments);
  return !prefetch_off;
}

/* B->next's first block, where the float tiles can read it as they read B
 * (float panels of the same variant and width) */
static const mc_packed_b *
prefetch_next (const mc_packed_b *B)
{
  const mc_packed_b *n = B->next;

  pthread_once (&experiments_once, read_experiments);
  return !next_off && n && n->data && B->format == MC_GEMM_F32
      && n->format == MC_GEMM_F32 && n->variant == B->variant && n->nr == B->nr
      ? n : NULL;
}

/* The activation a product's epilogue applies for act: after bf16 or int8
 * products, GELU to their accuracy (gemm_kernels.h), unless the experiment
 * MC_GEMM_GELU_COARSE=0 says exact. */
static mc_act
epilogue_act (mc_act act, int reduced)
{
  pthread_once (&experiments_once, read_experiments);
  return act == MC_ACT_GELU && reduced && !gelu_exact ? MC_ACT_GELU_COARSE : act;
}

/* Even K blocks no deeper than the kernel's kc (K = 384 → 2 × 192). */
static int
k_block (int K, int kc)
{
  int blocks = (K + kc - 1) / kc;
  return blocks > 1 ? (K + blocks - 1) / blocks : (K > 0 ? K : 1);
}

/* bf16: the same, rounded up to even so that every block starts on a pair
 * (K = 300 → 2 × 150; 385 → 194 + 191). */
static int
k_block_bf16 (int K)
{
  int blocks = (K + MC_GEMM_BF16_KC - 1) / MC_GEMM_BF16_KC;
  return blocks > 1 ? ((K + blocks - 1) / blocks + 1) & ~1 : (K > 0 ? K : 1);
}

/* Below this many multiply-adds (~20 µs on one AVX2 core) a product runs on
 * the calling thread: handing half to a worker costs 6-11 µs back to back,
 * and ~150 µs when the worker's CPU had gone idle (measured on a 2-vCPU KVM
 * guest). */
#define MC_GEMM_MIN_PARALLEL_MACS (1024 * 1024)
/* ... unless its weights take this many bytes or more: a product of a few
 * rows streams them from memory, and two threads stream twice as fast.
 * MCi0's head (1×1024×512, 2 MiB in fp32) with 12 weight sets in turn, 2
 * threads: 0.100–0.108 → 0.050–0.065 ms a product; the text's projection
 * (1×512×512) 0.049–0.050 → 0.024–0.028. */
#define MC_GEMM_MIN_PARALLEL_BYTES (512 * 1024)

/* Row strips each thread gets, at least, for a product to be split by rows
 * whatever its shape (choose_grid). */
#define MC_GEMM_ROW_SPLIT_STRIPS 8

/* Splits the threads into tm row parts × tn panel parts (a split along one
 * axis over the whole pool hands the pool that axis's strips or panels, so
 * that the parts follow the threads' speeds: mc_gemm).
 *
 * Where every thread gets MC_GEMM_ROW_SPLIT_STRIPS strips or more, by rows:
 * activations pass from op to op by rows (fc1 → fc2 → the next block), so
 * a thread's rows stay in its own L2 instead of being read from the other
 * core's, and bf16 and int8 products convert each row of A once instead of
 * once per thread; each thread streams all of B instead of a share, which
 * 8 strips (112 or 128 rows) amortize.  MCi0's and MCi2's 256-row products
 * (stage 3) had been split by panels.  2 threads, `bench-ab` pairs, rows /
 * old: MCi0 bf16 1.100, 1.069, 1.076; int8 1.042; fp32 MCi0 1.00–1.03 (median
 * 1.015 of six), MCi2 0.96–1.07 (median 1.045 of six); 16 batched prompts
 * 0.994.
 *
 * Otherwise the split that minimizes the register tiles of the busiest
 * thread.  A thread that owns only some rows still streams all of B, one
 * that owns only some columns all of A: each extra part that copies the
 * larger operand counts 10% (splitting rows measured ~20% faster per
 * thread on Zen 3 at M=1024, K=128, N=384, where the tile counts tie). */
static void
choose_grid (gemm_job *j, int threads)
{
  const int mt = (j->M + j->mr - 1) / j->mr;
  const int pt = (j->N + j->kr->nr - 1) / j->kr->nr;
  const int a_larger = j->M >= j->N;   /* M·K vs K·N */
  int64_t best = -1;

  j->tm = j->tn = 1;
  if ((int64_t) j->M * j->N * j->K < MC_GEMM_MIN_PARALLEL_MACS
      && (int64_t) j->K * j->N * (j->ik ? 1 : j->bk ? 2 : 4) < MC_GEMM_MIN_PARALLEL_BYTES)
    return;
  if (mt / threads >= MC_GEMM_ROW_SPLIT_STRIPS) {
    j->tm = threads;
    return;
  }
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
  const mc_gemm_shape_hooks *hooks;
  double t0;

  if (M <= 0 || B->N <= 0)
    return;
  j.kr = mc_gemm_kernels_f32 (B->variant);
  j.bk = B->format == MC_GEMM_BF16 ? mc_gemm_kernels_bf16 (B->variant) : NULL;
  j.ik = B->format == MC_GEMM_INT8 ? mc_gemm_kernels_int8 (B->variant) : NULL;
  j.col_scale = B->col_scale;
  j.col_sum = B->col_sum;
  j.col_diag = B->col_diag;
  j.mr = j.bk ? j.bk->mr : j.ik ? j.ik->mr : j.kr->mr;
  j.M = M;
  j.N = B->N;
  j.K = B->K;
  j.A = A;
  j.lda = lda;
  j.B = B->data;
  j.bias = bias;
  j.act = epilogue_act (act, j.bk || j.ik);
  j.res = residual;
  j.ldr = ldr;
  j.C = C;
  j.ldc = ldc;
  j.kc = j.bk ? k_block_bf16 (j.K) : j.ik ? (j.K > 0 ? j.K : 1)
      : k_block (j.K, float_kc (j.kr));
  /* an activation adds the residual after the whole sum: K blocks cannot
   * keep their partial sums in C when C is the residual, nor can the
   * activation run in place in C */
  j.strip_act = act != MC_ACT_NONE;
  if (act != MC_ACT_NONE && residual
      && ranges_overlap (residual, ldr, C, ldc, M, j.N)) {
    if (j.bk)
      j.k_inner = 1;
    else   /* one K block (int8 always has one) */
      j.kc = j.K > 0 ? j.K : 1;
    j.strip_act = 0;
  }
  /* The AMX kernel writes a block's epilogue with the activation while its
   * next block runs (gemm_bf16_amx_template.h): the last K block of a
   * product with ReLU or the coarse GELU (an activation before a residual,
   * and the exact GELU of the MC_GEMM_GELU_COARSE=0 experiment, stay with
   * finish).  Epilogues without one have little vector work to hide:
   * deferring them measured 0.93–1.07 product by product, and 0.987 and
   * 1.003 on MCi0 bf16 (docs/performance.md, nineteenth session). */
  j.defer = j.bk && j.bk->tile_deferred && !j.k_inner && !residual
      && (j.act == MC_ACT_GELU_COARSE || j.act == MC_ACT_RELU);
  if (j.defer)
    j.strip_act = 0;
  if (bias && j.N % j.kr->nr) {
    const int n0 = j.N - j.N % j.kr->nr;
    memset (bias_tail, 0, sizeof bias_tail);
    memcpy (bias_tail, bias + n0, (size_t) (j.N - n0) * sizeof (float));
    j.bias_tail = bias_tail;
  }
  choose_grid (&j, mc_threadpool_size (pool));
  j.prefetch = prefetch_b ();
  j.next = j.prefetch ? prefetch_next (B) : NULL;
  if (j.next) {
    /* the next product's split, for the rows this one has (most of the
     * models' chained products have the same rows) */
    gemm_job jn = { 0 };
    j.next_kc = k_block (j.next->K, float_kc (j.kr));
    jn.kr = j.kr;
    jn.mr = j.kr->mr;
    jn.M = M;
    jn.N = j.next->N;
    jn.K = j.next->K;
    choose_grid (&jn, mc_threadpool_size (pool));
    j.next_tn = jn.tn;
  }
  hooks = __atomic_load_n (&mc_gemm_shape_hooks_active, __ATOMIC_ACQUIRE);
  t0 = hooks ? hooks->now_ms () : 0;
  if (j.tm * j.tn == 1)
    run_part (&j, 0, 1, 0);
  else if (j.tn == 1 && j.tm == mc_threadpool_size (pool))
    mc_parallel_for (pool, (j.M + j.mr - 1) / j.mr, 1, run_strips, &j);
  else if (j.tm == 1 && j.tn == mc_threadpool_size (pool))
    mc_parallel_for (pool, (j.N + j.kr->nr - 1) / j.kr->nr, 1, run_panels, &j);
  else
    mc_parallel_for (pool, j.tm * j.tn, 1, run_part, &j);
  if (hooks) {
    const mc_gemm_shape_stat call = { M, j.K, j.N, act, residual != NULL, B->format,
      j.tm * j.tn, 1, 0 };
    hooks->record (&call, hooks->now_ms () - t0);
  }
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
  const mc_gemm_kernels *kr = mc_gemm_kernels_f32 (mc_gemm_get_variant ());
  gemm_job j = { 0 };
  float *packed;

  if (M <= 0 || N <= 0)
    return;
  packed = scratch_get (mc_gemm_packed_floats (K, N, kr->nr) + 1);
  if (!packed) {
    plain_naive (M, N, K, alpha, A, lda, B, ldb, trans_b, C, ldc);
    return;
  }
  /* alpha scales B while packing: one rounding, as scaling C would cost */
  if (trans_b)
    mc_gemm_pack_panels (packed, B, 1, ldb, K, N, NULL, alpha, kr->nr);
  else
    mc_gemm_pack_panels (packed, B, ldb, 1, K, N, NULL, alpha, kr->nr);
  j.kr = kr;
  j.mr = kr->mr;
  j.M = M;
  j.N = N;
  j.K = K;
  j.A = A;
  j.lda = lda;
  j.B = packed;
  j.act = MC_ACT_NONE;
  j.C = C;
  j.ldc = ldc;
  j.kc = k_block (K, float_kc (kr));
  j.tm = j.tn = 1;
  run_part (&j, 0, 1, 0);
}
