/* test_gemm_shapes.c — products timed by shape (mc_gemm_shapes_start/stop,
 * what `mobileclip bench --shapes` prints): each distinct shape, epilogue,
 * format and thread split is one entry with the calls made while timing was
 * on, none before or after; a product split over a 2-thread pool counts 2
 * threads, the same product on the caller alone 1; the entries come back
 * with the most thread time first; products timed while they run on two
 * threads at once (as ConvFFN bands do) all count. */
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "runtime/threadpool.h"
#include "test_util.h"

static float *
filled (size_t n, float v)
{
  float *p = malloc ((n ? n : 1) * sizeof (float));
  for (size_t i = 0; i < n; i++)
    p[i] = v * (float) (i % 7 + 1);
  return p;
}

typedef struct {
  const mc_packed_b *b;
  const float *a;
  float *c[2];
  int m, calls;
} side_job;

/* each worker runs `calls` products of its own on the calling thread */
static void
side_by_side (void *p, int64_t i0, int64_t i1, int worker)
{
  const side_job *j = p;
  for (int64_t i = i0; i < i1; i++)
    for (int k = 0; k < j->calls; k++)
      mc_gemm (NULL, j->m, j->a, j->b->K, j->b, NULL, MC_ACT_NONE, NULL, 0, j->c[i], j->b->N);
}

static const mc_gemm_shape_stat *
find (const mc_gemm_shape_stat *st, int n, int M, int K, int N, mc_act act, int res, int threads)
{
  for (int i = 0; i < n; i++)
    if (st[i].M == M && st[i].K == K && st[i].N == N && st[i].act == act
        && st[i].residual == res && st[i].threads == threads)
      return &st[i];
  return NULL;
}

int
main (void)
{
  /* big enough to be split over the pool (gemm.c: 1 M multiply-adds), and
   * a small one that never is */
  const int BM = 256, BK = 128, BN = 64, SM = 6, SK = 16, SN = 32;
  mc_threadpool *pool = mc_threadpool_new (2);
  mc_packed_b big, small;
  float *wb = filled ((size_t) BN * BK, 0.01f), *ws = filled ((size_t) SN * SK, 0.02f);
  float *a = filled ((size_t) BM * BK, 0.1f), *bias = filled (BN, 0.5f);
  float *c = filled ((size_t) BM * BN, 0), *c2 = filled ((size_t) BM * BN, 0);
  mc_gemm_shape_stat st[16];
  int64_t dropped = -1;
  int n;

  CHECK (mc_pack_b_from_nk (&big, wb, BN, BK, NULL) == 0, "pack");
  CHECK (mc_pack_b_from_nk (&small, ws, SN, SK, NULL) == 0, "pack");

  /* not timed: before start */
  mc_gemm (pool, BM, a, BK, &big, NULL, MC_ACT_NONE, NULL, 0, c, BN);
  mc_gemm_shapes_start ();
  for (int i = 0; i < 3; i++)
    mc_gemm (pool, BM, a, BK, &big, bias, MC_ACT_GELU, NULL, 0, c, BN);
  for (int i = 0; i < 2; i++)
    mc_gemm (NULL, BM, a, BK, &big, bias, MC_ACT_GELU, NULL, 0, c, BN);
  mc_gemm (pool, BM, a, BK, &big, NULL, MC_ACT_NONE, c, BN, c, BN);
  for (int i = 0; i < 5; i++)
    mc_gemm (pool, SM, a, SK, &small, NULL, MC_ACT_NONE, NULL, 0, c, SN);
  {
    side_job j = { &big, a, { c, c2 }, BM, 4 };
    mc_parallel_for (pool, 2, 1, side_by_side, &j);
  }
  n = mc_gemm_shapes_stop (st, 16, &dropped);
  /* not timed: after stop */
  mc_gemm (pool, BM, a, BK, &big, bias, MC_ACT_GELU, NULL, 0, c, BN);

  const int split = mc_threadpool_size (pool) >= 2 ? 2 : 1;
  const mc_gemm_shape_stat *gelu2 = find (st, n, BM, BK, BN, MC_ACT_GELU, 0, split);
  const mc_gemm_shape_stat *gelu1 = find (st, n, BM, BK, BN, MC_ACT_GELU, 0, 1);
  const mc_gemm_shape_stat *res = find (st, n, BM, BK, BN, MC_ACT_NONE, 1, split);
  const mc_gemm_shape_stat *sm = find (st, n, SM, SK, SN, MC_ACT_NONE, 0, 1);
  const mc_gemm_shape_stat *side = find (st, n, BM, BK, BN, MC_ACT_NONE, 0, 1);
  CHECK (n == 5, "%d shapes timed, want 5", n);
  CHECK (dropped == 0, "%lld calls dropped", (long long) dropped);
  CHECK (gelu2 && gelu2->calls == 3, "split GELU product: %lld calls, want 3",
      gelu2 ? (long long) gelu2->calls : -1LL);
  CHECK (gelu1 && gelu1->calls == 2, "caller-only GELU product: %lld calls, want 2",
      gelu1 ? (long long) gelu1->calls : -1LL);
  CHECK (res && res->calls == 1, "residual product: %lld calls, want 1",
      res ? (long long) res->calls : -1LL);
  CHECK (sm && sm->calls == 5, "small product (never split): %lld calls, want 5",
      sm ? (long long) sm->calls : -1LL);
  CHECK (side && side->calls == 8, "products on two threads at once: %lld calls, want 8",
      side ? (long long) side->calls : -1LL);
  for (int i = 0; i < n; i++) {
    CHECK (st[i].format == MC_GEMM_F32 && st[i].ms >= 0, "entry %d: format %d, %g ms", i,
        st[i].format, st[i].ms);
    if (i)
      CHECK (st[i - 1].ms * st[i - 1].threads >= st[i].ms * st[i].threads,
          "entries %d and %d not by thread time", i - 1, i);
  }
  CHECK (gelu2 && gelu2->ms > 0, "the split product took no time");
  /* a new start clears the table */
  mc_gemm_shapes_start ();
  CHECK (mc_gemm_shapes_stop (st, 16, NULL) == 0, "a new start kept old entries");
  printf ("  %d shapes, split over %d threads where the pool could\n", n, split);

  mc_packed_b_free (&big);
  mc_packed_b_free (&small);
  mc_threadpool_free (pool);
  free (wb);
  free (ws);
  free (a);
  free (bias);
  free (c);
  free (c2);
  return mc_test_finish ("gemm-shapes");
}
