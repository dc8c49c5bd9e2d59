/* torch_checkpoint.h — the checkpoints torch.save writes (zip format).
 *
 * A checkpoint is a zip archive <root>/data.pkl + <root>/data/<key> (one
 * entry per storage, raw little-endian) + <root>/version.  data.pkl is a
 * pickle of the state dict whose tensors refer to storages by key (see
 * io/pickle.h).  Opening one for inference goes through mc_tensor_file_open
 * (which calls mc_torch_checkpoint_parse, declared in io/tensor_file.h); the
 * listing below reads only the table, so it also works on a file whose
 * storage data is partly or wholly missing (it reports what is there).
 *
 * Accepted top-level objects: a dict or OrderedDict of tensors, or a dict
 * holding one under "state_dict" or "model".  A leading "module." is removed
 * from every name.  Values that are not tensors are skipped.
 */
#ifndef MC_IO_TORCH_CHECKPOINT_H
#define MC_IO_TORCH_CHECKPOINT_H

#include "io/tensor_file.h"

typedef enum {
  MC_TORCH_DATA_PRESENT,   /* every byte the tensor needs is in the file */
  MC_TORCH_DATA_SHORT,     /* the storage's entry is there but cut off */
  MC_TORCH_DATA_MISSING,   /* the archive has no entry for the storage */
} mc_torch_data_state;

typedef struct {
  char *name;                    /* state-dict key without a leading "module." */
  mc_dtype dtype;                /* from the storage class */
  int ndim;
  int64_t shape[MC_MAX_DIMS];
  char *storage_key;             /* "17": the archive entry <root>/data/17 */
  int64_t storage_offset;        /* in elements */
  mc_torch_data_state data_state;
  const void *data;              /* into the mapping when PRESENT, else NULL */
  size_t nbytes;                 /* numel × dtype size */
} mc_torch_entry;

typedef struct {
  char *root;                    /* the archive's root folder ("new_mobileclip_s0") */
  mc_torch_entry *entries;       /* in state-dict (pickle) order */
  size_t count;
  int no_central_directory;      /* the file was cut short: the zip end records
                                    are gone and entries were found by walking */
  void *map;                     /* the file mapping (owned) */
  size_t map_size;
} mc_torch_listing;

/* Reads the tensor table of a checkpoint without requiring the storage data.
 * Fails (naming the tensor) on malformed pickles, forbidden globals and
 * non-contiguous tensors, like the full reader; missing or cut-off storages
 * are only reported in data_state.  Free with mc_torch_listing_clear. */
mc_status mc_torch_checkpoint_list (const char *path, mc_torch_listing *out,
    mc_error *err);
void mc_torch_listing_clear (mc_torch_listing *listing);

#endif
