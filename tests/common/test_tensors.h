/* test_tensors.h — reading reference tensors from a golden file, for tests
 * that link the engine (header-only). */
#ifndef MC_TEST_TENSORS_H
#define MC_TEST_TENSORS_H

#include <glib.h>
#include <stdint.h>

#include "io/tensor_file.h"

/* The tensor name of f as floats (g_free them), its element count in
 * *numel when numel is not NULL; NULL when f has no such tensor. */
static inline float *
mc_test_read_f32 (const mc_tensor_file *f, const char *name, int64_t *numel)
{
  const mc_tensor_info *t = f ? mc_tensor_file_find (f, name) : NULL;
  float *v;

  if (!t)
    return NULL;
  v = g_new (float, (gsize) mc_tensor_numel (t));
  mc_tensor_to_f32 (t, v);
  if (numel)
    *numel = mc_tensor_numel (t);
  return v;
}

#endif
