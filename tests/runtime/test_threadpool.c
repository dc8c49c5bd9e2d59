/* test_threadpool.c — the pool runs every item exactly once, on distinct
 * worker indices, through each of its waiting paths.
 *
 * Covered: pools of 1–4 threads (4 is more threads than this 2-CPU machine
 * has, where polling threads must let the others run), ranges shorter than
 * the pool and not divisible by it, grains; thousands of calls back to back
 * (the polled hand-over); calls after the workers have gone to sleep (the
 * condition-variable wake-up); a worker chunk that outlasts the caller's poll
 * (the caller's own sleep); a NULL pool.  A lost wake-up hangs the test, and
 * meson's timeout fails it.  Balancing: a thread that takes twice as long
 * per item gets fewer items in the calls that follow, equal chunks come
 * back when the speeds do, two ops called in turn each follow their own
 * speeds, and MC_POOL_BALANCE's switch turns it off.
 * Taking over: with the pool's two threads on one CPU, the caller runs the
 * worker's chunk itself in some calls (the worker cannot start it while the
 * caller holds the CPU), and every item still runs once.  Going alone: with
 * both threads on one CPU the calls save no time, and the pool soon runs
 * them on the caller alone (every item once, no chunk on the worker), but
 * not with MC_POOL_ALONE's switch off.  The other checks run with that
 * switch off: their sleeping chunks use no CPU, which the pool would judge
 * as time saved by nobody, and they must reach every path of a split call.
 */
#include <glib.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "runtime/threadpool.h"
#include "test_util.h"

#define MAX_ITEMS 1000
#define MAX_CHUNKS 8

typedef struct {
  atomic_int visits[MAX_ITEMS];
  atomic_int worker_busy[MAX_CHUNKS];   /* a worker index in use right now */
  atomic_int shared_index;              /* two chunks ran on one index */
  atomic_int bad_index;
  atomic_int calls;                     /* fn calls (chunks) */
  int64_t grain, n;
  atomic_int short_chunks;              /* a chunk below grain, not the last */
  int slow_worker_us;                   /* workers (index > 0) sleep this long */
  int item_us[MAX_CHUNKS];              /* per item, by worker index */
  int64_t items[MAX_CHUNKS];            /* the chunk each index ran */
} job;

static void
visit (void *p, int64_t begin, int64_t end, int worker)
{
  job *j = p;

  if (worker < 0 || worker >= MAX_CHUNKS) {
    atomic_fetch_add (&j->bad_index, 1);
    return;
  }
  if (atomic_fetch_add (&j->worker_busy[worker], 1) != 0)
    atomic_fetch_add (&j->shared_index, 1);
  atomic_fetch_add (&j->calls, 1);
  if (end - begin < j->grain && end != j->n)
    atomic_fetch_add (&j->short_chunks, 1);
  if (worker > 0 && j->slow_worker_us)
    g_usleep (j->slow_worker_us);
  j->items[worker] = end - begin;
  if (j->item_us[worker])
    g_usleep ((gulong) (j->item_us[worker] * (end - begin)));
  for (int64_t i = begin; i < end; i++)
    atomic_fetch_add (&j->visits[i], 1);
  atomic_fetch_sub (&j->worker_busy[worker], 1);
}

