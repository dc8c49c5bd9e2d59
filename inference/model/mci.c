/* mci.c — the MCi image encoder run as a plan of folded ops (see mci.h;
 * mci_build.c makes the layers from the weights).
 *
 * The plan is a flat list of layers; the forward pass walks it over three
 * channels-last buffers (current map, next map, a temporary of the same size)
 * and one buffer for the widest qkv activation; a ConvFFN runs by bands of
 * rows in per-worker scratch, or, on maps with no more bands than threads,
 * as ops split over the pool.
 */
#include "mci.h"

#include <glib.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model/mci_layers.h"
#include "model/profile.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/se.h"
#include "runtime/error.h"

/* Families for the profile, in mc_profile_entry order. */
enum { FAM_CONV, FAM_DEPTHWISE, FAM_GEMM, FAM_ATTENTION, FAM_SE, FAM_POOL, N_FAMILIES };
static const char *family_names[N_FAMILIES] = {
  "conv", "depthwise", "gemm", "attention", "se", "pool",
};

void
mc_mci_release_plan (mc_mci *m)
{
  for (int i = 0; i < 3; i++) {
    free (m->buf[i]);
    m->buf[i] = NULL;
  }
  free (m->hidden);
  free (m->scratch);
  free (m->pooled);
  g_free (m->worker_profile);
  m->worker_profile = NULL;
  free (m->ffn_scratch);
  m->ffn_scratch = NULL;
  m->hidden = m->scratch = m->pooled = NULL;
  m->plan_n = m->plan_h = m->plan_w = m->plan_threads = 0;
}

void
mc_mci_set_profile (mc_mci *m, mc_profile_entry *entries)
{
  m->profile = entries;
  if (entries)
    mc_profile_reset (entries, family_names, N_FAMILIES);
}

void
mc_mci_set_tap (mc_mci *m, mc_mci_tap tap, void *user)
{
  m->tap = tap;
  m->tap_user = user;
}

/* ---- shapes, plan and MACs ---------------------------------------------- */

static void
layer_out_size (const layer *L, int h, int w, int *ho, int *wo)
{
  if (L->kind == LAYER_CONV) {
    *ho = mc_conv_out_size (h, L->conv.kh, L->conv.stride_h, L->conv.pad_h);
    *wo = mc_conv_out_size (w, L->conv.kw, L->conv.stride_w, L->conv.pad_w);
  } else {
    *ho = h;
    *wo = w;
  }
}

typedef struct {
  size_t map, hidden, scratch;
  size_t ffn;          /* one worker's band of the fused ConvFFN */
  int64_t macs;
} plan_sizes;

/* The most rows any thread gets when n images of h rows, cut into bands of
 * `rows` (the last band of each image shorter), are split as
 * mc_parallel_for splits items: contiguous chunks of ceil(items/threads). */
static int64_t
busiest_thread_rows (int h, int rows, int n, int n_threads)
{
  const int64_t bands = (h + rows - 1) / rows, items = (int64_t) n * bands;
  const int64_t chunks = MIN (items, (int64_t) n_threads);
  const int64_t chunk = (items + chunks - 1) / chunks;
  const int64_t short_by = bands * rows - h;   /* rows missing from a last band */
  int64_t most = 0;

  for (int64_t a = 0; a < items; a += chunk) {
    const int64_t b = MIN (items, a + chunk);
    /* items k in [a, b) with k % bands == bands - 1 are last bands */
    const int64_t lasts = b / bands - a / bands;
    most = MAX (most, (b - a) * rows - lasts * short_by);
  }
  return most;
}

