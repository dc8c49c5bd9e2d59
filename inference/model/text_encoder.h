/* text_encoder.h — Apple's text towers, `base` (pre-norm transformer
 * layers) and `mct` (a RepMixer block, transformer layers, a RepMixer block),
 * built from training-form weights and folded at load.
 *
 * Activations are channels-last token rows [n, T, D]; a RepMixer block's
 * 1×k depthwise convs treat a prompt as an image of height 1 and width T.
 * At load every RepMixer mixer (identity + scale·(mixer − norm)) becomes one
 * depthwise conv, the ConvFFN BatchNorm joins its depthwise conv, layer
 * scales join fc2, and the pre-norm LayerNorms' γ/β join the qkv and fc1
 * weights, so the runtime normalizes without an affine step.
 *
 * Work whose result is never read is skipped, exactly: the final LayerNorm
 * and projection run on the pooled row only (argmax of the token ids); the
 * ConvFFN of `mct`'s last RepMixer block runs at that row only; a causal
 * `base` model stops at the last pooled position of the batch.
 */
#ifndef MC_MODEL_TEXT_ENCODER_H
#define MC_MODEL_TEXT_ENCODER_H

#include <stdint.h>

#include "io/config.h"
#include "model/weights.h"
#include "runtime/threadpool.h"

typedef struct mc_text_encoder mc_text_encoder;

/* Reads "text_encoder.*" (the prefix is set by the caller on w) and checks
 * every shape against cfg. */
mc_status mc_text_encoder_build (const mc_text_config *cfg, int embed_dim,
    mc_weights *w, mc_text_encoder **out, mc_error *err);
void mc_text_encoder_free (mc_text_encoder *t);

/* Charges forward passes' time per op family to entries (at least
 * MC_PROFILE_MAX, named and cleared here), or stops when NULL. */
void mc_text_encoder_set_profile (mc_text_encoder *t, mc_profile_entry *entries);

/* tokens: [n, context_length] ids; out: [n, embed_dim], unnormalized.
 * Large batches run in chunks; buffers are allocated for the largest chunk
 * seen and reused, so steady-state calls allocate nothing. */
mc_status mc_text_encoder_forward (mc_text_encoder *t, mc_threadpool *pool,
    const int32_t *tokens, int n, float *out, mc_error *err);

/* Multiply-accumulates of the architecture for one prompt over the full
 * context, as the reference computes it (a causal model counts only the
 * unmasked half of each attention product); the shortcuts above do less. */
int64_t mc_text_encoder_macs (const mc_text_encoder *t);

/* Debug taps, for the golden tests: when set, the forward pass runs every
 * position (no causal shortcut) and reports "embed", "layer.<i>",
 * "final_ln" ([n, T, D]) and "eot_feature" ([n, 1, D]). */
typedef void (*mc_text_tap) (void *user, const char *name, const float *x,
    int n, int T, int d);
void mc_text_encoder_set_tap (mc_text_encoder *t, mc_text_tap tap, void *user);

#endif
