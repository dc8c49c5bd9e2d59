/* se.c — see se.h. */
#include "se.h"

#include <stdlib.h>
#include <string.h>

#include "activation.h"

static float *
dup (const float *src, size_t n)
{
  float *p = malloc (n * sizeof (float));
  if (p)
    memcpy (p, src, n * sizeof (float));
  return p;
}

static float *
transposed (const float *src, int rows, int cols)
{
  float *p = malloc ((size_t) rows * cols * sizeof (float));
  if (p)
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++)
        p[(size_t) c * rows + r] = src[(size_t) r * cols + c];
  return p;
}

int
mc_se_init (mc_se *se, int c, int rd, const float *w1, const float *b1,
    const float *w2, const float *b2)
{
  se->c = c;
  se->rd = rd;
  se->w1t = transposed (w1, rd, c);
  se->b1 = dup (b1, (size_t) rd);
  se->w2t = transposed (w2, c, rd);
  se->b2 = dup (b2, (size_t) c);
  if (!se->w1t || !se->b1 || !se->w2t || !se->b2) {
    mc_se_free (se);
    return -1;
  }
  return 0;
}

void
mc_se_free (mc_se *se)
{
  free (se->w1t);
  free (se->b1);
  free (se->w2t);
  free (se->b2);
  memset (se, 0, sizeof *se);
}

/* channels pooled per pass over the map */
#define SE_SUM_CHUNK 256

/* One image's gate: its three steps each split over the pool by outputs,
 * each output computed as on one thread (the same terms in the same order),
 * so the split changes no bit.  Split, the two threads stream the FC
 * weights (up to 512 KiB per layer, read once per forward) side by side. */
typedef struct {
  const mc_se *se;
  const float *img;
  int hw;
  float *gate, *hidden;
} gate_job;

/* gate[c] = mean of channel c over the map, c in [c0, c1).  The mean is
 * accumulated in double: the reference's float sum over up to 4096 pixels
 * differs from the exact mean by ~1e-7 relative, either way well inside
 * the golden tolerance.  Channels go in chunks whose sums fit on the stack
 * (no allocation per frame). */
static void
pool_channels (void *p, int64_t c0, int64_t c1, int worker)
{
  const gate_job *j = p;
  const int C = j->se->c;

  (void) worker;
  for (int64_t a = c0; a < c1; a += SE_SUM_CHUNK) {
    const int nc = c1 - a < SE_SUM_CHUNK ? (int) (c1 - a) : SE_SUM_CHUNK;
    double sum[SE_SUM_CHUNK] = { 0 };
    for (int px = 0; px < j->hw; px++)
      for (int ch = 0; ch < nc; ch++)
        sum[ch] += j->img[(size_t) px * C + a + ch];
    for (int ch = 0; ch < nc; ch++)
      j->gate[a + ch] = (float) (sum[ch] / j->hw);
  }
}

/* out[o] = bias[o] + Σ_i w[o][i]·in[i], o in [o0, o1): sums of weight rows
 * (wt is w transposed at init), so that the loops run across outputs and
 * vectorize while each output adds its terms in input order */
static void
fc_outputs (const float *wt, const float *bias, const float *in, int n_in,
    int n_out, float *out, int64_t o0, int64_t o1)
{
  memcpy (out + o0, bias + o0, (size_t) (o1 - o0) * sizeof (float));
  for (int i = 0; i < n_in; i++) {
    const float x = in[i];
    const float *w = wt + (size_t) i * n_out;
    for (int64_t o = o0; o < o1; o++)
      out[o] += w[o] * x;
  }
}

/* hidden[r] = relu(fc1(means)), r in [r0, r1) */
static void
reduce_units (void *p, int64_t r0, int64_t r1, int worker)
{
  const gate_job *j = p;
  const mc_se *se = j->se;

  (void) worker;
  fc_outputs (se->w1t, se->b1, j->gate, se->c, se->rd, j->hidden, r0, r1);
  for (int64_t r = r0; r < r1; r++)
    j->hidden[r] = j->hidden[r] > 0.0f ? j->hidden[r] : 0.0f;
}

/* gate[c] = sigmoid(fc2(hidden)), c in [c0, c1) (gate held the means, which
 * reduce_units has used up) */
static void
expand_units (void *p, int64_t c0, int64_t c1, int worker)
{
  const gate_job *j = p;
  const mc_se *se = j->se;

  (void) worker;
  fc_outputs (se->w2t, se->b2, j->hidden, se->rd, se->c, j->gate, c0, c1);
  for (int64_t ch = c0; ch < c1; ch++)
    j->gate[ch] = mc_sigmoid (j->gate[ch]);
}

typedef struct {
  float *x;
  const float *gate;
  int c;
  mc_act act;
} scale_job;

static void
scale_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const scale_job *j = p;
  for (int64_t r = r0; r < r1; r++) {
    float *row = j->x + r * j->c;
    for (int ch = 0; ch < j->c; ch++)
      row[ch] *= j->gate[ch];
    if (j->act == MC_ACT_GELU)
      mc_gelu_inplace (row, (size_t) j->c);
  }
}

/* outputs per chunk of the gate's steps: whole cache lines of gate, hidden
 * and the weight rows */
#define SE_GRAIN 16

void
mc_se_forward (mc_threadpool *pool, const mc_se *se, float *x, int n, int hw,
    mc_act act, float *scratch)
{
  const int C = se->c;

  for (int b = 0; b < n; b++) {
    float *img = x + (size_t) b * hw * C;
    gate_job g = { se, img, hw, scratch, scratch + C };
    mc_parallel_for (pool, C, SE_GRAIN, pool_channels, &g);
    mc_parallel_for (pool, se->rd, SE_GRAIN, reduce_units, &g);
    mc_parallel_for (pool, C, SE_GRAIN, expand_units, &g);
    scale_job j = { img, g.gate, C, act };
    /* chunks of at least ~8K values (a hand-off costs ~10 µs): the 8×8
     * maps of stage 4 still split over two threads */
    mc_parallel_for (pool, hw, C >= 8192 ? 1 : 8192 / C, scale_rows, &j);
  }
}
