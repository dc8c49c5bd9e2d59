/* torch_checkpoint.c — see torch_checkpoint.h.
 *
 * One walk serves both entry points: the zip entry list (recovered from the
 * local headers when the file lost its central directory), the pickle, the
 * state dict inside it, and for each tensor its storage entry.  The listing
 * records what is there; mc_torch_checkpoint_parse then insists that all of
 * it is there before it fills a tensor table.
 */
#include "torch_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/pickle.h"
#include "io/zip_reader.h"
#include "runtime/error.h"

typedef unsigned long long ull;

static void
clear_entries (mc_torch_listing *l)
{
  for (size_t i = 0; i < l->count; i++) {
    free (l->entries[i].name);
    free (l->entries[i].storage_key);
  }
  free (l->entries);
  free (l->root);
  l->entries = NULL;
  l->root = NULL;
  l->count = 0;
}

void
mc_torch_listing_clear (mc_torch_listing *l)
{
  if (!l)
    return;
  clear_entries (l);
  if (l->map)
    munmap (l->map, l->map_size);
  memset (l, 0, sizeof *l);
}

/* The folder every entry lives in, taken from the first entry as torch does
 * (it is the archive name chosen at save time, not the file name). */
static mc_status
find_root (const char *path, const mc_zip *zip, char **root, mc_error *err)
{
  const char *first, *slash;
  if (zip->count == 0)
    return mc_err (err, MC_ERR_FORMAT, "%s: the zip archive is empty", path);
  first = zip->entries[0].name;
  slash = strchr (first, '/');
  if (!slash || slash == first)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: the first zip entry '%s' is not inside a folder (not a torch checkpoint)",
        path, first);
  *root = strndup (first, (size_t) (slash - first));
  if (!*root)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
  return MC_OK;
}

static const mc_zip_entry *
find_in_root (const mc_zip *zip, const char *root, const char *rest)
{
  char name[1024];
  if ((size_t) snprintf (name, sizeof name, "%s/%s", root, rest) >= sizeof name)
    return NULL;
  return mc_zip_find (zip, name);
}

static mc_status
check_stored (const char *path, const mc_zip_entry *e, mc_error *err)
{
  if (e->flags & 1)
    return mc_err (err, MC_ERR_UNSUPPORTED, "%s: zip entry '%s' is encrypted", path, e->name);
  if (e->method != 0)
    return mc_err (err, MC_ERR_UNSUPPORTED,
        "%s: zip entry '%s' is compressed (method %u); torch checkpoints store entries "
        "uncompressed, so that their data can be used in place", path, e->name, e->method);
  return MC_OK;
}

/* The dict that holds the tensors. */
static mc_status
find_state_dict (const char *path, const mc_py_value *top, const mc_py_value **out,
    mc_error *err)
{
  static const char *const wrappers[] = { "state_dict", "model" };
  if (top->type != MC_PY_DICT)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: the checkpoint holds a %s, not a dict of tensors", path,
        mc_py_type_name (top->type));
  for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++) {
    const mc_py_value *inner = mc_py_dict_get (top, wrappers[i]);
    if (inner && inner->type == MC_PY_DICT) {
      *out = inner;
      return MC_OK;
    }
  }
  *out = top;
  return MC_OK;
}

/* Fills e from a rebuilt tensor: shape, dtype, storage, and where its data
 * is.  Only structural problems are errors here; absent data is recorded. */
