/* safetensors.c — the safetensors format: an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
 * {str: str}}, then the raw data.  Everything the header claims is checked
 * against the file before any tensor is exposed. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/error.h"

/* A header larger than this is refused rather than parsed (the format's own
 * reference implementation uses the same 100 MB bound). */
#define MAX_HEADER_BYTES (100u * 1024 * 1024)

static int
parse_dtype (const char *s, mc_dtype *out)
{
  static const struct { const char *name; mc_dtype dtype; } table[] = {
    { "F32", MC_DTYPE_F32 }, { "F16", MC_DTYPE_F16 }, { "BF16", MC_DTYPE_BF16 },
    { "F64", MC_DTYPE_F64 }, { "I64", MC_DTYPE_I64 }, { "I32", MC_DTYPE_I32 },
    { "I16", MC_DTYPE_I16 }, { "I8", MC_DTYPE_I8 }, { "U8", MC_DTYPE_U8 },
    { "BOOL", MC_DTYPE_BOOL },
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp (s, table[i].name)) {
      *out = table[i].dtype;
      return 1;
    }
  return 0;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int
json_uint (const cJSON *item, uint64_t *out)
{
  double v;
  if (!cJSON_IsNumber (item))
    return 0;
  v = item->valuedouble;
  if (!(v >= 0 && v <= 9007199254740992.0) || v != (double) (uint64_t) v)
    return 0;
  *out = (uint64_t) v;
  return 1;
}

static mc_status
parse_entry (const char *path, const cJSON *item, const uint8_t *data,
    uint64_t data_size, mc_tensor_file *file, mc_error *err)
{
  const char *name = item->string;
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive (item, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive (item, "shape");
  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive (item, "data_offsets");
  mc_tensor_info *t;
  mc_dtype dt;
  uint64_t begin, end, numel = 1;
  int ndim;

  if (!cJSON_IsObject (item))
    return mc_err (err, MC_ERR_FORMAT, "%s: header entry '%s' is not an object", path, name);
  if (!cJSON_IsString (dtype) || !parse_dtype (dtype->valuestring, &dt))
    return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype '%s'", path, name,
        cJSON_IsString (dtype) ? dtype->valuestring : "(missing)");
  if (!cJSON_IsArray (shape) || (ndim = cJSON_GetArraySize (shape)) > MC_MAX_DIMS)
    return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' has no valid shape", path, name);
  if (!cJSON_IsArray (offsets) || cJSON_GetArraySize (offsets) != 2
      || !json_uint (cJSON_GetArrayItem (offsets, 0), &begin)
      || !json_uint (cJSON_GetArrayItem (offsets, 1), &end) || end < begin)
    return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' has invalid data_offsets", path, name);

  t = mc_tensor_file_add (file, name);
  if (!t)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
  t->dtype = dt;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    uint64_t d;
    if (!json_uint (cJSON_GetArrayItem (shape, i), &d) || d > (1ull << 40))
      return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' has an invalid dimension", path, name);
    t->shape[i] = (int64_t) d;
    if (d && numel > (1ull << 50) / d)
      return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' is impossibly large", path, name);
    numel *= d;
  }
  if (end > data_size)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: tensor '%s' ends at byte %llu of a %llu-byte data section (file truncated?)",
        path, name, (unsigned long long) end, (unsigned long long) data_size);
  if (end - begin != numel * mc_dtype_size (dt))
    return mc_err (err, MC_ERR_FORMAT,
        "%s: tensor '%s' holds %llu bytes but its shape and dtype need %llu",
        path, name, (unsigned long long) (end - begin),
        (unsigned long long) (numel * mc_dtype_size (dt)));
  t->data = data + begin;
  t->nbytes = (size_t) (end - begin);
  return MC_OK;
}

mc_status
mc_safetensors_parse (const char *path, void *map, size_t size,
    mc_tensor_file **out, mc_error *err)
{
  const uint8_t *bytes = map;
  uint64_t header_len = 0;
  char *header;
  cJSON *root;
  mc_tensor_file *file;
  mc_status st = MC_OK;

  if (size < 8)
    return mc_err (err, MC_ERR_FORMAT, "%s: too short for a safetensors file (%zu bytes)", path, size);
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | bytes[i];
  if (header_len > size - 8)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: header length %llu runs past the end of the %zu-byte file (truncated or not safetensors)",
        path, (unsigned long long) header_len, size);
  if (header_len > MAX_HEADER_BYTES || header_len < 2)
    return mc_err (err, MC_ERR_FORMAT, "%s: implausible header length %llu", path,
        (unsigned long long) header_len);

  header = malloc (header_len + 1);
  if (!header)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
  memcpy (header, bytes + 8, header_len);
  header[header_len] = '\0';
  root = cJSON_ParseWithLength (header, header_len);
  free (header);
  if (!cJSON_IsObject (root)) {
    cJSON_Delete (root);
    return mc_err (err, MC_ERR_FORMAT, "%s: the header is not a JSON object", path);
  }

  file = mc_tensor_file_new (path, "safetensors", map, size);
  if (!file) {
    cJSON_Delete (root);
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
  }
  for (cJSON *item = root->child; item && st == MC_OK; item = item->next) {
    if (!strcmp (item->string, "__metadata__")) {
      char *meta = cJSON_PrintUnformatted (item);
      mc_tensor_file_set_metadata (file, meta);
      free (meta);
      continue;
    }
    st = parse_entry (path, item, bytes + 8 + header_len, size - 8 - header_len, file, err);
  }
  cJSON_Delete (root);
  if (st == MC_OK)
    st = mc_tensor_file_finish (file, err);
  if (st != MC_OK) {
    mc_tensor_file_discard (file);
    return st;
  }
  *out = file;
  return MC_OK;
}

