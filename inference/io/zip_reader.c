/* zip_reader.c — see zip_reader.h.
 *
 * Layout reminders (all little-endian):
 *   local header   "PK\3\4"  30 bytes + name + extra, then the data
 *   data descriptor "PK\7\10" crc32, sizes (32-bit, or 64-bit for ZIP64),
 *                  present when flag bit 3 is set; torch.save sets it and
 *                  leaves the local header's crc and sizes at zero
 *   central entry  "PK\1\2"  46 bytes + name + extra + comment
 *   ZIP64 end      "PK\6\6"  56 bytes, found through the "PK\6\7" locator
 *                  that sits right before the end record
 *   end record     "PK\5\6"  22 bytes + comment, at the end of the file
 */
#include "zip_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/error.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_END64_LOCATOR 0x07064b50u

#define LOCAL_HEADER_SIZE 30u
#define CENTRAL_HEADER_SIZE 46u
#define END_SIZE 22u
#define END64_SIZE 56u
#define END64_LOCATOR_SIZE 20u
#define ZIP64_EXTRA_ID 0x0001u
#define FLAG_DESCRIPTOR (1u << 3)

typedef unsigned long long ull;

static uint16_t
rd16 (const uint8_t *p)
{
  return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16)
      | ((uint32_t) p[3] << 24);
}

static uint64_t
rd64 (const uint8_t *p)
{
  return (uint64_t) rd32 (p) | ((uint64_t) rd32 (p + 4) << 32);
}

/* Copies a name that must not contain NUL (it becomes a C string). */
static char *
copy_name (const uint8_t *p, size_t len)
{
  char *s;
  if (memchr (p, 0, len))
    return NULL;
  s = malloc (len + 1);
  if (!s)
    return NULL;
  memcpy (s, p, len);
  s[len] = '\0';
  return s;
}

static mc_zip_entry *
append_entry (mc_zip *zip, size_t *capacity)
{
  if (zip->count == *capacity) {
    size_t cap = *capacity ? *capacity * 2 : 64;
    mc_zip_entry *n = realloc (zip->entries, cap * sizeof *n);
    if (!n)
      return NULL;
    zip->entries = n;
    *capacity = cap;
  }
  memset (&zip->entries[zip->count], 0, sizeof zip->entries[0]);
  return &zip->entries[zip->count++];
}

/* The ZIP64 extended-information extra field holds, in this order, only the
 * values whose 32-bit (16-bit for the disk) slot is all ones. */
static int
read_zip64_extra (const uint8_t *extra, size_t len, uint64_t *usize,
    uint64_t *csize, uint64_t *local_offset)
{
  size_t pos = 0;
  while (len - pos >= 4) {
    uint16_t id = rd16 (extra + pos), n = rd16 (extra + pos + 2);
    const uint8_t *field = extra + pos + 4;
    size_t used = 0;
    if (n > len - pos - 4)
      return 0;
    if (id == ZIP64_EXTRA_ID) {
      uint64_t *slots[3] = { usize, csize, local_offset };
      for (int i = 0; i < 3; i++) {
        if (!slots[i] || *slots[i] != 0xFFFFFFFFu)
          continue;
        if (n - used < 8)
          return 0;
        *slots[i] = rd64 (field + used);
        used += 8;
      }
      return 1;
    }
    pos += 4 + (size_t) n;
  }
  return 1;
}

static int
has_zip64_extra (const uint8_t *extra, size_t len)
{
  size_t pos = 0;
  while (len - pos >= 4) {
    uint16_t id = rd16 (extra + pos), n = rd16 (extra + pos + 2);
    if (id == ZIP64_EXTRA_ID)
      return 1;
    if (n > len - pos - 4)
      return 0;
    pos += 4 + (size_t) n;
  }
  return 0;
}

/* Finds the end-of-central-directory record: it is the last 22 bytes unless
 * an archive comment (at most 65535 bytes) follows it. */
static int
find_end_record (const uint8_t *data, size_t size, uint64_t *offset)
{
  size_t lowest, off;
  if (size < END_SIZE)
    return 0;
  off = size - END_SIZE;
  lowest = off > 0xFFFFu ? off - 0xFFFFu : 0;
  for (;;) {
    if (rd32 (data + off) == SIG_END
        && END_SIZE + (size_t) rd16 (data + off + 20) <= size - off) {
      *offset = off;
      return 1;
    }
    if (off == lowest)
      return 0;
    off--;
  }
}