static mc_status
describe_tensor (const char *path, const char *root, const mc_zip *zip,
    const uint8_t *map, const mc_py_value *t, mc_torch_entry *e, mc_error *err)
{
  const mc_py_value *storage = t->u.tensor.storage;
  size_t item = mc_dtype_size (storage->u.storage.dtype);
  int64_t numel = 1, expected_stride = 1;
  uint64_t storage_bytes, need_elems;
  const mc_zip_entry *ze;
  char rest[512];
  mc_status st;

  e->dtype = storage->u.storage.dtype;
  e->ndim = t->u.tensor.ndim;
  e->storage_offset = t->u.tensor.offset;
  e->storage_key = strdup (storage->u.storage.key);
  if (!e->storage_key)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);

  for (int d = 0; d < e->ndim; d++) {
    e->shape[d] = t->u.tensor.size[d];
    if (e->shape[d] && numel > (int64_t) (SIZE_MAX / 2 / item) / e->shape[d])
      return mc_err (err, MC_ERR_FORMAT, "%s: tensor '%s' is impossibly large", path, e->name);
    numel *= e->shape[d];
  }
  e->nbytes = (size_t) numel * item;

  /* The table promises contiguous row-major data.  A dimension of size 1
   * may carry any stride (torch does not normalize it). */
  if (numel > 0) {
    for (int d = e->ndim - 1; d >= 0; d--) {
      if (e->shape[d] != 1 && t->u.tensor.stride[d] != expected_stride) {
        char shape[160], stride[160];
        return mc_err (err, MC_ERR_UNSUPPORTED,
            "%s: tensor '%s' is not contiguous (shape %s, stride %s); save it after "
            ".contiguous()", path, e->name,
            mc_shape_str (e->ndim, e->shape, shape, sizeof shape),
            mc_shape_str (e->ndim, t->u.tensor.stride, stride, sizeof stride));
      }
      expected_stride *= e->shape[d];
    }
  }

  /* The tensor must lie inside its storage as the pickle declares it. */
  need_elems = (uint64_t) e->storage_offset + (uint64_t) numel;
  if (need_elems < (uint64_t) numel || need_elems > (uint64_t) storage->u.storage.numel)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: tensor '%s' (offset %lld, %lld elements) reaches past its storage '%s' "
        "of %lld elements", path, e->name, (long long) e->storage_offset,
        (long long) numel, e->storage_key, (long long) storage->u.storage.numel);
  if ((uint64_t) storage->u.storage.numel > UINT64_MAX / item)
    return mc_err (err, MC_ERR_FORMAT, "%s: storage '%s' is impossibly large", path,
        e->storage_key);
  storage_bytes = (uint64_t) storage->u.storage.numel * item;

  snprintf (rest, sizeof rest, "data/%s", e->storage_key);
  ze = find_in_root (zip, root, rest);
  if (!ze) {
    e->data_state = MC_TORCH_DATA_MISSING;
    return MC_OK;
  }
  if ((st = check_stored (path, ze, err)) != MC_OK)
    return st;
  if (ze->size < storage_bytes) {
    e->data_state = MC_TORCH_DATA_SHORT;
    return MC_OK;
  }
  {
    uint64_t at = ze->data_offset + (uint64_t) e->storage_offset * item;
    /* torch aligns every entry to 64 bytes; readers may load elements
     * directly, so an unaligned tensor is refused rather than misread */
    if (at % item)
      return mc_err (err, MC_ERR_UNSUPPORTED,
          "%s: tensor '%s' data at byte %llu is not aligned to its %zu-byte elements",
          path, e->name, (ull) at, item);
    e->data = map + at;
  }
  e->data_state = MC_TORCH_DATA_PRESENT;
  return MC_OK;
}

static mc_status
read_listing (const char *path, const uint8_t *map, size_t size, mc_torch_listing *out,
    mc_error *err)
{
  mc_zip zip;
  mc_pickle *pickle = NULL;
  const mc_zip_entry *pkl, *byteorder;
  const mc_py_value *dict = NULL;
  char what[1024];
  mc_status st;

  st = mc_zip_read (map, size, path, MC_ZIP_ALLOW_RECOVERY, &zip, err);
  if (st != MC_OK)
    return st;
  out->no_central_directory = zip.recovered;
  if ((st = find_root (path, &zip, &out->root, err)) != MC_OK)
    goto done;

  pkl = find_in_root (&zip, out->root, "data.pkl");
  if (!pkl) {
    st = mc_err (err, MC_ERR_FORMAT, "%s: no '%s/data.pkl' in the archive (not a torch "
        "checkpoint%s)", path, out->root, zip.recovered ? ", or truncated" : "");
    goto done;
  }
  if ((st = check_stored (path, pkl, err)) != MC_OK)
    goto done;
  if (pkl->truncated) {
    st = mc_err (err, MC_ERR_FORMAT, "%s: truncated: the file ends inside '%s'", path,
        pkl->name);
    goto done;
  }
  /* torch ≥ 1.10 records the byte order; older files are little-endian */
  byteorder = find_in_root (&zip, out->root, "byteorder");
  if (byteorder && byteorder->size >= 3 && !memcmp (map + byteorder->data_offset, "big", 3)) {
    st = mc_err (err, MC_ERR_UNSUPPORTED, "%s: big-endian checkpoints are not supported", path);
    goto done;
  }

  snprintf (what, sizeof what, "%s: %s", path, pkl->name);
  if ((st = mc_pickle_load (map + pkl->data_offset, (size_t) pkl->size, what, &pickle, err))
      != MC_OK)
    goto done;
  if ((st = find_state_dict (path, mc_pickle_root (pickle), &dict, err)) != MC_OK)
    goto done;

  out->entries = calloc (dict->u.dict.len ? dict->u.dict.len : 1, sizeof *out->entries);
  if (!out->entries) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (size_t i = 0; i < dict->u.dict.len; i++) {
    const mc_py_value *key = dict->u.dict.keys[i], *value = dict->u.dict.values[i];
    const char *name;
    mc_torch_entry *e;

    if (value->type != MC_PY_TENSOR)
      continue;
    if (key->type != MC_PY_STR || strlen (key->u.str.chars) != key->u.str.len
        || key->u.str.len == 0) {
      st = mc_err (err, MC_ERR_FORMAT, "%s: state-dict item %zu has no valid string name",
          path, i);
      goto done;
    }
    name = key->u.str.chars;
    /* nn.DataParallel / DistributedDataParallel wrap the model as "module" */
    if (!strncmp (name, "module.", 7) && name[7])
      name += 7;
    e = &out->entries[out->count];
    e->name = strdup (name);
    if (!e->name) {
      st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
      goto done;
    }
    out->count++;
    if ((st = describe_tensor (path, out->root, &zip, map, value, e, err)) != MC_OK)
      goto done;
  }
  if (out->count == 0)
    st = mc_err (err, MC_ERR_FORMAT, "%s: the checkpoint holds no tensors", path);

done:
  mc_pickle_free (pickle);
  mc_zip_clear (&zip);
  if (st != MC_OK)
    clear_entries (out);
  return st;
}