/* Rows per band of the fused ConvFFN.  At most as many as keep a band's
 * hidden activations within 256 KiB (they stay in L2 between fc1 and fc2;
 * 128 KiB to 1 MiB measured alike on Zen 3), or, where that is more, as
 * make a band of FFN_MIN_BAND_PIXELS: each band reads all of fc1's and
 * fc2's weights (3 MiB each in MCi0's stage 4, where bands of 40 and 24
 * pixels ran the products at 60-80 GFLOP/s against 90-100 for one of 64;
 * 2.4 MiB together in MCi2's stage 3, more than L2, where one band of 256
 * pixels ran 1.03-1.04 times as fast on 1 thread as four of 64).
 * Among those, the one that gives the busiest thread the fewest rows (bands
 * are split over the threads in contiguous chunks: 64 rows in bands of 5
 * gave one of two threads 35 rows where bands of 4 give 32), then the
 * fewest bands, then the largest last band (16 rows as 4 × 4, not 5, 5, 5
 * and a band of one row, which reads the weights for 16 pixels). */
#define FFN_MIN_BAND_PIXELS 256

static int
ffn_band_rows (int h, int w, int hidden, int n, int n_threads)
{
  const size_t budget = 256 * 1024;
  const int by_budget = (int) (budget / ((size_t) w * hidden * sizeof (float)));
  const int by_pixels = (FFN_MIN_BAND_PIXELS + w - 1) / w;
  const int most = CLAMP (MAX (by_budget, by_pixels), 1, h);
  int best = 0, best_bands = 0, best_last = 0;
  int64_t best_load = 0;

  for (int rows = most; rows >= 1; rows--) {
    const int64_t load = busiest_thread_rows (h, rows, n, n_threads);
    const int bands = (h + rows - 1) / rows, last = h - (bands - 1) * rows;
    if (!best || load < best_load
        || (load == best_load && (bands < best_bands
            || (bands == best_bands && last > best_last)))) {
      best = rows;
      best_load = load;
      best_bands = bands;
      best_last = last;
    }
  }
  return best;
}

static void
walk (const mc_mci *m, int n, int h, int w, int n_threads, plan_sizes *ps)
{
  size_t hw;
  memset (ps, 0, sizeof *ps);
  ps->map = (size_t) n * h * w * 3;
  for (guint i = 0; i < m->layers->len; i++) {
    const layer *L = &g_array_index (m->layers, layer, i);
    int ho, wo;
    layer_out_size (L, h, w, &ho, &wo);
    hw = (size_t) ho * wo;
    ps->map = MAX (ps->map, (size_t) n * hw * L->cout);
    switch (L->kind) {
      case LAYER_CONV:
        ps->macs += (int64_t) hw * L->cout * (L->cin / L->conv.groups) * L->conv.kh * L->conv.kw;
        if (L->has_se) {
          ps->scratch = MAX (ps->scratch, (size_t) L->se.c + L->se.rd);
          ps->macs += 2 * (int64_t) L->se.c * L->se.rd;
        }
        break;
      case LAYER_POINTWISE:
        ps->macs += (int64_t) hw * L->cin * L->cout;
        break;
      case LAYER_REPMIXER:
      case LAYER_ATTENTION:
        if (L->kind == LAYER_REPMIXER) {
          ps->macs += (int64_t) hw * L->cout * L->mixer.kh * L->mixer.kw;
        } else {
          const int c = L->cout, d = c / L->heads;
          ps->hidden = MAX (ps->hidden, (size_t) n * hw * 3 * c);
          ps->scratch = MAX (ps->scratch, mc_attention_scratch_size ((int) hw, d, n_threads));
          ps->macs += (int64_t) hw * c * 3 * c + 2 * (int64_t) hw * hw * c + (int64_t) hw * c * c;
        }
        ps->ffn = MAX (ps->ffn, (size_t) ffn_band_rows (ho, wo, L->ffn.hidden, 1 << 20, 1)
            * wo * (L->cout + L->ffn.hidden));
        ps->macs += (int64_t) hw * L->cout * L->ffn.dw.kh * L->ffn.dw.kw
            + 2 * (int64_t) hw * L->cout * L->ffn.hidden;
        break;
    }
    h = ho;
    w = wo;
  }
  ps->macs += (int64_t) m->final_dim * m->embed_dim;
}