static mc_status
read_central_directory (const uint8_t *data, size_t size, const char *what,
    uint64_t end_off, mc_zip *zip, mc_error *err)
{
  const uint8_t *e = data + end_off;
  uint64_t disk = rd16 (e + 4), cd_disk = rd16 (e + 6);
  uint64_t n_disk = rd16 (e + 8), n_total = rd16 (e + 10);
  uint64_t cd_size = rd32 (e + 12), cd_off = rd32 (e + 16);
  uint64_t cd_limit = end_off, pos, end;

  if (n_disk == 0xFFFFu || n_total == 0xFFFFu || cd_size == 0xFFFFFFFFu
      || cd_off == 0xFFFFFFFFu) {
    uint64_t loc, e64;
    if (end_off < END64_LOCATOR_SIZE
        || rd32 (data + end_off - END64_LOCATOR_SIZE) != SIG_END64_LOCATOR)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: the zip end record needs a ZIP64 record but its locator is missing", what);
    loc = end_off - END64_LOCATOR_SIZE;
    e64 = rd64 (data + loc + 8);
    if (loc < END64_SIZE || e64 > loc - END64_SIZE || rd32 (data + e64) != SIG_END64)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: the ZIP64 end record offset %llu is invalid", what, (ull) e64);
    disk = rd32 (data + e64 + 16);
    cd_disk = rd32 (data + e64 + 20);
    n_disk = rd64 (data + e64 + 24);
    n_total = rd64 (data + e64 + 32);
    cd_size = rd64 (data + e64 + 40);
    cd_off = rd64 (data + e64 + 48);
    cd_limit = e64;
  }
  if (disk != 0 || cd_disk != 0 || n_disk != n_total)
    return mc_err (err, MC_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", what);
  if (cd_off > cd_limit || cd_size > cd_limit - cd_off)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: the zip central directory (offset %llu, %llu bytes) lies outside the file",
        what, (ull) cd_off, (ull) cd_size);
  if (n_total > cd_size / CENTRAL_HEADER_SIZE)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: the zip central directory claims %llu entries in %llu bytes",
        what, (ull) n_total, (ull) cd_size);

  zip->entries = calloc (n_total ? n_total : 1, sizeof *zip->entries);
  if (!zip->entries)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", what);

  pos = cd_off;
  end = cd_off + cd_size;
  for (uint64_t i = 0; i < n_total; i++) {
    const uint8_t *c = data + pos, *local;
    uint16_t flags, method, nlen, elen, clen, lnlen, lelen;
    uint64_t csize, usize, local_off, data_off;
    mc_zip_entry *entry;

    if (end - pos < CENTRAL_HEADER_SIZE || rd32 (c) != SIG_CENTRAL)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip central directory entry %llu at offset %llu is malformed",
          what, (ull) i, (ull) pos);
    flags = rd16 (c + 8);
    method = rd16 (c + 10);
    csize = rd32 (c + 20);
    usize = rd32 (c + 24);
    nlen = rd16 (c + 28);
    elen = rd16 (c + 30);
    clen = rd16 (c + 32);
    local_off = rd32 (c + 42);
    if ((uint64_t) CENTRAL_HEADER_SIZE + nlen + elen + clen > end - pos)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip central directory entry %llu runs past the directory's end", what, (ull) i);
    if (!read_zip64_extra (c + CENTRAL_HEADER_SIZE + nlen, elen, &usize, &csize, &local_off)
        || usize == 0xFFFFFFFFu || csize == 0xFFFFFFFFu || local_off == 0xFFFFFFFFu)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip central directory entry %llu has a broken ZIP64 field", what, (ull) i);

    entry = &zip->entries[zip->count];
    entry->name = copy_name (c + CENTRAL_HEADER_SIZE, nlen);
    if (!entry->name)
      return mc_err (err, MC_ERR_FORMAT, "%s: zip entry %llu has an invalid name", what, (ull) i);
    zip->count++;
    entry->method = method;
    entry->flags = flags;

    if (size < LOCAL_HEADER_SIZE || local_off > size - LOCAL_HEADER_SIZE
        || rd32 (data + local_off) != SIG_LOCAL)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip entry '%s': no local header at offset %llu", what, entry->name,
          (ull) local_off);
    local = data + local_off;
    lnlen = rd16 (local + 26);
    lelen = rd16 (local + 28);
    data_off = local_off + LOCAL_HEADER_SIZE + lnlen + lelen;
    if (data_off > size)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip entry '%s': local header runs past the end of the file", what, entry->name);
    if (lnlen != nlen || memcmp (local + LOCAL_HEADER_SIZE, entry->name, nlen) != 0)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip entry '%s': the local header names a different entry", what, entry->name);
    if (method == 0 && csize != usize)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: stored zip entry '%s' has different compressed and uncompressed sizes",
          what, entry->name);
    if (csize > size - data_off)
      return mc_err (err, MC_ERR_FORMAT,
          "%s: zip entry '%s' (%llu bytes at offset %llu) runs past the end of the "
          "%zu-byte file (truncated?)", what, entry->name, (ull) csize, (ull) data_off, size);
    entry->data_offset = data_off;
    entry->size = csize;
    pos += CENTRAL_HEADER_SIZE + (uint64_t) nlen + elen + clen;
  }
  return MC_OK;
}