/* One call over [0, n); returns the number of failed checks it added. */
static int
run_once (mc_threadpool *pool, int64_t n, int64_t grain, int slow_worker_us)
{
  static job j;
  int before = mc_test_failures, threads = mc_threadpool_size (pool);

  memset (&j, 0, sizeof j);
  j.grain = grain;
  j.n = n;
  j.slow_worker_us = slow_worker_us;
  mc_parallel_for (pool, n, grain, visit, &j);

  int wrong = 0;
  for (int64_t i = 0; i < n; i++)
    wrong += atomic_load (&j.visits[i]) != 1;
  CHECK (wrong == 0, "n %ld grain %ld threads %d: %d items not visited exactly once",
      (long) n, (long) grain, threads, wrong);
  CHECK (atomic_load (&j.bad_index) == 0 && atomic_load (&j.shared_index) == 0,
      "n %ld threads %d: worker index out of range %d times, shared %d times",
      (long) n, threads, atomic_load (&j.bad_index), atomic_load (&j.shared_index));
  int64_t most = (n + grain - 1) / grain;
  CHECK (atomic_load (&j.calls) >= 1 && atomic_load (&j.calls) <= threads
      && atomic_load (&j.calls) <= most,
      "n %ld grain %ld threads %d: %d chunks", (long) n, (long) grain, threads,
      atomic_load (&j.calls));
  CHECK (atomic_load (&j.short_chunks) == 0, "n %ld grain %ld: %d chunks below the grain",
      (long) n, (long) grain, atomic_load (&j.short_chunks));
  return mc_test_failures - before;
}

/* A call over n items where thread 0 takes us0 µs per item and thread 1
 * us1; the items thread 1 ran. */
static int64_t
timed_call_n (mc_threadpool *pool, int64_t n, int us0, int us1)
{
  static job j;

  memset (&j, 0, sizeof j);
  j.grain = 1;
  j.n = n;
  j.item_us[0] = us0;
  j.item_us[1] = us1;
  mc_parallel_for (pool, j.n, 1, visit, &j);
  int wrong = 0;
  for (int64_t i = 0; i < j.n; i++)
    wrong += atomic_load (&j.visits[i]) != 1;
  CHECK (wrong == 0 && j.items[0] + j.items[1] == j.n, "balanced call: %d items "
      "not visited once, chunks %ld + %ld", wrong, (long) j.items[0], (long) j.items[1]);
  return j.items[1];
}

static int64_t
timed_call (mc_threadpool *pool, int us0, int us1)
{
  return timed_call_n (pool, 40, us0, us1);
}

/* Two ops called in turn (items 40 and 41), thread 1 at half speed in the
 * first and thread 0 in the second: each follows its own speeds. */
static void
check_op_shares (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);
  int64_t a = 0, b = 0;

  if (!pool || mc_threadpool_size (pool) != 2) {
    CHECK (0, "a pool of 2 threads");
    mc_threadpool_free (pool);
    return;
  }
  for (int i = 0; i < 12; i++) {
    a = timed_call_n (pool, 40, 500, 1000);
    b = timed_call_n (pool, 41, 1000, 500);
  }
  printf ("balancing per op: thread 1 runs %ld of 40 items where it is slower, "
      "%ld of 41 where it is faster\n", (long) a, (long) b);
  CHECK (a >= 10 && a <= 16, "op where thread 1 is slower: %ld of 40 items, not ~13", (long) a);
  CHECK (b >= 24 && b <= 31, "op where thread 1 is faster: %ld of 41 items, not ~27", (long) b);
  mc_threadpool_free (pool);
}

static void
check_balancing (void)
{
  mc_threadpool *pool = mc_threadpool_new (2);
  int64_t got = 0;

  if (!pool || mc_threadpool_size (pool) != 2) {
    CHECK (0, "a pool of 2 threads");
    mc_threadpool_free (pool);
    return;
  }
  CHECK (mc_threadpool_balancing (), "balancing is on by default");
  /* thread 1 at half the speed: its share tends to 1/3 (13 of 40) */
  for (int i = 0; i < 12; i++)
    got = timed_call (pool, 500, 1000);
  printf ("balancing: thread 1 at half speed runs %ld of 40 items\n", (long) got);
  CHECK (got >= 10 && got <= 16, "thread 1 at half speed: %ld of 40 items, not ~13",
      (long) got);
  /* the same speeds again: back to halves */
  for (int i = 0; i < 16; i++)
    got = timed_call (pool, 500, 500);
  printf ("balancing: at equal speeds again, %ld of 40\n", (long) got);
  CHECK (got >= 18 && got <= 22, "equal speeds again: %ld of 40 items", (long) got);
  /* off: equal chunks whatever the speeds */
  mc_threadpool_set_balancing (0);
  for (int i = 0; i < 4; i++)
    got = timed_call (pool, 500, 1500);
  CHECK (got == 20, "balancing off: %ld of 40 items, not 20", (long) got);
  mc_threadpool_set_balancing (1);
  mc_threadpool_free (pool);
}