int64_t
mc_mci_macs (const mc_mci *m, int size)
{
  plan_sizes ps;
  walk (m, 1, size, size, 1, &ps);
  return ps.macs;
}

/* Planned buffers start on a cache line: malloc's large blocks start 16
 * bytes past a page, which splits every other 32-byte vector load of a
 * kernel across two lines. */
static float *
plan_alloc (size_t n_floats)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, (n_floats ? n_floats : 1) * sizeof (float)))
    return NULL;
  return p;
}

static mc_status
plan (mc_mci *m, int n, int h, int w, int n_threads, mc_error *err)
{
  plan_sizes ps;
  /* a smaller batch reuses a larger one's buffers: a caller alternating
   * batch sizes (a last short batch, --versus-batch) would otherwise free
   * and fault in tens of MiB every forward (batch 4 against batch 1, pairs
   * alternating on 2 threads: 93.6 ms a batch-4 forward against 69.6 alone) */
  if (m->plan_n >= n && m->plan_h == h && m->plan_w == w && m->plan_threads == n_threads)
    return MC_OK;
  mc_mci_release_plan (m);
  /* every size but the scratch is n × one image's; the scratch of a whole
   * pool's op also covers one worker running ops alone */
  walk (m, 1, h, w, n_threads, &ps);
  m->map_per_image = ps.map;
  m->hidden_per_image = ps.hidden;
  m->scratch_per_worker = MAX (ps.scratch, (size_t) 1);
  for (int i = 0; i < 3; i++)
    m->buf[i] = plan_alloc ((size_t) n * m->map_per_image);
  m->hidden = plan_alloc ((size_t) n * m->hidden_per_image);
  m->scratch = plan_alloc ((size_t) n_threads * m->scratch_per_worker);
  m->pooled = plan_alloc ((size_t) n * m->final_dim);
  m->worker_profile = g_new0 (mc_profile_entry, (gsize) n_threads * N_FAMILIES);
  m->ffn_per_worker = MAX (ps.ffn, (size_t) 1);
  m->ffn_scratch = plan_alloc ((size_t) n_threads * m->ffn_per_worker);
  if (!m->buf[0] || !m->buf[1] || !m->buf[2] || !m->hidden || !m->scratch || !m->pooled
      || !m->ffn_scratch) {
    mc_mci_release_plan (m);
    return mc_err (err, MC_ERR_NOMEM, "out of memory planning buffers for %d×%dx%d", n, h, w);
  }
  m->plan_n = n;
  m->plan_h = h;
  m->plan_w = w;
  m->plan_threads = n_threads;
  return MC_OK;
}

int
mc_mci_planned_batch (const mc_mci *m)
{
  return m->plan_n;
}

/* ---- forward ------------------------------------------------------------ */

/* Where one run of the layers works: images [b0, b0 + n) of the planned
 * buffers, one worker's scratch, and the profile to charge (or NULL). */
typedef struct {
  int b0, n;
  float *scratch;
  mc_profile_entry *prof;
  int worker;          /* the side-by-side worker running it, or -1 (ops
                          split over the pool) */
} run_slice;

typedef struct {
  const conv_ffn *f;
  const float *x;
  float *out;
  int h, w, c, band, n_bands, slot;
  float *scratch;
  size_t per_worker;
  mc_profile_entry *prof;     /* N_FAMILIES per worker, or NULL */
} ffn_job;

/* Bands of rows, each through dw, fc1 and fc2 before the next: the band's
 * dw output and hidden activations never leave the worker's L2, and a
 * ConvFFN is one hand-off to the pool instead of three (2 threads, batch 1:
 * 54.1 → 51.5 ms median on Zen 3, the same bits). */
