/* threadpool.c — see threadpool.h.
 *
 * One job at a time.  The caller publishes a job and bumps an atomic
 * generation counter; workers notice it by polling for a while after their
 * last job, and only then sleep on a condition variable.  A forward pass
 * issues hundreds of short ops back to back, and waking a sleeping thread
 * costs 100–400 µs on a virtual machine (measured), more than many of those
 * ops take; polling hands an op over in about 10 µs.  The caller waits for
 * the last chunk the same way: poll, then sleep; a worker's chunk not
 * started in time it runs itself (claim_chunk).
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a waiting thread polls with `pause` before it starts yielding its
 * CPU between polls, and how long the caller and the workers poll in all
 * before they sleep. */
#define PAUSE_NS 50000
#define CALLER_POLL_NS 1000000
#define WORKER_POLL_NS 250000

/* Going alone (judge): one split call in JUDGE_ONE_IN is judged, and the
 * judged calls are taken in windows of ALONE_WINDOW;
 * after ALONE_AFTER windows in a row in which they took longer than the
 * caller alone would have, the calls run on the caller alone for
 * ALONE_MIN_NS, and twice as long each time the windows that follow are
 * no better, up to ALONE_MAX_NS. */
#define ALONE_WINDOW 16
#define ALONE_AFTER 2
#define ALONE_MIN_NS 100000000
#define ALONE_MAX_NS 1600000000

/* ops with shares of their own (op_shares, see "Balancing" below): MCi0 and
 * the S0 text tower together split about 30 distinct ones */
#define BALANCE_OPS 64

