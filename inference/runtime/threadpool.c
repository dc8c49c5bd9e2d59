/* threadpool.c — see threadpool.h.
 *
 * One job at a time.  The caller publishes a job and bumps an atomic
 * generation counter; workers notice it by polling for a while after their
 * last job, and only then sleep on a condition variable.  A forward pass
 * issues hundreds of short ops back to back, and waking a sleeping thread
 * costs 100–400 µs on a virtual machine (measured), more than many of those
 * ops take; polling hands an op over in about 10 µs.  The caller waits for
 * the last chunk the same way: poll, then sleep.
 *
 * The caller polls longer than the workers: it is on the critical path, and
 * it waits only for the rest of a worker's chunk.  With a 60 µs poll it went
 * to sleep 11–22 times per MCi0 forward on a 2-vCPU KVM guest (a worker's
 * half ran longer) and lost ~1.1 ms of 50 to being woken.  Past the first
 * 50 µs a poller yields its CPU between polls, so that a thread it shares the
 * CPU with (more threads than cores, a decoder) can run.
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long a waiting thread polls with `pause` before it starts yielding its
 * CPU between polls, and how long the caller and the workers poll in all
 * before they sleep. */
#define PAUSE_NS 50000
#define CALLER_POLL_NS 1000000
#define WORKER_POLL_NS 250000

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

/* Polls until ready() or poll_ns have passed; returns whether ready. */
static int
poll_until (int (*ready) (mc_threadpool *, uint_fast64_t), mc_threadpool *pool,
    uint_fast64_t arg, int64_t poll_ns)
{
  int64_t start = now_ns ();
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (ready (pool, arg))
        return 1;
      cpu_relax ();
    }
    int64_t waited = now_ns () - start;
    if (waited > poll_ns)
      return 0;
    if (waited > PAUSE_NS)
      sched_yield ();
  }
}

static int
new_generation (mc_threadpool *pool, uint_fast64_t seen)
{
  return atomic_load_explicit (&pool->generation, memory_order_acquire) != seen
      || atomic_load_explicit (&pool->quit, memory_order_relaxed);
}

static int
chunks_done (mc_threadpool *pool, uint_fast64_t unused)
{
  (void) unused;
  return atomic_load_explicit (&pool->pending, memory_order_acquire) == 0;
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
    if (!poll_until (new_generation, pool, seen, WORKER_POLL_NS)) {
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

  if (!poll_until (chunks_done, pool, 0, CALLER_POLL_NS)) {
    pthread_mutex_lock (&pool->lock);
    while (atomic_load (&pool->pending) > 0)
      pthread_cond_wait (&pool->done, &pool->lock);
    pthread_mutex_unlock (&pool->lock);
  }
}
