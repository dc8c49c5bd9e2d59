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

void
mc_se_forward (mc_threadpool *pool, const mc_se *se, float *x, int n, int hw,
    mc_act act, float *scratch)
{
  const int C = se->c, R = se->rd;
  float *gate = scratch, *hidden = scratch + C;

  for (int b = 0; b < n; b++) {
    float *img = x + (size_t) b * hw * C;
    /* the pooled mean is accumulated in double: the reference's float sum
     * over up to 4096 pixels differs from the exact mean by ~1e-7 relative,
     * either way well inside the golden tolerance.  Channels go in chunks
     * whose sums fit on the stack (no allocation per frame). */
    for (int c0 = 0; c0 < C; c0 += SE_SUM_CHUNK) {
      const int nc = C - c0 < SE_SUM_CHUNK ? C - c0 : SE_SUM_CHUNK;
      double sum[SE_SUM_CHUNK] = { 0 };
      for (int p = 0; p < hw; p++)
        for (int ch = 0; ch < nc; ch++)
          sum[ch] += img[(size_t) p * C + c0 + ch];
      for (int ch = 0; ch < nc; ch++)
        gate[c0 + ch] = (float) (sum[ch] / hw);
    }
    /* both layers as sums of weight rows (transposed at init): each
     * output still adds its terms in input order, as a dot product would,
     * but the loops run across outputs and vectorize */
    memcpy (hidden, se->b1, (size_t) R * sizeof (float));
    for (int ch = 0; ch < C; ch++) {
      const float g = gate[ch];
      const float *w = se->w1t + (size_t) ch * R;
      for (int r = 0; r < R; r++)
        hidden[r] += w[r] * g;
    }
    for (int r = 0; r < R; r++)
      hidden[r] = hidden[r] > 0.0f ? hidden[r] : 0.0f;
    memcpy (gate, se->b2, (size_t) C * sizeof (float));
    for (int r = 0; r < R; r++) {
      const float hr = hidden[r];
      const float *w = se->w2t + (size_t) r * C;
      for (int ch = 0; ch < C; ch++)
        gate[ch] += w[ch] * hr;
    }
    for (int ch = 0; ch < C; ch++)
      gate[ch] = mc_sigmoid (gate[ch]);
    scale_job j = { img, gate, C, act };
    /* chunks of at least ~8K values (a hand-off costs ~10 µs): the 8×8
     * maps of stage 4 still split over two threads */
    mc_parallel_for (pool, hw, C >= 8192 ? 1 : 8192 / C, scale_rows, &j);
  }
}