/* Finds the data descriptor that ends an entry whose local header left the
 * sizes out.  The signature can occur inside stored data by chance, so a
 * candidate counts only if its size is the distance from the data start and
 * its crc32 matches the bytes. */
static int
find_descriptor (const uint8_t *data, size_t size, uint64_t data_off, uint16_t method,
    int zip64, uint64_t *entry_size, uint64_t *next)
{
  static const uint8_t sig[4] = { 'P', 'K', 7, 8 };
  size_t desc_size = zip64 ? 24 : 16;
  uint64_t from = data_off;

  while (from < size) {
    const uint8_t *q = memmem (data + from, size - from, sig, 4);
    uint64_t at, distance, csize, usize;
    if (!q)
      return 0;
    at = (uint64_t) (q - data);
    distance = at - data_off;
    if (size - at >= desc_size) {
      csize = zip64 ? rd64 (q + 8) : rd32 (q + 8);
      usize = zip64 ? rd64 (q + 16) : rd32 (q + 12);
      if (csize == distance && (method != 0 || usize == csize)
          && crc32_z (crc32_z (0, NULL, 0), data + data_off, (size_t) distance) == rd32 (q + 4)) {
        *entry_size = distance;
        *next = at + desc_size;
        return 1;
      }
    }
    from = at + 1;
  }
  return 0;
}

/* Lists the entries of an archive without a central directory by following
 * the local headers.  The walk stops at the first thing that is not a
 * complete local header; an entry the file cuts off is kept, marked
 * truncated, with the bytes that are there. */
static mc_status
recover_entries (const uint8_t *data, size_t size, const char *what, mc_zip *zip,
    mc_error *err)
{
  uint64_t off = 0;
  size_t capacity = 0;

  zip->recovered = 1;
  while (size - off >= LOCAL_HEADER_SIZE && rd32 (data + off) == SIG_LOCAL) {
    const uint8_t *h = data + off;
    uint16_t flags = rd16 (h + 6), method = rd16 (h + 8);
    uint16_t nlen = rd16 (h + 26), elen = rd16 (h + 28);
    uint64_t csize = rd32 (h + 18), usize = rd32 (h + 22), data_off, next, found_size;
    int zip64;
    mc_zip_entry *entry;
    char *name;

    if ((uint64_t) nlen + elen > size - off - LOCAL_HEADER_SIZE)
      break;
    data_off = off + LOCAL_HEADER_SIZE + nlen + elen;
    zip64 = has_zip64_extra (h + LOCAL_HEADER_SIZE + nlen, elen);
    name = copy_name (h + LOCAL_HEADER_SIZE, nlen);
    if (!name)
      return mc_err (err, MC_ERR_FORMAT, "%s: zip entry at offset %llu has an invalid name",
          what, (ull) off);
    entry = append_entry (zip, &capacity);
    if (!entry) {
      free (name);
      return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", what);
    }
    entry->name = name;
    entry->method = method;
    entry->flags = flags;
    entry->data_offset = data_off;

    if (flags & FLAG_DESCRIPTOR) {
      if (!find_descriptor (data, size, data_off, method, zip64, &found_size, &next)) {
        entry->truncated = 1;
        entry->size = size - data_off;
        off = size;
        break;
      }
      entry->size = found_size;
    } else {
      if (zip64 && !read_zip64_extra (h + LOCAL_HEADER_SIZE + nlen, elen, &usize, &csize, NULL))
        return mc_err (err, MC_ERR_FORMAT, "%s: zip entry '%s' has a broken ZIP64 field",
            what, name);
      if (csize > size - data_off) {
        entry->truncated = 1;
        entry->size = size - data_off;
        off = size;
        break;
      }
      entry->size = csize;
      next = data_off + csize;
    }
    off = next;
  }
  zip->recovered_end = off;
  if (zip->count == 0)
    return mc_err (err, MC_ERR_FORMAT,
        "%s: no zip central directory and no readable local header (truncated or not a zip archive)",
        what);
  return MC_OK;
}

