/* threadpool.h — a persistent pool of worker threads that splits a range.
 *
 * Ops call mc_parallel_for with a range of independent work items; the pool
 * cuts it into at most n_threads contiguous chunks (never smaller than
 * `grain` items, sized by the threads' recent speeds) and runs them, the
 * calling thread taking the first chunk, and any whose thread has not
 * started it in time (a thread without a CPU).
 * Workers poll briefly for the next call, then sleep on a condition
 * variable; a forward pass creates no threads.
 */
#ifndef MC_RUNTIME_THREADPOOL_H
#define MC_RUNTIME_THREADPOOL_H

#include <stdint.h>

typedef struct mc_threadpool mc_threadpool;

/* fn handles items [begin, end); `worker` is 0..n_threads-1 (for scratch). */
typedef void (*mc_range_fn) (void *arg, int64_t begin, int64_t end, int worker);

/* n_threads <= 0 selects the number of online CPUs.  NULL on failure. */
mc_threadpool *mc_threadpool_new (int n_threads);
void mc_threadpool_free (mc_threadpool *pool);
int mc_threadpool_size (const mc_threadpool *pool);

/* Runs fn over [0, n).  pool may be NULL (runs inline on one thread).
 * Chunk boundaries are multiples of grain (or n); chunk i runs on thread i,
 * or on the calling thread when thread i has not started it after a while,
 * always with worker = i, and the chunks' sizes follow the threads' recent
 * speeds (threadpool.c): fn must compute an item the same way whichever
 * chunk holds it and whichever thread runs it. */
void mc_parallel_for (mc_threadpool *pool, int64_t n, int64_t grain,
    mc_range_fn fn, void *arg);

/* Equal chunks (0) or chunks balanced by speed (1, the default; the
 * environment's MC_POOL_BALANCE=0 turns it off): a timing experiment, for
 * every pool of the process. */
void mc_threadpool_set_balancing (int on);
int mc_threadpool_balancing (void);

/* Going alone (1, the default; MC_POOL_ALONE=0 in the environment turns it
 * off): when splitting saves no time (the workers have no CPU of their
 * own: a busy process next to us), calls run on the calling thread alone
 * for a while (threadpool.c).  A switch for every pool of the process, and
 * whether `pool` is going alone now. */
void mc_threadpool_set_alone (int on);
int mc_threadpool_alone (void);
int mc_threadpool_going_alone (const mc_threadpool *pool);

#endif
