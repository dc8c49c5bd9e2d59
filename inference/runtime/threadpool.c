/* threadpool.c — see threadpool.h.
 *
 * One job at a time.  The caller publishes a job and bumps an atomic
 * generation counter; workers notice it by spinning for a short while after
 * their last job, and only then sleep on a condition variable.  A forward
 * pass issues hundreds of short ops back to back, and waking a sleeping
 * thread costs 100–400 µs on a virtual machine (measured), more than many of
 * those ops take; a brief spin hands an op over in about 10 µs.  The caller
 * waits for the last chunk the same way: spin, then sleep.
 */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long an idle thread polls before it sleeps. */
#define SPIN_NS 60000

struct mc_threadpool {
  int n_threads;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  /* the current job, written by the caller before the generation bump */
  mc_range_fn fn;
  void *arg;
  int64_t n, chunk;
  int n_chunks;
  atomic_int pending;            /* worker chunks not finished yet */
  atomic_uint_fast64_t generation;
  atomic_int quit;
};

typedef struct {
  mc_threadpool *pool;
  int index;
} worker_start;

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static inline int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls for a new job (or quit) for up to SPIN_NS; returns whether one came. */
static int
spin_until_new_generation (mc_threadpool *pool, uint_fast64_t seen)
{
  int64_t start = now_ns ();
  for (int i = 0;; i++) {
    if (atomic_load_explicit (&pool->generation, memory_order_acquire) != seen
        || atomic_load_explicit (&pool->quit, memory_order_relaxed))
      return 1;
    cpu_relax ();
    if ((i & 63) == 63 && now_ns () - start > SPIN_NS)
      return 0;
  }
}

/* Polls for the workers' chunks to finish for up to SPIN_NS. */
static int
spin_until_done (mc_threadpool *pool)
{
  int64_t start = now_ns ();
  for (int i = 0;; i++) {
    if (atomic_load_explicit (&pool->pending, memory_order_acquire) == 0)
      return 1;
    cpu_relax ();
    if ((i & 63) == 63 && now_ns () - start > SPIN_NS)
      return 0;
  }
}

static void
run_chunk (mc_threadpool *pool, int c)
{
  int64_t begin = (int64_t) c * pool->chunk;
  int64_t end = begin + pool->chunk;
  if (end > pool->n)
    end = pool->n;
  if (begin < end)
    pool->fn (pool->arg, begin, end, c);
}

static void *
worker_main (void *p)
{
  worker_start *ws = p;
  mc_threadpool *pool = ws->pool;
  int index = ws->index;
  uint_fast64_t seen = 0;

  free (ws);
  for (;;) {
    if (!spin_until_new_generation (pool, seen)) {
      pthread_mutex_lock (&pool->lock);
      while (!atomic_load (&pool->quit) && atomic_load (&pool->generation) == seen)
        pthread_cond_wait (&pool->wake, &pool->lock);
      pthread_mutex_unlock (&pool->lock);
    }
    if (atomic_load (&pool->quit))
      break;
    seen = atomic_load_explicit (&pool->generation, memory_order_acquire);
    if (index < pool->n_chunks) {
      run_chunk (pool, index);
      if (atomic_fetch_sub_explicit (&pool->pending, 1, memory_order_acq_rel) == 1) {
        /* the last chunk: wake the caller if it went to sleep */
        pthread_mutex_lock (&pool->lock);
        pthread_cond_signal (&pool->done);
        pthread_mutex_unlock (&pool->lock);
      }
    }
  }
  return NULL;
}

mc_threadpool *
mc_threadpool_new (int n_threads)
{
  mc_threadpool *pool;

  if (n_threads <= 0) {
    long n = sysconf (_SC_NPROCESSORS_ONLN);
    n_threads = n > 0 ? (int) n : 1;
  }
  pool = calloc (1, sizeof *pool);
  if (!pool)
    return NULL;
  pool->n_threads = n_threads;
  pthread_mutex_init (&pool->lock, NULL);
  pthread_cond_init (&pool->wake, NULL);
  pthread_cond_init (&pool->done, NULL);
  atomic_init (&pool->pending, 0);
  atomic_init (&pool->generation, 0);
  atomic_init (&pool->quit, 0);
  pool->threads = calloc ((size_t) n_threads, sizeof *pool->threads);
  if (!pool->threads) {
    free (pool);
    return NULL;
  }
  /* worker i (1..n-1) runs chunk i; the caller runs chunk 0 */
  for (int i = 1; i < n_threads; i++) {
    worker_start *ws = malloc (sizeof *ws);
    if (ws) {
      ws->pool = pool;
      ws->index = i;
    }
    if (!ws || pthread_create (&pool->threads[i], NULL, worker_main, ws) != 0) {
      free (ws);
      pool->n_threads = i;
      break;
    }
  }
  return pool;
}

void
mc_threadpool_free (mc_threadpool *pool)
{
  if (!pool)
    return;
  pthread_mutex_lock (&pool->lock);
  atomic_store (&pool->quit, 1);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);
  for (int i = 1; i < pool->n_threads; i++)
    pthread_join (pool->threads[i], NULL);
  pthread_mutex_destroy (&pool->lock);
  pthread_cond_destroy (&pool->wake);
  pthread_cond_destroy (&pool->done);
  free (pool->threads);
  free (pool);
}

int
mc_threadpool_size (const mc_threadpool *pool)
{
  return pool ? pool->n_threads : 1;
}

void
mc_parallel_for (mc_threadpool *pool, int64_t n, int64_t grain,
    mc_range_fn fn, void *arg)
{
  int64_t chunks, chunk;

  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  chunks = (n + grain - 1) / grain;
  if (!pool || pool->n_threads <= 1 || chunks <= 1) {
    fn (arg, 0, n, 0);
    return;
  }
  if (chunks > pool->n_threads)
    chunks = pool->n_threads;
  chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;

  pool->fn = fn;
  pool->arg = arg;
  pool->n = n;
  pool->chunk = chunk;
  pool->n_chunks = (int) chunks;
  atomic_store_explicit (&pool->pending, (int) chunks - 1, memory_order_relaxed);
  /* the release publishes the job fields to workers that see the bump */
  atomic_fetch_add_explicit (&pool->generation, 1, memory_order_release);
  pthread_mutex_lock (&pool->lock);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  run_chunk (pool, 0);

  if (!spin_until_done (pool)) {
    pthread_mutex_lock (&pool->lock);
    while (atomic_load (&pool->pending) > 0)
      pthread_cond_wait (&pool->done, &pool->lock);
    pthread_mutex_unlock (&pool->lock);
  }
}