static void
ffn_bands (void *p, int64_t i0, int64_t i1, int worker)
{
  const ffn_job *j = p;
  const int slot = j->slot >= 0 ? j->slot : worker;
  const conv_ffn *f = j->f;
  const int h = j->h, w = j->w, c = j->c;
  float *t = j->scratch + (size_t) slot * j->per_worker;
  float *hid = t + (size_t) j->band * w * c;
  mc_profile_entry *prof = j->prof ? j->prof + (size_t) slot * N_FAMILIES : NULL;

  for (int64_t item = i0; item < i1; item++) {
    const int b = (int) (item / j->n_bands), r0 = (int) (item % j->n_bands) * j->band;
    const int r1 = MIN (h, r0 + j->band), rows = (r1 - r0) * w;
    const size_t off = ((size_t) b * h + r0) * w * c;
    TIMED (prof, FAM_DEPTHWISE, mc_conv_rows (&f->dw, j->x + (size_t) b * h * w * c, h, w, r0, r1,
          t, MC_ACT_NONE));
    TIMED (prof, FAM_GEMM, mc_gemm (NULL, rows, t, c, &f->fc1, f->b1, MC_ACT_GELU, NULL, 0, hid,
          f->hidden));
    TIMED (prof, FAM_GEMM, mc_gemm (NULL, rows, hid, f->hidden, &f->fc2, f->b2, MC_ACT_NONE,
          j->x + off, c, j->out + off, c));
  }
}

/* The ConvFFN over the whole map, each op split over the pool: where every
 * thread would get one band at most, bands would have each thread read all
 * of fc1's and fc2's weights for a few rows (MCi0's stage 4 on 2 threads:
 * 32 pixels a thread, 48-60 GFLOP/s a thread), where split products read
 * half each (84).  The dw output and the hidden activations fill the
 * workers' band scratch, which holds them: every band fits one worker's
 * part and every row is in a band. */
static void
ffn_split (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const conv_ffn *f,
    const float *x, float *out, int h, int w, int c)
{
  const int px = sl->n * h * w;
  float *t = m->ffn_scratch, *hid = t + (size_t) px * c;

  TIMED (sl->prof, FAM_DEPTHWISE, mc_conv_forward (pool, &f->dw, x, sl->n, h, w, t, MC_ACT_NONE));
  TIMED (sl->prof, FAM_GEMM, mc_gemm (pool, px, t, c, &f->fc1, f->b1, MC_ACT_GELU, NULL, 0, hid,
        f->hidden));
  TIMED (sl->prof, FAM_GEMM, mc_gemm (pool, px, hid, f->hidden, &f->fc2, f->b2, MC_ACT_NONE, x, c,
        out, c));
}

/* The ConvFFN: out = x + fc2(GELU(fc1(dw(x)))) (out must not be x: bands
 * read their neighbours' rows of x), by bands or, where there are no more
 * bands than threads, by split ops.  Both give the same bits. */
static void
ffn_forward (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const conv_ffn *f,
    const float *x, float *out, int h, int w, int c)
{
  const int n_threads = mc_threadpool_size (pool);
  const int band = ffn_band_rows (h, w, f->hidden, sl->n, n_threads);
  ffn_job j = { f, x, out, h, w, c, band, (h + band - 1) / band, sl->worker,
    m->ffn_scratch, m->ffn_per_worker, NULL };

  if (sl->worker < 0 && n_threads > 1 && (int64_t) sl->n * j.n_bands <= n_threads) {
    ffn_split (m, pool, sl, f, x, out, h, w, c);
    return;
  }
  if (sl->prof && sl->worker >= 0) {
    j.prof = m->worker_profile;   /* the slot's own entries: sl->prof */
  } else if (sl->prof) {
    j.prof = m->worker_profile;
    memset (m->worker_profile, 0, (size_t) n_threads * N_FAMILIES * sizeof (mc_profile_entry));
  }
  mc_parallel_for (pool, (int64_t) sl->n * j.n_bands, 1, ffn_bands, &j);
  /* workers ran at the same time: their summed time over their number */
  if (sl->prof && sl->worker < 0)
    for (int t = 0; t < n_threads; t++)
      for (int fam = 0; fam < N_FAMILIES; fam++) {
        sl->prof[fam].ms += m->worker_profile[(size_t) t * N_FAMILIES + fam].ms / n_threads;
        sl->prof[fam].calls += m->worker_profile[(size_t) t * N_FAMILIES + fam].calls;
      }
}

