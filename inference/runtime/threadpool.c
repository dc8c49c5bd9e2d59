/* threadpool.c — see threadpool.h.  One job at a time: the caller publishes a
 * job under the mutex, bumps a generation counter and waits until every
 * worker that got a chunk has finished. */
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct mc_threadpool {
  int n_threads;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  /* the current job */
  mc_range_fn fn;
  void *arg;
  int64_t n, chunk;
  int n_chunks;
  int pending;          /* worker chunks not finished yet */
  uint64_t generation;  /* bumped per job; workers wait for a change */
  int quit;
};

typedef struct {
  mc_threadpool *pool;
  int index;
} worker_start;

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
  uint64_t seen = 0;

  free (ws);
  pthread_mutex_lock (&pool->lock);
  for (;;) {
    while (!pool->quit && pool->generation == seen)
      pthread_cond_wait (&pool->wake, &pool->lock);
    if (pool->quit)
      break;
    seen = pool->generation;
    if (index < pool->n_chunks) {
      pthread_mutex_unlock (&pool->lock);
      run_chunk (pool, index);
      pthread_mutex_lock (&pool->lock);
      if (--pool->pending == 0)
        pthread_cond_signal (&pool->done);
    }
  }
  pthread_mutex_unlock (&pool->lock);
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
  pool->quit = 1;
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

  pthread_mutex_lock (&pool->lock);
  pool->fn = fn;
  pool->arg = arg;
  pool->n = n;
  pool->chunk = chunk;
  pool->n_chunks = (int) chunks;
  pool->pending = (int) chunks - 1;
  pool->generation++;
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  run_chunk (pool, 0);

  pthread_mutex_lock (&pool->lock);
  while (pool->pending > 0)
    pthread_cond_wait (&pool->done, &pool->lock);
  pthread_mutex_unlock (&pool->lock);
}