static int
compare_entry_names (const void *a, const void *b)
{
  const mc_zip_entry *x = *(const mc_zip_entry *const *) a;
  const mc_zip_entry *y = *(const mc_zip_entry *const *) b;
  return strcmp (x->name, y->name);
}

static mc_status
index_names (mc_zip *zip, const char *what, mc_error *err)
{
  const mc_zip_entry **sorted = malloc ((zip->count ? zip->count : 1) * sizeof *sorted);
  if (!sorted)
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", what);
  for (size_t i = 0; i < zip->count; i++)
    sorted[i] = &zip->entries[i];
  qsort (sorted, zip->count, sizeof *sorted, compare_entry_names);
  for (size_t i = 1; i < zip->count; i++)
    if (!strcmp (sorted[i - 1]->name, sorted[i]->name)) {
      const char *name = sorted[i]->name;
      free (sorted);
      return mc_err (err, MC_ERR_FORMAT, "%s: zip entry '%s' appears twice", what, name);
    }
  /* stored as indices so that the list stays valid if entries move */
  zip->by_name = malloc ((zip->count ? zip->count : 1) * sizeof *zip->by_name);
  if (!zip->by_name) {
    free (sorted);
    return mc_err (err, MC_ERR_NOMEM, "%s: out of memory", what);
  }
  for (size_t i = 0; i < zip->count; i++)
    zip->by_name[i] = (size_t) (sorted[i] - zip->entries);
  free (sorted);
  return MC_OK;
}

mc_status
mc_zip_read (const uint8_t *data, size_t size, const char *what, unsigned flags,
    mc_zip *zip, mc_error *err)
{
  uint64_t end_off;
  mc_status st;

  memset (zip, 0, sizeof *zip);
  if (size < 4 || rd32 (data) != SIG_LOCAL)
    return mc_err (err, MC_ERR_FORMAT, "%s: not a zip archive", what);
  if (find_end_record (data, size, &end_off))
    st = read_central_directory (data, size, what, end_off, zip, err);
  else if (flags & MC_ZIP_ALLOW_RECOVERY)
    st = recover_entries (data, size, what, zip, err);
  else
    st = mc_err (err, MC_ERR_FORMAT,
        "%s: no zip end-of-central-directory record (the file is truncated)", what);
  if (st == MC_OK)
    st = index_names (zip, what, err);
  if (st != MC_OK)
    mc_zip_clear (zip);
  return st;
}

const mc_zip_entry *
mc_zip_find (const mc_zip *zip, const char *name)
{
  size_t lo = 0, hi = zip->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const mc_zip_entry *e = &zip->entries[zip->by_name[mid]];
    int c = strcmp (name, e->name);
    if (c == 0)
      return e;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

void
mc_zip_clear (mc_zip *zip)
{
  for (size_t i = 0; i < zip->count; i++)
    free (zip->entries[i].name);
  free (zip->entries);
  free (zip->by_name);
  memset (zip, 0, sizeof *zip);
}