mc_status
mc_torch_checkpoint_list (const char *path, mc_torch_listing *out, mc_error *err)
{
  mc_status st;

  memset (out, 0, sizeof *out);
  st = mc_map_file (path, &out->map, &out->map_size, err);
  if (st != MC_OK)
    return st;
  st = read_listing (path, out->map, out->map_size, out, err);
  if (st != MC_OK)
    mc_torch_listing_clear (out);
  return st;
}

/* The error for a checkpoint whose data is not all there: it names the first
 * tensor (in state-dict order) that cannot be read. */
static mc_status
truncation_error (const char *path, size_t size, const mc_torch_listing *l, mc_error *err)
{
  const mc_torch_entry *first = NULL;
  size_t affected = 0;
  char tail[200] = "";

  for (size_t i = 0; i < l->count; i++)
    if (l->entries[i].data_state != MC_TORCH_DATA_PRESENT) {
      if (!first)
        first = &l->entries[i];
      affected++;
    }
  if (l->no_central_directory)
    snprintf (tail, sizeof tail, "; the %zu-byte file ends without a zip central directory",
        size);
  if (!first)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: truncated: every tensor's data is present but the zip central directory is "
        "missing (%zu-byte file)", path, size);
  return mc_err (err, MC_ERR_FORMAT,
      "%s: truncated: tensor '%s' has %s (archive entry %s/data/%s); %zu of %zu tensors "
      "lack data%s", path, first->name,
      first->data_state == MC_TORCH_DATA_MISSING ? "no data" : "only part of its data",
      l->root, first->storage_key, affected, l->count, tail);
}

mc_status
mc_torch_checkpoint_parse (const char *path, void *map, size_t size,
    mc_tensor_file **out, mc_error *err)
{
  mc_torch_listing listing;
  mc_tensor_file *file = NULL;
  mc_status st;

  *out = NULL;
  memset (&listing, 0, sizeof listing);
  st = read_listing (path, map, size, &listing, err);
  if (st != MC_OK)
    return st;

  for (size_t i = 0; i < listing.count; i++)
    if (listing.entries[i].data_state != MC_TORCH_DATA_PRESENT) {
      st = truncation_error (path, size, &listing, err);
      goto done;
    }
  if (listing.no_central_directory) {
    st = truncation_error (path, size, &listing, err);
    goto done;
  }

  file = mc_tensor_file_new (path, "torch", map, size);
  if (!file) {
    st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (size_t i = 0; i < listing.count; i++) {
    const mc_torch_entry *e = &listing.entries[i];
    mc_tensor_info *t = mc_tensor_file_add (file, e->name);
    if (!t) {
      st = mc_err (err, MC_ERR_NOMEM, "%s: out of memory", path);
      goto done;
    }
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy (t->shape, e->shape, sizeof t->shape);
    t->data = e->data;
    t->nbytes = e->nbytes;
  }
  st = mc_tensor_file_finish (file, err);

done:
  clear_entries (&listing);
  if (st != MC_OK) {
    mc_tensor_file_discard (file);
    return st;
  }
  *out = file;
  return MC_OK;
}