/* channels of the global pool summed per pass over the map (their double
 * sums stay on the stack) */
#define POOL_CHUNK 512

/* The layers, global pooling included, over the slice's images x [n, h, w, 3]:
 * writes their pooled features to m->pooled. */
static void
run_layers (mc_mci *m, mc_threadpool *pool, const run_slice *sl, const float *x,
    int h, int w)
{
  const int n = sl->n;
  float *cur = m->buf[0] + (size_t) sl->b0 * m->map_per_image;
  float *next = m->buf[1] + (size_t) sl->b0 * m->map_per_image;
  float *tmp = m->buf[2] + (size_t) sl->b0 * m->map_per_image;
  float *hidden = m->hidden + (size_t) sl->b0 * m->hidden_per_image;
  float *pooled = m->pooled + (size_t) sl->b0 * m->final_dim;
  mc_profile_entry *prof = sl->prof;
  double t_pool;
  int c = 3;

  memcpy (cur, x, (size_t) n * h * w * 3 * sizeof (float));
  for (guint i = 0; i < m->layers->len; i++) {
    const layer *L = &g_array_index (m->layers, layer, i);
    int ho, wo;
    float *swap;
    layer_out_size (L, h, w, &ho, &wo);
    switch (L->kind) {
      case LAYER_CONV:
        TIMED (prof, L->conv.groups == L->conv.cin && L->conv.cin == L->conv.cout ? FAM_DEPTHWISE : FAM_CONV,
            mc_conv_forward (pool, &L->conv, cur, n, h, w, next, L->has_se ? MC_ACT_NONE : L->act));
        if (L->has_se)
          TIMED (prof, FAM_SE, mc_se_forward (pool, &L->se, next, n, ho * wo, L->act, sl->scratch));
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_POINTWISE:
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * h * w, cur, c, &L->pw, L->pw_bias, L->act, NULL, 0, next, L->cout));
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_REPMIXER:
        TIMED (prof, FAM_DEPTHWISE, mc_conv_forward (pool, &L->mixer, cur, n, h, w, next, MC_ACT_NONE));
        swap = cur; cur = next; next = swap;
        ffn_forward (m, pool, sl, &L->ffn, cur, next, h, w, c);
        swap = cur; cur = next; next = swap;
        break;
      case LAYER_ATTENTION: {
        const int T = h * w;
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * T, cur, c, &L->qkv, L->qkv_bias, MC_ACT_NONE, NULL, 0, hidden, 3 * c));
        TIMED (prof, FAM_ATTENTION, mc_attention (pool, hidden, n, T, c, L->heads, 0, tmp, sl->scratch));
        TIMED (prof, FAM_GEMM, mc_gemm (pool, n * T, tmp, c, &L->proj, L->proj_bias, MC_ACT_NONE, cur, c, cur, c));
        ffn_forward (m, pool, sl, &L->ffn, cur, next, h, w, c);
        swap = cur; cur = next; next = swap;
        break;
      }
    }
    h = ho;
    w = wo;
    c = L->cout;
    if (m->tap && L->tap)
      m->tap (m->tap_user, L->tap, cur, n, h, w, c);
  }

  /* GlobalPool2D: spatial mean (the projection follows for the batch) */
  t_pool = prof ? mc_profile_now_ms () : 0;
  for (int b = 0; b < n; b++) {
    const float *img = cur + (size_t) b * h * w * c;
    /* pixel-major, so that the map is read in order (one channel at a time
     * strode across it a cache line per value); each channel still sums its
     * pixels in order, in double */
    for (int c0 = 0; c0 < c; c0 += POOL_CHUNK) {
      const int nc = MIN (POOL_CHUNK, c - c0);
      double s[POOL_CHUNK] = { 0 };
      for (int p = 0; p < h * w; p++)
        for (int ch = 0; ch < nc; ch++)
          s[ch] += img[(size_t) p * c + c0 + ch];
      for (int ch = 0; ch < nc; ch++)
        pooled[(size_t) b * c + c0 + ch] = (float) (s[ch] / (h * w));
    }
  }
  if (prof)
    prof[FAM_POOL].ms += mc_profile_now_ms () - t_pool;
}

