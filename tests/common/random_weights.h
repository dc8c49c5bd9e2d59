/* random_weights.h — a checkpoint with real shapes and random values.
 *
 * Reads a key table (one "name<TAB>[d0, d1, ...]<TAB>..." line per tensor,
 * as ../shared/real/mobileclip_s0.keys.tsv) and writes a safetensors file
 * with every tensor whose name starts with `prefix`, in training form, drawn
 * like the golden README's random weights (conv/linear N(0, 1/fan_in), BN γ
 * U(0.5,1.5), running var U(0.5,1.5), small biases).  Layer scales are drawn
 * U(0.01, 0.1) so that activations stay finite through 20+ blocks without
 * the golden data's BN calibration.  num_batches_tracked buffers are left
 * out, as in the golden safetensors files.
 */
#ifndef MC_TEST_RANDOM_WEIGHTS_H
#define MC_TEST_RANDOM_WEIGHTS_H

#include "io/tensor_file.h"

mc_status mc_write_random_weights (const char *keys_tsv, const char *prefix,
    mc_dtype dtype, unsigned seed, const char *out_path, mc_error *err);

#endif
