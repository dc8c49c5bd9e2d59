/* mci.h — Apple's MCi image encoder (FastViT with a GlobalPool2D head),
 * built from training-form weights and reparameterized at load.
 *
 * The runtime holds only folded ops: every MobileOne block, large-kernel
 * downsample conv, RepMixer and RepCPE is one conv with bias; every
 * BatchNorm left in ConvFFN and before attention is folded into the next
 * conv or linear; layer scales are folded into the preceding weights.
 */
#ifndef MC_MODEL_MCI_H
#define MC_MODEL_MCI_H

#include "io/config.h"
#include "model/weights.h"
#include "runtime/threadpool.h"

typedef struct mc_mci mc_mci;

/* Reads "image_encoder.model.*" (the prefix is set by the caller on w). */
mc_status mc_mci_build (const mc_mci_config *cfg, int embed_dim, mc_weights *w,
    mc_mci **out, mc_error *err);
void mc_mci_free (mc_mci *m);

/* x: [n, h, w, 3] channels-last; out: [n, embed_dim].  Plans buffers for
 * (n, h, w) on first use and reuses them for any batch up to the largest
 * planned one while h, w and the pool's size are unchanged. */
mc_status mc_mci_forward (mc_mci *m, mc_threadpool *pool, const float *x,
    int n, int h, int w, float *out, mc_error *err);

/* The most images the planned buffers hold (0 before the first forward). */
int mc_mci_planned_batch (const mc_mci *m);

/* Multiply-accumulates of one image of side `size`. */
int64_t mc_mci_macs (const mc_mci *m, int size);

/* Per-family timing (NULL disables). */
void mc_mci_set_profile (mc_mci *m, mc_profile_entry *entries);

/* Debug taps: when set, called after each named stage with the NHWC map. */
typedef void (*mc_mci_tap) (void *user, const char *name, const float *x,
    int n, int h, int w, int c);
void mc_mci_set_tap (mc_mci *m, mc_mci_tap tap, void *user);

#endif
