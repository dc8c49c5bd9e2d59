/* gemm_shapes.c — products timed by shape, for `mobileclip bench --shapes`
 * (gemm.h): one table for the process, under a mutex, filled through the
 * hook that mc_gemm calls while timing is on.  The family breakdown says how
 * long the products took; this says which of them, at how many GFLOP/s per
 * thread, so that a product running below the kernel's rate is visible. */
#include "gemm_shapes.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

static GMutex lock;
static mc_gemm_shape_stat table[MC_GEMM_SHAPES_MAX];
static int n_shapes;
static int64_t dropped;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static int
same_shape (const mc_gemm_shape_stat *a, const mc_gemm_shape_stat *b)
{
  return a->M == b->M && a->K == b->K && a->N == b->N && a->act == b->act
      && a->residual == b->residual && a->format == b->format && a->threads == b->threads;
}

static void
record (const mc_gemm_shape_stat *call, double ms)
{
  int i;

  g_mutex_lock (&lock);
  for (i = 0; i < n_shapes && !same_shape (&table[i], call); i++)
    ;
  if (i == n_shapes && n_shapes < MC_GEMM_SHAPES_MAX) {
    table[i] = *call;
    table[i].calls = 0;
    table[i].ms = 0;
    n_shapes++;
  }
  if (i < n_shapes) {
    table[i].calls++;
    table[i].ms += ms;
  } else {
    dropped++;
  }
  g_mutex_unlock (&lock);
}

static const mc_gemm_shape_hooks hooks = { now_ms, record };

void
mc_gemm_shapes_start (void)
{
  g_mutex_lock (&lock);
  n_shapes = 0;
  dropped = 0;
  g_mutex_unlock (&lock);
  __atomic_store_n (&mc_gemm_shape_hooks_active, &hooks, __ATOMIC_RELEASE);
}

/* costliest thread time first */
static int
by_thread_ms (const void *a, const void *b)
{
  const mc_gemm_shape_stat *x = a, *y = b;
  const double tx = x->ms * x->threads, ty = y->ms * y->threads;
  return (tx < ty) - (tx > ty);
}

int
mc_gemm_shapes_stop (mc_gemm_shape_stat *out, int max, int64_t *dropped_calls)
{
  int n;

  __atomic_store_n (&mc_gemm_shape_hooks_active, NULL, __ATOMIC_RELEASE);
  g_mutex_lock (&lock);
  qsort (table, (size_t) n_shapes, sizeof table[0], by_thread_ms);
  n = n_shapes;
  if (out)
    memcpy (out, table, (size_t) MIN (n, max) * sizeof table[0]);
  if (dropped_calls)
    *dropped_calls = dropped;
  g_mutex_unlock (&lock);
  return n;
}
