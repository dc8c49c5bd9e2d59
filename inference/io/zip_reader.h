/* zip_reader.h — the entry list of a zip archive held in memory.
 *
 * Only what torch.save writes is needed: stored (uncompressed) entries whose
 * data can be used in place.  The list normally comes from the central
 * directory (ZIP64 records are followed when the 32-bit fields overflow).
 * A file cut short has no central directory; on request its entries are then
 * recovered by walking the local headers from the start, so that a caller can
 * still say which parts are missing.  Every offset is checked against the
 * buffer size before an entry is listed.
 */
#ifndef MC_IO_ZIP_READER_H
#define MC_IO_ZIP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "mobileclip.h"

typedef struct {
  char *name;             /* NUL-terminated copy of the entry name */
  uint64_t data_offset;   /* offset of the first data byte in the buffer */
  uint64_t size;          /* bytes of data present (the stored size) */
  uint16_t method;        /* 0 = stored; anything else cannot be used in place */
  uint16_t flags;         /* general-purpose flags (bit 0: encrypted) */
  int truncated;          /* recovered entry whose data the buffer cuts off:
                             size counts only the bytes that are there */
} mc_zip_entry;

typedef struct {
  mc_zip_entry *entries;  /* in archive order */
  size_t count;
  int recovered;          /* 1: there was no central directory; the entries
                             were found by walking local headers */
  uint64_t recovered_end; /* recovered: offset where the walk stopped */
  size_t *by_name;        /* entry indices sorted by name (for lookup) */
} mc_zip;

typedef enum {
  MC_ZIP_CENTRAL_DIRECTORY_ONLY = 0,
  /* When no end-of-central-directory record exists, recover the entries
   * from the local headers instead of failing. */
  MC_ZIP_ALLOW_RECOVERY = 1 << 0,
} mc_zip_flags;

/* Reads the entry list of the zip in data[0..size).  `what` names the file in
 * messages.  MC_ERR_FORMAT for anything malformed or out of bounds (a broken
 * central directory is an error even with MC_ZIP_ALLOW_RECOVERY; only a
 * missing one is recovered), MC_ERR_UNSUPPORTED for multi-disk archives. */
mc_status mc_zip_read (const uint8_t *data, size_t size, const char *what,
    unsigned flags, mc_zip *zip, mc_error *err);

/* The entry called name, or NULL. */
const mc_zip_entry *mc_zip_find (const mc_zip *zip, const char *name);

/* Frees the entry list (not the buffer). */
void mc_zip_clear (mc_zip *zip);

#endif