/* Items that keep the CPU busy for ~100 µs each; the calls in which the
 * caller's thread ran worker 1's chunk. */
static GThread *main_thread;
static atomic_int taken_over;
static atomic_int worker_thread_ran;   /* chunks run on a worker's thread */

static void
spin_visit (void *p, int64_t begin, int64_t end, int worker)
{
  job *j = p;
  const gint64 until = g_get_monotonic_time () + 100 * (end - begin);

  while (g_get_monotonic_time () < until)
    ;
  if (worker == 1 && g_thread_self () == main_thread)
    atomic_fetch_add (&taken_over, 1);
  if (g_thread_self () != main_thread)
    atomic_fetch_add (&worker_thread_ran, 1);
  for (int64_t i = begin; i < end; i++)
    atomic_fetch_add (&j->visits[i], 1);
}

/* Pins the calling thread (and the pools it creates next) to its first
 * CPU; 0 where it cannot, with *all the CPU set to restore. */
static int
pin_to_one_cpu (cpu_set_t *all)
{
#ifdef __linux__
  cpu_set_t one;

  if (sched_getaffinity (0, sizeof *all, all) != 0)
    return 0;
  CPU_ZERO (&one);
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET (c, all)) {
      CPU_SET (c, &one);
      break;
    }
  return sched_setaffinity (0, sizeof one, &one) == 0;
#else
  (void) all;
  return 0;
#endif
}

static void
check_takeover (void)
{
#ifdef __linux__
  cpu_set_t all;
  mc_threadpool *pool;
  int wrong = 0;
  static job j;

  /* the pool's threads inherit the creating thread's CPU set */
  if (!pin_to_one_cpu (&all)) {
    printf ("taking over: not checked, cannot pin to one CPU\n");
    return;
  }
  main_thread = g_thread_self ();
  atomic_store (&taken_over, 0);
  pool = mc_threadpool_new (2);
  for (int call = 0; call < 200 && pool; call++) {
    memset (&j, 0, sizeof j);
    mc_parallel_for (pool, 4, 1, spin_visit, &j);
    for (int i = 0; i < 4; i++)
      wrong += atomic_load (&j.visits[i]) != 1;
  }
  mc_threadpool_free (pool);
  sched_setaffinity (0, sizeof all, &all);
  printf ("taking over: both threads on one CPU, the caller ran the worker's "
      "chunk in %d of 200 calls\n", atomic_load (&taken_over));
  CHECK (pool != NULL, "a pool of 2 threads");
  CHECK (wrong == 0, "taking over: %d items not run exactly once", wrong);
  CHECK (atomic_load (&taken_over) > 0, "the caller never took over the "
      "chunk of a worker that had no CPU");
#else
  printf ("taking over: not checked, no CPU affinity on this system\n");
#endif
}

/* Calls over 4 items of ~100 µs of CPU each with the pool's two threads
 * on one CPU (as next to a busy process): up to max_calls until the pool
 * goes alone, then `after` more; whether it went alone, with the calls
 * after it in which the worker's thread ran a chunk and the items not run
 * exactly once. */
static int
calls_on_one_cpu (mc_threadpool *pool, int max_calls, int after,
    int *worker_ran, int *wrong)
{
  static job j;
  int calls = 0, alone = 0;

  *worker_ran = *wrong = 0;
  while (calls < max_calls && !alone) {
    memset (&j, 0, sizeof j);
    mc_parallel_for (pool, 4, 1, spin_visit, &j);
    calls++;
    alone = mc_threadpool_going_alone (pool);
  }
  for (int c = 0; c < after && alone; c++) {
    memset (&j, 0, sizeof j);
    atomic_store (&worker_thread_ran, 0);
    mc_parallel_for (pool, 4, 1, spin_visit, &j);
    *worker_ran += atomic_load (&worker_thread_ran) > 0;
    for (int i = 0; i < 4; i++)
      *wrong += atomic_load (&j.visits[i]) != 1;
  }
  printf ("going alone: %s after %d calls\n", alone ? "went alone" : "split still",
      calls);
  return alone;
}

