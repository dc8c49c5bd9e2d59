/* zero_shot.c — cosine similarities, softmax and ranking: the one place the
 * CLI and the element turn embeddings into labels. */
#include "mobileclip.h"

#include <math.h>
#include <stdlib.h>

static double
norm (const float *v, int d)
{
  double s = 0.0;
  for (int i = 0; i < d; i++)
    s += (double) v[i] * v[i];
  return sqrt (s);
}

static int
by_prob (const void *a, const void *b)
{
  const mc_score *x = a, *y = b;
  if (x->prob != y->prob)
    return x->prob < y->prob ? 1 : -1;
  return x->label - y->label;   /* ties keep label order */
}

void
mc_zero_shot (const float *image, const float *text, int n, int d, float scale,
    mc_score *out)
{
  const double ni = norm (image, d);
  double mx = -INFINITY, sum = 0.0;

  for (int l = 0; l < n; l++) {
    const float *t = text + (size_t) l * d;
    const double nt = norm (t, d);
    double dot = 0.0;
    for (int i = 0; i < d; i++)
      dot += (double) image[i] * t[i];
    out[l].label = l;
    out[l].cosine = (ni > 0 && nt > 0) ? (float) (dot / (ni * nt)) : 0.0f;
    if (scale * out[l].cosine > mx)
      mx = scale * out[l].cosine;
  }
  for (int l = 0; l < n; l++) {
    double e = exp (scale * out[l].cosine - mx);
    out[l].prob = (float) e;
    sum += e;
  }
  for (int l = 0; l < n; l++)
    out[l].prob = (float) (out[l].prob / sum);
  qsort (out, (size_t) n, sizeof *out, by_prob);
}