static int
compare_out (const void *a, const void *b)
{
  return strcmp ((*(const mc_tensor_out *const *) a)->name, (*(const mc_tensor_out *const *) b)->name);
}

static int
write_all (int fd, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  while (len) {
    ssize_t w = write (fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    len -= (size_t) w;
  }
  return 0;
}

mc_status
mc_safetensors_write (const char *path, const mc_tensor_out *tensors,
    size_t n, const char *const *meta_keys, const char *const *meta_values,
    size_t n_meta, mc_error *err)
{
  const mc_tensor_out **order = calloc (n ? n : 1, sizeof *order);
  cJSON *root = cJSON_CreateObject ();
  char *json = NULL, *tmp = NULL;
  uint64_t offset = 0;
  size_t json_len, padded;
  uint8_t len_bytes[8];
  mc_status st = MC_OK;
  int fd = -1;

  if (!order || !root) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  if (n_meta) {
    cJSON *meta = cJSON_AddObjectToObject (root, "__metadata__");
    for (size_t i = 0; i < n_meta; i++)
      cJSON_AddStringToObject (meta, meta_keys[i], meta_values[i]);
  }
  for (size_t i = 0; i < n; i++)
    order[i] = &tensors[i];
  qsort (order, n, sizeof *order, compare_out);
  for (size_t i = 0; i < n; i++) {
    const mc_tensor_out *t = order[i];
    cJSON *e = cJSON_AddObjectToObject (root, t->name);
    cJSON *shape = cJSON_AddArrayToObject (e, "shape");
    cJSON *offs = cJSON_AddArrayToObject (e, "data_offsets");
    uint64_t numel = 1;
    cJSON_AddStringToObject (e, "dtype", mc_dtype_name (t->dtype));
    for (int d = 0; d < t->ndim; d++) {
      cJSON_AddItemToArray (shape, cJSON_CreateNumber ((double) t->shape[d]));
      numel *= (uint64_t) t->shape[d];
    }
    cJSON_AddItemToArray (offs, cJSON_CreateNumber ((double) offset));
    offset += numel * mc_dtype_size (t->dtype);
    cJSON_AddItemToArray (offs, cJSON_CreateNumber ((double) offset));
  }
  json = cJSON_PrintUnformatted (root);
  if (!json) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  json_len = strlen (json);
  padded = (json_len + 7) & ~(size_t) 7;
  for (int i = 0; i < 8; i++)
    len_bytes[i] = (uint8_t) ((uint64_t) padded >> (8 * i));

  tmp = malloc (strlen (path) + 16);
  if (!tmp) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  sprintf (tmp, "%s.tmp.XXXXXX", path);
  fd = mkstemp (tmp);
  if (fd < 0) {
    st = mc_err (err, MC_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror (errno));
    goto out;
  }
  if (write_all (fd, len_bytes, 8) || write_all (fd, json, json_len)
      || write_all (fd, "        ", padded - json_len))
    goto write_failed;
  for (size_t i = 0; i < n; i++) {
    const mc_tensor_out *t = order[i];
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
      numel *= (uint64_t) t->shape[d];
    if (write_all (fd, t->data, numel * mc_dtype_size (t->dtype)))
      goto write_failed;
  }
  if (fchmod (fd, 0644) != 0 || fsync (fd) != 0 || close (fd) != 0) {
    fd = -1;
    goto write_failed;
  }
  fd = -1;
  if (rename (tmp, path) != 0)
    goto write_failed;
  goto out;

write_failed:
  st = mc_err (err, MC_ERR_IO, "%s: write failed: %s", path, strerror (errno));
  if (fd >= 0)
    close (fd);
  unlink (tmp);
out:
  free (tmp);
  free (json);
  cJSON_Delete (root);
  free (order);
  return st;
}