static void
check_alone (void)
{
#ifdef __linux__
  cpu_set_t all;
  mc_threadpool *pool;
  int alone, worker_ran, wrong;

  if (!pin_to_one_cpu (&all)) {
    printf ("going alone: not checked, cannot pin to one CPU\n");
    return;
  }
  main_thread = g_thread_self ();
  mc_threadpool_set_alone (1);
  pool = mc_threadpool_new (2);
  CHECK (pool != NULL, "a pool of 2 threads");
  if (pool) {
    /* two windows of 16 judged calls (one in 8, about 256 calls) decide;
     * 40 calls of ~400 µs stay within the first 100 ms alone */
    alone = calls_on_one_cpu (pool, 1000, 40, &worker_ran, &wrong);
    CHECK (alone, "both threads on one CPU: the pool never went alone");
    CHECK (worker_ran == 0, "going alone, the worker's thread ran chunks in "
        "%d of 40 calls", worker_ran);
    CHECK (wrong == 0, "going alone: %d items not run exactly once", wrong);
  }
  mc_threadpool_free (pool);
  /* the switch off: split however little it saves */
  mc_threadpool_set_alone (0);
  pool = mc_threadpool_new (2);
  if (pool) {
    alone = calls_on_one_cpu (pool, 300, 0, &worker_ran, &wrong);
    CHECK (!alone, "MC_POOL_ALONE off: the pool went alone");
  }
  mc_threadpool_free (pool);
  sched_setaffinity (0, sizeof all, &all);
#else
  printf ("going alone: not checked, no CPU affinity on this system\n");
#endif
}

int
main (void)
{
  static const int64_t sizes[] = { 1, 2, 3, 5, 7, 64, 999, 1000 };
  static const int64_t grains[] = { 1, 3, 100, 2000 };

  CHECK (mc_threadpool_alone (), "going alone is on by default");
  mc_threadpool_set_alone (0);
  run_once (NULL, 10, 1, 0);
  for (int threads = 1; threads <= 4; threads++) {
    mc_threadpool *pool = mc_threadpool_new (threads);
    CHECK (pool && mc_threadpool_size (pool) == threads, "a pool of %d threads", threads);
    if (!pool)
      continue;

    for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (size_t g = 0; g < G_N_ELEMENTS (grains); g++)
        run_once (pool, sizes[s], grains[g], 0);

    /* back to back: the workers pick each call up while polling */
    int failed = 0;
    for (int i = 0; i < 3000 && !failed; i++)
      failed = run_once (pool, 1 + i % 64, 1, 0);

    /* chunk counts below the pool's size and at it in turn: a worker left
     * out of a call, woken by it but delayed, once claimed its chunk of the
     * next call before that call was published and ran it twice ("n 3 grain
     * 1 threads 3: 4 chunks" in an ASan build on 2 vCPUs; 1 call in 200 000
     * of a stress on 4 threads) */
    for (int i = 0; i < 20000 && !failed && threads > 2; i++)
      failed = run_once (pool, 2 + i % (threads - 1), 1, 0);

    /* after the workers have slept, and with a worker chunk that outlasts
     * the caller's poll (so the caller sleeps and must be woken) */
    for (int i = 0; i < 4; i++) {
      g_usleep (20000);
      run_once (pool, 16, 1, 0);
      /* the workers awake again: they start their chunks themselves */
      run_once (pool, 16, 1, 0);
      run_once (pool, 16, 1, 5000);
    }
    printf ("pool of %d threads: every call checked\n", threads);
    mc_threadpool_free (pool);
  }
  check_balancing ();
  check_op_shares ();
  check_takeover ();
  check_alone ();
  return mc_test_finish ("threadpool");
}
