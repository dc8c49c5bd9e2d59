/* attention.h — multi-head scaled dot-product attention over token rows.
 *
 * qkv is [n, T, 3·C] as a fused projection writes it: columns 0..C−1 are q,
 * C..2C−1 are k, 2C..3C−1 are v, and head h owns columns h·d..(h+1)·d−1 of
 * each (d = C/heads), the row order of Apple's and open_clip's qkv weights.
 * out[n, T, C] = concat_h softmax((q_h·d^−½)·k_hᵀ + mask)·v_h.
 * q is scaled before the product, as the references do.
 */
#ifndef MC_OPS_ATTENTION_H
#define MC_OPS_ATTENTION_H

#include <stddef.h>

#include "runtime/threadpool.h"

/* Scratch floats the call needs for a pool of n_threads workers. */
size_t mc_attention_scratch_size (int T, int head_dim, int n_threads);

void mc_attention (mc_threadpool *pool, const float *qkv, int n, int T, int C,
    int heads, int causal, float *out, float *scratch);

#endif
