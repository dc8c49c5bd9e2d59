/* tensor_file.c — the table of named tensors shared by the format readers. */
#include "tensor_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/error.h"

struct mc_tensor_file {
  char *path;
  const char *format;
  void *map;
  size_t map_size;
  mc_tensor_info *tensors;
  size_t count, capacity;
  char *metadata;
};

size_t
mc_dtype_size (mc_dtype dtype)
{
  switch (dtype) {
    case MC_DTYPE_F64: case MC_DTYPE_I64: return 8;
    case MC_DTYPE_F32: case MC_DTYPE_I32: return 4;
    case MC_DTYPE_F16: case MC_DTYPE_BF16: case MC_DTYPE_I16: return 2;
    case MC_DTYPE_I8: case MC_DTYPE_U8: case MC_DTYPE_BOOL: return 1;
  }
  return 0;
}

const char *
mc_dtype_name (mc_dtype dtype)
{
  switch (dtype) {
    case MC_DTYPE_F32: return "F32";
    case MC_DTYPE_F16: return "F16";
    case MC_DTYPE_BF16: return "BF16";
    case MC_DTYPE_F64: return "F64";
    case MC_DTYPE_I64: return "I64";
    case MC_DTYPE_I32: return "I32";
    case MC_DTYPE_I16: return "I16";
    case MC_DTYPE_I8: return "I8";
    case MC_DTYPE_U8: return "U8";
    case MC_DTYPE_BOOL: return "BOOL";
  }
  return "?";
}

mc_status
mc_map_file (const char *path, void **map, size_t *size, mc_error *err)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  void *p;

  if (fd < 0)
    return mc_err (err, MC_ERR_IO, "%s: cannot open: %s", path, strerror (errno));
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    return mc_err (err, MC_ERR_IO, "%s: not a regular file", path);
  }
  if (st.st_size == 0) {
    close (fd);
    return mc_err (err, MC_ERR_FORMAT, "%s: file is empty", path);
  }
  p = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (p == MAP_FAILED)
    return mc_err (err, MC_ERR_IO, "%s: cannot map: %s", path, strerror (errno));
  *map = p;
  *size = (size_t) st.st_size;
  return MC_OK;
}

mc_tensor_file *
mc_tensor_file_new (const char *path, const char *format, void *map, size_t map_size)
{
  mc_tensor_file *f = calloc (1, sizeof *f);
  if (!f)
    return NULL;
  f->path = strdup (path);
  f->format = format;
  f->map = map;
  f->map_size = map_size;
  if (!f->path) {
    free (f);
    return NULL;
  }
  return f;
}

mc_tensor_info *
mc_tensor_file_add (mc_tensor_file *f, const char *name)
{
  mc_tensor_info *t;
  if (f->count == f->capacity) {
    size_t cap = f->capacity ? f->capacity * 2 : 64;
    mc_tensor_info *n = realloc (f->tensors, cap * sizeof *n);
    if (!n)
      return NULL;
    f->tensors = n;
    f->capacity = cap;
  }
  t = &f->tensors[f->count];
  memset (t, 0, sizeof *t);
  t->name = strdup (name);
  if (!t->name)
    return NULL;
  f->count++;
  return t;
}

void
mc_tensor_file_set_metadata (mc_tensor_file *f, const char *json)
{
  free (f->metadata);
  f->metadata = json ? strdup (json) : NULL;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (((const mc_tensor_info *) a)->name, ((const mc_tensor_info *) b)->name);
}

mc_status
mc_tensor_file_finish (mc_tensor_file *f, mc_error *err)
{
  qsort (f->tensors, f->count, sizeof *f->tensors, compare_names);
  for (size_t i = 1; i < f->count; i++)
    if (!strcmp (f->tensors[i - 1].name, f->tensors[i].name))
      return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' appears twice",
          f->path, f->tensors[i].name);
  return MC_OK;
}