struct mc_threadpool {
  int n_threads;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  /* the current job, written by the caller before the generation bump:
   * chunk c is items [bound[c], bound[c + 1]) */
  mc_range_fn fn;
  void *arg;
  int64_t *bound;
  /* balancing (see split): each thread's relative speed, and the time each
   * chunk of the current job took */
  double *share;
  int64_t *chunk_ns;
  /* each op's own shares (see op_shares): BALANCE_OPS entries, the shares
   * of entry e at op_share + e * n_threads */
  mc_range_fn *op_fn;
  int64_t *op_n;
  double *op_share;
  /* chunk c belongs to the job whose generation claim[c] holds (see
   * claim_chunk); chunk 0 is always the caller's */
  atomic_uint_fast64_t *claim;
  atomic_int pending;            /* worker chunks not finished yet */
  /* going alone (see judge): the calls run on the caller alone until
   * alone_until (when that has passed, or is 0, they are split), for
   * alone_ns the next time; over the current window of split calls, the
   * time they saved */
  int64_t alone_until, alone_ns;
  int64_t window_saved_ns;
  int window_calls;
  int bad_windows;               /* windows in a row that saved nothing */
  uint64_t sample_state;         /* picks the calls judged (judge_this_call) */
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

/* Worker chunks are claimed, by their worker or by the caller: once its own
 * chunk is done, the caller waits for a worker to start its chunk a quarter
 * of its own chunk's time (STEAL_AFTER_NS at least), then runs the chunk
 * itself.  A worker that lost its CPU (another process on its core, a
 * decoder in the same pipeline, a vCPU the host took away) would otherwise
 * hold the op for a time slice of milliseconds.  MCi0 on 2 threads next to
 * a busy loop pinned to one of the 2 CPUs: 68.6 and 70.3 ms before, 63.3
 * and 64.9 after (1 thread 42.5; ONNX Runtime 71.4 on 2 threads, 48.7 on
 * 1); bf16 28.2 → 22.9.  Alone, taking over after 50 µs cost MCi2 2-7 %
 * (a chunk taken over from a worker that would soon have started runs
 * after the caller's own), the quarter-chunk wait nothing (bench-ab).  A
 * chunk once started stays with its thread; it computes the same whoever
 * runs it (mc_parallel_for), so the results do not change.  The claim is
 * a compare-and-swap of the job's generation into claim[c], which succeeds
 * only from an older generation: generations only grow, and a job marks the
 * chunks it does not use (c ≥ its chunk count) as its own when it is
 * published, so every chunk of a job is claimed before the job finishes.
 * A worker that saw a generation late therefore cannot take a chunk of a
 * later job with this one's fields, which it may already read (the caller
 * writes a job's fields only after its last chunk finished).  Without the
 * mark, a worker outside a job of fewer chunks than threads, woken by it
 * but delayed, claimed its chunk of the next job before that job's bump and
 * ran it twice ("n 3 threads 3: 4 chunks", ASan build on 2 vCPUs; a stress
 * of 200 000 alternating calls on 4 threads: 1 bad). */
#define STEAL_AFTER_NS 50000

static int
claim_chunk (mc_threadpool *pool, int c, uint_fast64_t gen)
{
  uint_fast64_t old = atomic_load_explicit (&pool->claim[c], memory_order_relaxed);

  return old < gen && atomic_compare_exchange_strong_explicit (&pool->claim[c],
      &old, gen, memory_order_acq_rel, memory_order_relaxed);
}

static void
run_chunk (mc_threadpool *pool, int c)
{
  const int64_t t0 = now_ns ();
  pool->fn (pool->arg, pool->bound[c], pool->bound[c + 1], c);
  pool->chunk_ns[c] = now_ns () - t0;
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
    /* a chunk past this job's count was marked claimed when it was
     * published: no need to read the count, which a later job may be
     * writing */
    if (claim_chunk (pool, index, seen)) {
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
  pool->bound = calloc ((size_t) n_threads + 1, sizeof *pool->bound);
  pool->share = calloc ((size_t) n_threads, sizeof *pool->share);
  pool->chunk_ns = calloc ((size_t) n_threads, sizeof *pool->chunk_ns);
  pool->claim = calloc ((size_t) n_threads, sizeof *pool->claim);
  pool->op_fn = calloc (BALANCE_OPS, sizeof *pool->op_fn);
  pool->op_n = calloc (BALANCE_OPS, sizeof *pool->op_n);
  pool->op_share = calloc ((size_t) BALANCE_OPS * n_threads, sizeof *pool->op_share);
  if (!pool->threads || !pool->bound || !pool->share || !pool->chunk_ns
      || !pool->claim || !pool->op_fn || !pool->op_n || !pool->op_share) {
    free (pool->threads);
    free (pool->bound);
    free (pool->share);
    free (pool->chunk_ns);
    free ((void *) pool->claim);
    free (pool->op_fn);
    free (pool->op_n);
    free (pool->op_share);
    free (pool);
    return NULL;
  }
  for (int i = 0; i < n_threads; i++)
    atomic_init (&pool->claim[i], 0);
  for (int i = 0; i < n_threads; i++)
    pool->share[i] = 1.0;
  pool->alone_ns = ALONE_MIN_NS;
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
  free (pool->bound);
  free (pool->share);
  free (pool->chunk_ns);
  free ((void *) pool->claim);
  free (pool->op_fn);
  free (pool->op_n);
  free (pool->op_share);
  free (pool);
}

int
mc_threadpool_size (const mc_threadpool *pool)
{
  return pool ? pool->n_threads : 1;
}

/* Balancing.  On a shared VM one vCPU is often slower than the other for
 * seconds at a time (another tenant on its core: on the 2-vCPU Sapphire
 * Rapids-class guest one MCi0 forward on 1 thread took 40 ms on one vCPU and
 * 56 ms on the other, which of them changing every few seconds), and a
 * thread also loses time to other processes on its CPU (a decoder); an op cut
 * into equal halves waits for the slower thread.  So the pool cuts each job
 * in proportion to its threads' recent speeds: after every job whose chunks
 * all ran MC_BALANCE_MIN_NS or longer, each thread's items per ns over their
 * mean moves its share MC_SHARE_RATE of the way (shares stay within
 * [MC_SHARE_MIN, MC_SHARE_MAX]).  Chunks stay contiguous and one per thread,
 * so equal speeds cost nothing, and every op computes an item the same way
 * whoever runs it: the results do not change.  MC_POOL_BALANCE=0 (or
 * mc_threadpool_set_balancing) cuts equal chunks, for timing comparisons.
 *
 * Each op (its function and item count) keeps shares of its own, and the
 * pool's shares, moved by every op, start the shares of an op seen for the
 * first time.  A thread's speed differs from op to op, not only from time
 * to time: with one set of shares for the whole pool, on the Zen 5-class
 * guest the caller's half of a bf16 MCi0 stage-3 product ran 15 % longer
 * than the worker's, while the worker's half of the 3×3 depthwise convs
 * after it ran 36 % longer (whoever wrote a map's rows reads them faster
 * next).  Pairs of 5-forward blocks in one process, 2 threads, shares per
 * op over one set: MCi0 bf16 0.960 (quartiles 0.940–0.975), fp32 0.964,
 * int8 0.969, MCi2 fp32 0.974; S0 text level (twenty-second session). */
#define MC_BALANCE_MIN_NS 20000
#define MC_SHARE_MIN 0.4
#define MC_SHARE_MAX 2.5
#define MC_SHARE_RATE 0.25

/* A switch for every pool of the process (balancing, going alone): on
 * unless the environment's `name` is 0; -1 until it is read. */
static int
switch_on (atomic_int *sw, const char *name)
{
  int v = atomic_load_explicit (sw, memory_order_relaxed);
  if (v < 0) {
    const char *env = getenv (name);
    v = !(env && env[0] == '0' && env[1] == '\0');
    atomic_store_explicit (sw, v, memory_order_relaxed);
  }
  return v;
}

static atomic_int balancing = -1;

static int
balancing_on (void)
{
  return switch_on (&balancing, "MC_POOL_BALANCE");
}

int
mc_threadpool_balancing (void)
{
  return balancing_on ();
}

void
mc_threadpool_set_balancing (int on)
{
  atomic_store_explicit (&balancing, on != 0, memory_order_relaxed);
}

/* The shares of op (fn, n), found in a small open-addressed table; an op
 * not in it takes an entry (the first probed, where all are taken) with
 * the pool's shares. */
static double *
op_shares (mc_threadpool *pool, mc_range_fn fn, int64_t n)
{
  const uint64_t h = ((uint64_t) (uintptr_t) fn * 0x9e3779b97f4a7c15ull)
      ^ ((uint64_t) n * 0xff51afd7ed558ccdull);
  const int first = (int) ((h >> 40) % BALANCE_OPS);
  int e = first;

  for (int probe = 0; probe < 4; probe++) {
    const int i = (first + probe) % BALANCE_OPS;
    if (pool->op_fn[i] == fn && pool->op_n[i] == n)
      return pool->op_share + (size_t) i * pool->n_threads;
    if (!pool->op_fn[i]) {
      e = i;
      break;
    }
  }
  pool->op_fn[e] = fn;
  pool->op_n[e] = n;
  memcpy (pool->op_share + (size_t) e * pool->n_threads, pool->share,
      (size_t) pool->n_threads * sizeof *pool->share);
  return pool->op_share + (size_t) e * pool->n_threads;
}

/* Bounds of `chunks` chunks over n items in units of grain, each at least
 * one unit, in proportion to share (equal where share is NULL). */
static void
split (mc_threadpool *pool, int64_t n, int64_t grain, int chunks, const double *share)
{
  const int64_t units = (n + grain - 1) / grain;
  double total = 0, acc = 0;
  int64_t prev = 0;

  for (int c = 0; c < chunks; c++)
    total += share ? share[c] : 1.0;
  pool->bound[0] = 0;
  for (int c = 0; c < chunks; c++) {
    acc += share ? share[c] : 1.0;
    int64_t u = (int64_t) (units * acc / total + 0.5);
    if (u < prev + 1)
      u = prev + 1;
    if (u > units - (chunks - 1 - c))
      u = units - (chunks - 1 - c);
    pool->bound[c + 1] = u * grain < n ? u * grain : n;
    prev = u;
  }
}

static void
move_shares (double *share, const double *speed, double mean, int chunks)
{
  for (int c = 0; c < chunks; c++) {
    double s = share[c] + MC_SHARE_RATE * (speed[c] / mean - share[c]);
    share[c] = s < MC_SHARE_MIN ? MC_SHARE_MIN : s > MC_SHARE_MAX ? MC_SHARE_MAX : s;
  }
}

/* After a job over every thread: each thread's speed over the mean moves
 * the op's shares and the pool's. */
static void
update_shares (mc_threadpool *pool, int chunks, double *op)
{
  double speed[chunks], mean = 0;

  for (int c = 0; c < chunks; c++) {
    if (pool->chunk_ns[c] < MC_BALANCE_MIN_NS)
      return;
    speed[c] = (double) (pool->bound[c + 1] - pool->bound[c]) / (double) pool->chunk_ns[c];
    mean += speed[c] / chunks;
  }
  move_shares (op, speed, mean, chunks);
  move_shares (pool->share, speed, mean, chunks);
}

/* Going alone.  A worker only helps if it has a CPU: next to a busy
 * process on one of the 2 CPUs of the Sapphire Rapids-class VM, MCi0 took
 * 63-67 ms on 2 threads against 42 on 1 (nineteenth and twentieth
 * sessions, before this), the pool's
 * threads sharing one CPU or the worker losing its CPU for a time slice in
 * the middle of its chunk (which the caller cannot take over once it has
 * started).  So the caller judges the split calls by what they save: its
 * own chunk's CPU time (not its wall time, which grows when our two
 * threads share a CPU) scaled to the whole range is what the call would
 * have taken on the caller alone; the call's wall time is what it took.
 * After two windows of ALONE_WINDOW judged calls (one call in
 * JUDGE_ONE_IN, judge_this_call) in a row that saved nothing in sum (one
 * can be a hiccup of the host), the calls run on the caller alone
 * for a while, then windows are split again to see whether the workers
 * help by then.  The sum is over time, so that the long ops decide, not
 * the many short ones; it assumes a chunk's items cost alike, as the split
 * does.  Every item is computed the same way whoever runs it
 * (mc_parallel_for), so the results do not change.  Going alone, MCi0 next
 * to the busy loop took about 1 thread's time (docs/performance.md,
 * twentieth session); on its own the judge never went alone.
 * MC_POOL_ALONE=0 (or mc_threadpool_set_alone) keeps every call split, for
 * timing comparisons. */
static atomic_int alone_switch = -1;

static int
alone_on (void)
{
  return switch_on (&alone_switch, "MC_POOL_ALONE");
}

int
mc_threadpool_alone (void)
{
  return alone_on ();
}

void
mc_threadpool_set_alone (int on)
{
  atomic_store_explicit (&alone_switch, on != 0, memory_order_relaxed);
}

int
mc_threadpool_going_alone (const mc_threadpool *pool)
{
  return pool && now_ns () < pool->alone_until;
}

/* Judging a call reads the caller's CPU time twice, and that clock is a
 * system call (no vDSO): 1.6 µs a read on the Zen 5-class KVM guest, whose
 * kernel has page-table isolation on, 0.3 ms a bf16 MCi0 forward of ~92
 * calls on its critical path.  So a call in JUDGE_ONE_IN is judged, picked
 * by a pseudo-random draw: a fixed stride would judge the same few ops of
 * every forward.  bench pairs, 2 threads, one in 8 against every call:
 * MCi0 bf16 0.983 and 0.985, fp32 0.992, int8 0.982 (twenty-second
 * session). */
#define JUDGE_ONE_IN 8

static int
judge_this_call (mc_threadpool *pool)
{
  pool->sample_state = pool->sample_state * 6364136223846793005ull + 1442695040888963407ull;
  return (pool->sample_state >> 33) % JUDGE_ONE_IN == 0;
}

static int64_t
thread_cpu_ns (void)
{
  struct timespec ts;
  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return -1;
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* After a split call over n items that started at `start`, whose chunk 0
 * took the caller cpu0 ns of CPU time. */
static void
judge (mc_threadpool *pool, int64_t n, int64_t start, int64_t cpu0)
{
  const int64_t n0 = pool->bound[1] - pool->bound[0];
  const int64_t end = now_ns ();

  if (n0 <= 0 || cpu0 < 0)
    return;
  pool->window_saved_ns += (int64_t) ((double) cpu0 * (double) n / (double) n0)
      - (end - start);
  if (++pool->window_calls < ALONE_WINDOW)
    return;
  if (pool->window_saved_ns > 0) {
    pool->bad_windows = 0;
    pool->alone_ns = ALONE_MIN_NS;
  } else if (++pool->bad_windows >= ALONE_AFTER) {
    pool->bad_windows = 0;
    pool->alone_until = end + pool->alone_ns;
    pool->alone_ns = pool->alone_ns * 2 < ALONE_MAX_NS ? pool->alone_ns * 2
        : ALONE_MAX_NS;
  }
  pool->window_saved_ns = 0;
  pool->window_calls = 0;
}

void
mc_parallel_for (mc_threadpool *pool, int64_t n, int64_t grain,
    mc_range_fn fn, void *arg)
{
  int64_t chunks;
  int stolen = 0, judging;
  double *op;
  uint_fast64_t gen;
  int64_t start = 0, cpu0 = -1;
  int64_t steal_after;

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
  judging = alone_on ();
  if (judging) {
    start = now_ns ();
    if (start < pool->alone_until) {
      fn (arg, 0, n, 0);
      return;
    }
    pool->alone_until = 0;
    judging = judge_this_call (pool);
  }
  op = balancing_on () && chunks == pool->n_threads ? op_shares (pool, fn, n) : NULL;
  split (pool, n, grain, (int) chunks, op);

  pool->fn = fn;
  pool->arg = arg;
  atomic_store_explicit (&pool->pending, (int) chunks - 1, memory_order_relaxed);
  /* only the caller bumps the generation: this job's is the next one.  Its
   * unused chunks are claimed in its name (claim_chunk) */
  gen = atomic_load_explicit (&pool->generation, memory_order_relaxed) + 1;
  for (int c = (int) chunks; c < pool->n_threads; c++)
    atomic_store_explicit (&pool->claim[c], gen, memory_order_relaxed);
  /* the release publishes the job fields and the marks to workers that see
   * the bump */
  atomic_store_explicit (&pool->generation, gen, memory_order_release);
  pthread_mutex_lock (&pool->lock);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  if (judging)
    cpu0 = thread_cpu_ns ();
  run_chunk (pool, 0);
  if (judging && cpu0 >= 0)
    cpu0 = thread_cpu_ns () - cpu0;

  steal_after = pool->chunk_ns[0] / 4 > STEAL_AFTER_NS ? pool->chunk_ns[0] / 4
      : STEAL_AFTER_NS;
  if (!poll_until (chunks_done, pool, 0, steal_after)) {
    for (int c = 1; c < chunks; c++)
      if (claim_chunk (pool, c, gen)) {
        run_chunk (pool, c);
        atomic_fetch_sub_explicit (&pool->pending, 1, memory_order_acq_rel);
        stolen = 1;
      }
  }
  if (!poll_until (chunks_done, pool, 0, CALLER_POLL_NS)) {
    pthread_mutex_lock (&pool->lock);
    while (atomic_load (&pool->pending) > 0)
      pthread_cond_wait (&pool->done, &pool->lock);
    pthread_mutex_unlock (&pool->lock);
  }
  /* the workers' chunk times were published by their release of pending;
   * a chunk the caller ran says nothing of its worker's speed */
  if (op && !stolen)
    update_shares (pool, (int) chunks, op);
  if (judging)
    judge (pool, n, start, cpu0);
}
