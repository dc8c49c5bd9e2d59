/* attention.c — see attention.h.  Work items are (image, head, query row
 * block); each worker keeps its scaled query and score row in scratch. */
#include "attention.h"

#include <math.h>
#include <string.h>

size_t
mc_attention_scratch_size (int T, int head_dim, int n_threads)
{
  return (size_t) n_threads * ((size_t) T + head_dim);
}

typedef struct {
  const float *qkv;
  float *out;
  float *scratch;
  int T, C, heads, d, causal;
  float scale;
} attn_job;

static void
attn_rows (void *p, int64_t i0, int64_t i1, int worker)
{
  const attn_job *j = p;
  const int T = j->T, C = j->C, d = j->d;
  float *q = j->scratch + (size_t) worker * (T + d);
  float *s = q + d;

  for (int64_t item = i0; item < i1; item++) {
    const int t = (int) (item % T);
    const int h = (int) ((item / T) % j->heads);
    const int b = (int) (item / ((int64_t) T * j->heads));
    const float *base = j->qkv + (size_t) b * T * 3 * C;
    const float *qrow = base + (size_t) t * 3 * C + h * d;
    const int nk = j->causal ? t + 1 : T;
    float mx = -INFINITY, sum = 0.0f;
    float *o = j->out + ((size_t) b * T + t) * C + h * d;

    for (int e = 0; e < d; e++)
      q[e] = qrow[e] * j->scale;
    for (int k = 0; k < nk; k++) {
      const float *krow = base + (size_t) k * 3 * C + C + h * d;
      float acc = 0.0f;
      for (int e = 0; e < d; e++)
        acc += q[e] * krow[e];
      s[k] = acc;
      if (acc > mx)
        mx = acc;
    }
    for (int k = 0; k < nk; k++) {
      s[k] = expf (s[k] - mx);
      sum += s[k];
    }
    memset (o, 0, (size_t) d * sizeof (float));
    for (int k = 0; k < nk; k++) {
      const float pk = s[k] / sum;
      const float *vrow = base + (size_t) k * 3 * C + 2 * C + h * d;
      for (int e = 0; e < d; e++)
        o[e] += pk * vrow[e];
    }
  }
}

void
mc_attention (mc_threadpool *pool, const float *qkv, int n, int T, int C,
    int heads, int causal, float *out, float *scratch)
{
  attn_job j = { qkv, out, scratch, T, C, heads, C / heads, causal,
    (float) pow ((double) (C / heads), -0.5) };
  mc_parallel_for (pool, (int64_t) n * heads * T, 16, attn_rows, &j);
}