typedef struct {
  mc_mci *m;
  const float *x;
  int h, w, n;
  atomic_int next;       /* the next image nobody has taken */
} image_job;

/* A worker takes images one at a time until none is left, each with every
 * op on this thread: a worker whose core is shared with another process
 * takes fewer images instead of holding the others back. */
static void
run_images (void *p, int64_t i0, int64_t i1, int worker)
{
  image_job *j = p;
  mc_mci *m = j->m;
  int b;

  while ((b = atomic_fetch_add_explicit (&j->next, 1, memory_order_relaxed)) < j->n) {
    run_slice sl = { b, 1, m->scratch + (size_t) worker * m->scratch_per_worker,
      m->profile ? m->worker_profile + (size_t) worker * N_FAMILIES : NULL, worker };
    run_layers (m, NULL, &sl, j->x + (size_t) b * j->h * j->w * 3, j->h, j->w);
  }
}

/* Batches of at least as many images as the pool has threads run images side
 * by side, each worker taking whole images: every op then runs on one
 * thread at full size, without the hand-offs and the uneven splits of small
 * maps (stage 4 is 8×8) that an op split over threads pays.  Images left
 * over (n mod threads) run together with every op split over the pool, as a
 * batch of one always does.  An image's result is the same either way (every
 * kernel computes an output in the same order whatever the split).  Taps
 * want whole-batch maps, so they keep the split ops.  The profile charges
 * each family the workers' summed time over their number. */
mc_status
mc_mci_forward (mc_mci *m, mc_threadpool *pool, const float *x,
    int n, int h, int w, float *out, mc_error *err)
{
  const int n_threads = mc_threadpool_size (pool);
  const int n_side = m->tap || n_threads < 2 ? 0 : n / n_threads * n_threads;
  mc_status st;

  if (n < 1 || h < 1 || w < 1)
    return mc_err (err, MC_ERR_INVALID_ARGUMENT, "invalid image batch %d×%d×%d", n, h, w);
  st = plan (m, n, h, w, n_threads, err);
  if (st != MC_OK)
    return st;

  if (n_side > 0) {
    image_job j = { m, x, h, w, n_side, 0 };
    if (m->profile)
      memset (m->worker_profile, 0, (size_t) n_threads * N_FAMILIES * sizeof (mc_profile_entry));
    /* one chunk per worker; the images are handed out as they finish */
    mc_parallel_for (pool, n_threads, 1, run_images, &j);
    /* the workers ran at the same time: their time per family, summed and
     * divided by their number, is the wall time it took */
    if (m->profile)
      for (int t = 0; t < n_threads; t++)
        for (int f = 0; f < N_FAMILIES; f++) {
          m->profile[f].ms += m->worker_profile[(size_t) t * N_FAMILIES + f].ms / n_threads;
          m->profile[f].calls += m->worker_profile[(size_t) t * N_FAMILIES + f].calls;
        }
  }
  if (n_side < n) {
    run_slice sl = { n_side, n - n_side, m->scratch, m->profile, -1 };
    run_layers (m, pool, &sl, x + (size_t) n_side * h * w * 3, h, w);
  }

  if (m->tap)
    m->tap (m->tap_user, "pooled", m->pooled, n, 1, 1, m->final_dim);
  /* the pooling above and this projection are one "pool" call */
  TIMED (m->profile, FAM_POOL, mc_gemm (pool, n, m->pooled, m->final_dim, &m->head, NULL,
        MC_ACT_NONE, NULL, 0, out, m->embed_dim));
  return MC_OK;
}