mc_status
mc_tensor_file_open (const char *path, mc_tensor_file **out, mc_error *err)
{
  void *map;
  size_t size;
  mc_status st;

  *out = NULL;
  st = mc_map_file (path, &map, &size, err);
  if (st != MC_OK)
    return st;
  if (size >= 4 && !memcmp (map, "PK\3\4", 4))
    st = mc_torch_checkpoint_parse (path, map, size, out, err);
  else
    st = mc_safetensors_parse (path, map, size, out, err);
  /* on failure the parser has not kept the mapping */
  if (st != MC_OK)
    munmap (map, size);
  return st;
}

void
mc_tensor_file_close (mc_tensor_file *f)
{
  if (!f)
    return;
  for (size_t i = 0; i < f->count; i++)
    free (f->tensors[i].name);
  free (f->tensors);
  free (f->metadata);
  if (f->map)
    munmap (f->map, f->map_size);
  free (f->path);
  free (f);
}

/* Frees a table without unmapping (for parsers that fail half-way: the
 * caller of the parser unmaps). */
void
mc_tensor_file_discard (mc_tensor_file *f)
{
  if (f)
    f->map = NULL;
  mc_tensor_file_close (f);
}

const char *mc_tensor_file_path (const mc_tensor_file *f) { return f->path; }
const char *mc_tensor_file_format (const mc_tensor_file *f) { return f->format; }
size_t mc_tensor_file_count (const mc_tensor_file *f) { return f->count; }
const char *mc_tensor_file_metadata (const mc_tensor_file *f) { return f->metadata; }

const mc_tensor_info *
mc_tensor_file_at (const mc_tensor_file *f, size_t i)
{
  return i < f->count ? &f->tensors[i] : NULL;
}

const mc_tensor_info *
mc_tensor_file_find (const mc_tensor_file *f, const char *name)
{
  mc_tensor_info key;
  key.name = (char *) name;
  return bsearch (&key, f->tensors, f->count, sizeof *f->tensors, compare_names);
}

int64_t
mc_tensor_numel (const mc_tensor_info *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

static float
half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  float f;

  if (exp == 0) {
    /* zero or subnormal: mant · 2^-24, exact in float */
    f = ldexpf ((float) mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

void
mc_tensor_to_f32 (const mc_tensor_info *t, float *dst)
{
  int64_t n = mc_tensor_numel (t);
  const uint8_t *p = t->data;

  for (int64_t i = 0; i < n; i++) {
    switch (t->dtype) {
      case MC_DTYPE_F32: { float v; memcpy (&v, p + 4 * i, 4); dst[i] = v; break; }
      case MC_DTYPE_F16: { uint16_t v; memcpy (&v, p + 2 * i, 2); dst[i] = half_to_float (v); break; }
      case MC_DTYPE_BF16: {
        uint16_t v; uint32_t bits; float f;
        memcpy (&v, p + 2 * i, 2);
        bits = (uint32_t) v << 16;
        memcpy (&f, &bits, 4);
        dst[i] = f;
        break;
      }
      case MC_DTYPE_F64: { double v; memcpy (&v, p + 8 * i, 8); dst[i] = (float) v; break; }
      case MC_DTYPE_I64: { int64_t v; memcpy (&v, p + 8 * i, 8); dst[i] = (float) v; break; }
      case MC_DTYPE_I32: { int32_t v; memcpy (&v, p + 4 * i, 4); dst[i] = (float) v; break; }
      case MC_DTYPE_I16: { int16_t v; memcpy (&v, p + 2 * i, 2); dst[i] = (float) v; break; }
      case MC_DTYPE_I8: dst[i] = (float) (int8_t) p[i]; break;
      case MC_DTYPE_U8: case MC_DTYPE_BOOL: dst[i] = (float) p[i]; break;
    }
  }
}

const char *
mc_shape_str (int ndim, const int64_t *shape, char *buf, size_t len)
{
  size_t off = 0;
  off += (size_t) snprintf (buf + off, len - off, "[");
  for (int i = 0; i < ndim && off < len; i++)
    off += (size_t) snprintf (buf + off, len - off, i ? ", %lld" : "%lld", (long long) shape[i]);
  if (off < len)
    snprintf (buf + off, len - off, "]");
  return buf;
}
