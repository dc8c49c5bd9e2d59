/* pickle.h — a small, safe reader for the pickles torch.save writes.
 *
 * It understands the opcodes a state dict needs (protocol 2, plus FRAME and
 * MEMOIZE from protocol 4) and builds a tree of plain values.  Nothing is
 * ever called: the only globals accepted are the handful torch uses to
 * describe tensors, and they are interpreted here (a REDUCE of
 * _rebuild_tensor_v2 becomes an MC_PY_TENSOR value that records storage,
 * offset, size and stride).  Any other opcode or global is an MC_ERR_FORMAT
 * that names it and its byte offset.  Memory use is bounded by the input:
 * each opcode creates at most one value.
 */
#ifndef MC_IO_PICKLE_H
#define MC_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "io/tensor_file.h"

typedef enum {
  MC_PY_NONE,
  MC_PY_BOOL,
  MC_PY_INT,
  MC_PY_FLOAT,
  MC_PY_STR,       /* unicode or byte string, NUL-terminated copy */
  MC_PY_TUPLE,
  MC_PY_LIST,
  MC_PY_DICT,      /* dict or collections.OrderedDict; items in insertion order */
  MC_PY_GLOBAL,    /* one of the accepted globals, not yet applied */
  MC_PY_STORAGE,   /* a persistent id ('storage', <torch.*Storage>, key, location, numel) */
  MC_PY_TENSOR,    /* torch._utils._rebuild_tensor_v2 (…) */
} mc_py_type;

typedef enum {
  MC_PY_GLOBAL_REBUILD_TENSOR_V2,
  MC_PY_GLOBAL_REBUILD_PARAMETER,
  MC_PY_GLOBAL_ORDERED_DICT,
  MC_PY_GLOBAL_STORAGE_CLASS,      /* torch.FloatStorage etc.; see dtype */
} mc_py_global;

typedef struct mc_py_value mc_py_value;

struct mc_py_value {
  mc_py_type type;
  union {
    int64_t integer;                     /* MC_PY_BOOL, MC_PY_INT */
    double number;                       /* MC_PY_FLOAT */
    struct {
      char *chars;
      size_t len;
    } str;                               /* MC_PY_STR */
    struct {
      mc_py_value **items;
      size_t len, capacity;
    } seq;                               /* MC_PY_TUPLE, MC_PY_LIST */
    struct {
      mc_py_value **keys, **values;
      size_t len, capacity;
      int ordered;                       /* made by collections.OrderedDict */
    } dict;                              /* MC_PY_DICT */
    struct {
      mc_py_global which;
      mc_dtype dtype;                    /* MC_PY_GLOBAL_STORAGE_CLASS */
      const char *name;                  /* "torch.FloatStorage" (static) */
    } global;                            /* MC_PY_GLOBAL */
    struct {
      mc_dtype dtype;
      const char *key;                   /* archive entry data/<key> */
      const char *location;              /* "cpu", "cuda:0", … */
      int64_t numel;                     /* elements */
    } storage;                           /* MC_PY_STORAGE */
    struct {
      const mc_py_value *storage;        /* MC_PY_STORAGE */
      int64_t offset;                    /* in elements */
      int ndim;
      int64_t size[MC_MAX_DIMS];
      int64_t stride[MC_MAX_DIMS];       /* in elements */
      int requires_grad;
    } tensor;                            /* MC_PY_TENSOR */
  } u;
  mc_py_value *next_allocated;           /* for freeing */
};

typedef struct mc_pickle mc_pickle;

/* Runs the pickle in data[0..size) up to its STOP.  `what` names the source
 * in messages ("file.pt: data.pkl").  On success *out holds every value
 * (free with mc_pickle_free). */
mc_status mc_pickle_load (const uint8_t *data, size_t size, const char *what,
    mc_pickle **out, mc_error *err);

/* The object STOP returned. */
const mc_py_value *mc_pickle_root (const mc_pickle *pickle);

/* The value of a dict item whose key is the string `key`, or NULL. */
const mc_py_value *mc_py_dict_get (const mc_py_value *dict, const char *key);

/* "dict", "tensor", … */
const char *mc_py_type_name (mc_py_type type);

void mc_pickle_free (mc_pickle *pickle);

#endif
