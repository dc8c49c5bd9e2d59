/* vec_portable.h — the vector primitives every portable kernel template
 * instance uses: plain GCC vectors of 4 floats (SSE2 on x86-64, NEON on
 * arm64, scalar code elsewhere).  No FMA is assumed: v_fma rounds twice, each
 * step its own statement so that no compiler contracts it.  Kernel files add
 * the primitives only they need. */
#ifndef MC_OPS_VEC_PORTABLE_H
#define MC_OPS_VEC_PORTABLE_H

#include <string.h>

typedef float vf __attribute__ ((vector_size (16)));
typedef int vi __attribute__ ((vector_size (16)));

static inline vf
v_load (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v_store (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

static inline vf
v_set1 (float x)
{
  return (vf) { x, x, x, x };
}

static inline vf
v_fma (vf a, vf b, vf c)
{
  const vf ab = a * b;
  return ab + c;
}

static inline vf
v_select_gt (vf x, vf y, vf a, vf b)
{
  const vi gt = x > y;
  return (vf) (((vi) a & gt) | ((vi) b & ~gt));
}

static inline vf
v_max (vf a, vf b)
{
  return v_select_gt (a, b, a, b);
}

#endif
