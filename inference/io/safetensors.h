/* safetensors.h — writing safetensors files (reading is mc_tensor_file_open). */
#ifndef MC_IO_SAFETENSORS_H
#define MC_IO_SAFETENSORS_H

#include "tensor_file.h"

typedef struct {
  const char *name;
  mc_dtype dtype;
  int ndim;
  int64_t shape[MC_MAX_DIMS];
  const void *data;          /* numel × dtype size bytes, row-major */
} mc_tensor_out;

/* Writes tensors (any order; stored sorted by name) and an optional
 * "__metadata__" given as string pairs keys[i] → values[i].  The file is
 * written to a temporary name beside `path`, synced and renamed, so readers
 * never see half a file. */
mc_status mc_safetensors_write (const char *path, const mc_tensor_out *tensors,
    size_t n, const char *const *meta_keys, const char *const *meta_values,
    size_t n_meta, mc_error *err);

#endif
