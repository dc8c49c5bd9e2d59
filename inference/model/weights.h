/* weights.h — named weights as F32, with shape checks and a record of use.
 *
 * Builders ask for tensors by name (relative to a prefix such as
 * "image_encoder.model.") and exact shape.  The first failure is kept
 * (sticky) and later requests return zero-filled buffers of the requested
 * shape, so a builder can ask for everything and check the status once at
 * the end without ever touching a NULL pointer.
 */
#ifndef MC_MODEL_WEIGHTS_H
#define MC_MODEL_WEIGHTS_H

#include <stdint.h>

#include "io/tensor_file.h"

typedef struct mc_weights mc_weights;

mc_weights *mc_weights_new (const mc_tensor_file *file, const char *prefix, mc_error *err);
/* Frees the converted buffers (builders copy what they keep). */
void mc_weights_free (mc_weights *w);

/* A recorder reads no file: every request succeeds with zeros and is noted
 * as a "name<TAB>[shape]" line, so building a model with it lists the key
 * table the builder expects (see model/key_table.h). */
mc_weights *mc_weights_new_recorder (const char *prefix);
const char *mc_weights_key_table (const mc_weights *w);

/* F32 view of prefix + name (printf-style); the shape must match exactly
 * (ndim entries of `shape`).  Valid until mc_weights_free. */
const float *mc_weights_get (mc_weights *w, int ndim, const int64_t *shape,
    const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* Marks a present tensor as accounted for without reading it (e.g.
 * BatchNorm num_batches_tracked, unused at inference). */
void mc_weights_skip (mc_weights *w, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* MC_OK or the first error. */
mc_status mc_weights_status (const mc_weights *w);

/* Fails (MC_ERR_WEIGHTS, naming the first) if a tensor under `prefix` was
 * never asked for: a checkpoint that holds more than the config describes. */
mc_status mc_weights_check_all_used (mc_weights *w, const char *prefix);

/* Number of elements read so far under any prefix (parameter count). */
int64_t mc_weights_params_read (const mc_weights *w);

#define MC_SHAPE(...) (int) (sizeof ((int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)), \
    (const int64_t[]) { __VA_ARGS__ }

#endif
