/* tensor_file.h — a read-only table of named tensors in a memory-mapped file.
 *
 * Two formats fill the same table: safetensors (io/safetensors.c) and the zip
 * checkpoints torch.save writes (io/torch_checkpoint.c).  Tensor data points
 * into the mapping; nothing is converted here (see model/weights.h for the
 * F32 view with shape checks).
 */
#ifndef MC_IO_TENSOR_FILE_H
#define MC_IO_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "mobileclip.h"

#define MC_MAX_DIMS 8

typedef enum {
  MC_DTYPE_F32,
  MC_DTYPE_F16,
  MC_DTYPE_BF16,
  MC_DTYPE_F64,
  MC_DTYPE_I64,
  MC_DTYPE_I32,
  MC_DTYPE_I16,
  MC_DTYPE_I8,
  MC_DTYPE_U8,
  MC_DTYPE_BOOL,
} mc_dtype;

size_t mc_dtype_size (mc_dtype dtype);
const char *mc_dtype_name (mc_dtype dtype);   /* safetensors spelling: "F32" */

typedef struct {
  char *name;
  mc_dtype dtype;
  int ndim;
  int64_t shape[MC_MAX_DIMS];
  const void *data;      /* into the mapping; contiguous, row-major */
  size_t nbytes;         /* numel × dtype size */
} mc_tensor_info;

typedef struct mc_tensor_file mc_tensor_file;

/* Opens a file and reads its table; the format is told by its first bytes
 * ("PK\3\4" → torch zip checkpoint, otherwise safetensors).  Every offset,
 * size, dtype and shape is validated here, so data is safe to read. */
mc_status mc_tensor_file_open (const char *path, mc_tensor_file **out, mc_error *err);
void mc_tensor_file_close (mc_tensor_file *file);

const char *mc_tensor_file_path (const mc_tensor_file *file);
const char *mc_tensor_file_format (const mc_tensor_file *file); /* "safetensors" | "torch" */
size_t mc_tensor_file_count (const mc_tensor_file *file);
const mc_tensor_info *mc_tensor_file_at (const mc_tensor_file *file, size_t i);
const mc_tensor_info *mc_tensor_file_find (const mc_tensor_file *file, const char *name);
/* The raw "__metadata__" object of a safetensors header as JSON text, or NULL. */
const char *mc_tensor_file_metadata (const mc_tensor_file *file);

int64_t mc_tensor_numel (const mc_tensor_info *t);
/* Copies t into dst as F32 (F32/F16/BF16/F64/integers upcast or converted). */
void mc_tensor_to_f32 (const mc_tensor_info *t, float *dst);
/* "[64, 3, 3, 3]" into buf. */
const char *mc_shape_str (int ndim, const int64_t *shape, char *buf, size_t len);

/* --- building a table (used by the format readers) --- */

/* The table owns the mapping and the entries; readers call these. */
mc_tensor_file *mc_tensor_file_new (const char *path, const char *format,
    void *map, size_t map_size);
mc_tensor_info *mc_tensor_file_add (mc_tensor_file *file, const char *name);
void mc_tensor_file_set_metadata (mc_tensor_file *file, const char *json);
/* Sorts the table for lookup; fails (names the tensor) on a duplicate name. */
mc_status mc_tensor_file_finish (mc_tensor_file *file, mc_error *err);
/* Frees a half-built table but leaves the mapping to the caller (parsers call
 * this on failure; mc_tensor_file_open then unmaps). */
void mc_tensor_file_discard (mc_tensor_file *file);

/* Maps a whole file read-only. */
mc_status mc_map_file (const char *path, void **map, size_t *size, mc_error *err);

/* Format readers over an existing mapping (the table takes the mapping). */
mc_status mc_safetensors_parse (const char *path, void *map, size_t size,
    mc_tensor_file **out, mc_error *err);
mc_status mc_torch_checkpoint_parse (const char *path, void *map, size_t size,
    mc_tensor_file **out, mc_error *err);

#endif
