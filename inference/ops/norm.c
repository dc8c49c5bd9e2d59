/* norm.c — see norm.h. */
#include "norm.h"

#include <math.h>
#include <stddef.h>

typedef struct {
  int D, ldx, ldo;
  const float *x, *gamma, *beta;
  float eps;
  float *out;
} ln_job;

static void
ln_rows (void *p, int64_t r0, int64_t r1, int worker)
{
  const ln_job *j = p;
  const int D = j->D;

  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + (size_t) r * j->ldx;
    float *o = j->out + (size_t) r * j->ldo;
    /* two passes in double: the mean first, then the centred squares, so
     * rows with a large common offset lose nothing to cancellation */
    double s = 0.0, v = 0.0;
    float mean, inv;
    for (int i = 0; i < D; i++)
      s += x[i];
    s /= D;
    for (int i = 0; i < D; i++) {
      double c = x[i] - s;
      v += c * c;
    }
    mean = (float) s;
    inv = (float) (1.0 / sqrt (v / D + (double) j->eps));
    for (int i = 0; i < D; i++)
      o[i] = (x[i] - mean) * inv;
    if (j->gamma)
      for (int i = 0; i < D; i++)
        o[i] *= j->gamma[i];
    if (j->beta)
      for (int i = 0; i < D; i++)
        o[i] += j->beta[i];
  }
}

void
mc_layer_norm (mc_threadpool *pool, int rows, int D, const float *x, int ldx,
    const float *gamma, const float *beta, float eps, float *out, int ldo)
{
  ln_job j = { D, ldx, ldo, x, gamma, beta, eps, out };
  /* a row is a few hundred flops: keep chunks large enough to be worth a
   * thread wake-up */
  mc_parallel_for (pool, rows, 16, ln_rows, &j);
}
