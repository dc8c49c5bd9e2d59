/* mci_layers.h — the MCi encoder's folded layers and its context, shared by
 * mci_build.c (which makes them from the weights) and mci.c (which plans the
 * buffers and runs them). */
#ifndef MC_MODEL_MCI_LAYERS_H
#define MC_MODEL_MCI_LAYERS_H

#include <glib.h>

#include "model/mci.h"
#include "model/profile.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/se.h"

typedef enum {
  LAYER_CONV,        /* direct conv (+ optional SE) + activation */
  LAYER_POINTWISE,   /* 1×1 conv as GEMM + activation */
  LAYER_REPMIXER,    /* RepMixer block: folded mixer conv, then ConvFFN */
  LAYER_ATTENTION,   /* attention block: MHSA, then ConvFFN */
} layer_kind;

typedef struct {
  mc_conv dw;          /* depthwise k×k with the following BN folded in */
  mc_packed_b fc1, fc2;  /* fc2 carries the block's layer scale */
  float *b1, *b2;
  int hidden;
} conv_ffn;

typedef struct {
  layer_kind kind;
  const char *tap;     /* name of the reference module this layer ends */
  int cin, cout, stride;
  mc_act act;
  /* LAYER_CONV */
  mc_conv conv;
  int has_se;
  mc_se se;
  /* LAYER_POINTWISE */
  mc_packed_b pw;
  float *pw_bias;
  /* blocks */
  mc_conv mixer;
  mc_packed_b qkv, proj;   /* proj carries layer_scale_1 */
  float *qkv_bias, *proj_bias;
  int heads;
  conv_ffn ffn;
} layer;

struct mc_mci {
  mc_mci_config cfg;
  int embed_dim;
  int final_dim;
  GArray *layers;          /* of layer */
  mc_packed_b head;        /* [final_dim, embed_dim] */
  /* planned buffers: maps and hidden activations for up to plan_n images
   * (image b's part at b × the per-image size), scratch for each of
   * plan_threads workers */
  int plan_n, plan_h, plan_w, plan_threads;
  float *buf[3];
  float *hidden;
  float *scratch;          /* SE and attention scratch */
  float *pooled;
  size_t map_per_image, hidden_per_image, scratch_per_worker;
  float *ffn_scratch;      /* per worker: one band's dw output and hidden */
  size_t ffn_per_worker;
  mc_profile_entry *worker_profile;   /* N_FAMILIES per worker */
  mc_mci_tap tap;
  void *tap_user;
  mc_profile_entry *profile;   /* indexed by op_family, or NULL */
};

/* Frees the planned buffers (mci.c) and forgets the plan. */
void mc_mci_release_plan (mc_mci *m);

#endif
