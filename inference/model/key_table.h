/* key_table.h — the checkpoint a config describes, as a key table.
 *
 * Builds each tower of a config against a weights recorder and returns the
 * training-form tensors the builders ask for, one "name<TAB>[shape]" line
 * each (the layout of ../shared/real/mobileclip_s0.keys.tsv, without the
 * num_batches_tracked buffers the engine never reads).  Tests compare it
 * with Apple's real key table; benchmarks make random checkpoints from it
 * for models whose real weights are not at hand (MCi1, MCi2).
 */
#ifndef MC_MODEL_KEY_TABLE_H
#define MC_MODEL_KEY_TABLE_H

#include <glib.h>

#include "io/config.h"

mc_status mc_model_key_table (const mc_model_config *cfg, GString *out, mc_error *err);

#endif
