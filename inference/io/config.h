/* config.h — model hyper-parameters from a JSON config.
 *
 * The schema is Apple's config format (embed_dim, image_cfg, text_cfg)
 * extended with every architecture value the reference fixes in code, as the
 * golden cases' config.json spell them.  Every key the builder needs must be
 * present and well-typed; an error names the file and the key.
 */
#ifndef MC_IO_CONFIG_H
#define MC_IO_CONFIG_H

#include "mobileclip.h"

#define MC_MAX_STAGES 5
#define MC_MAX_TEXT_LAYERS 64

typedef enum { MC_MIXER_REPMIXER, MC_MIXER_ATTENTION } mc_token_mixer;

typedef struct {
  char model_name[64];
  int image_size;
  int n_stages;
  int layers[MC_MAX_STAGES];
  int embed_dims[MC_MAX_STAGES];
  float mlp_ratios[MC_MAX_STAGES];
  int downsamples[MC_MAX_STAGES];
  int se_downsamples[MC_MAX_STAGES];
  mc_token_mixer token_mixers[MC_MAX_STAGES];
  int pos_embs[MC_MAX_STAGES];        /* 1: RepCPE before the stage */
  int repmixer_kernel_size;
  float cls_ratio;
  int down_patch_size, down_stride, down_small_kernel;
  int use_layer_scale;
  int rpce_kernel[2];
  int head_dim;
  int qkv_bias;
  int conv_ffn_kernel_size;
  float se_downsample_rd_ratio;
  int se_downsample_rd_divisor;
  int conv_exp_use_se;
  float conv_exp_se_rd_ratio;
  int num_conv_branches;
  float bn_eps;
} mc_mci_config;

typedef enum { MC_TEXT_BASE, MC_TEXT_MCT } mc_text_variant;

typedef struct {
  char model_name[16];
  mc_text_variant variant;
  int context_length;
  int vocab_size;
  int dim;
  int n_layers;                       /* transformer layers */
  int n_heads[MC_MAX_TEXT_LAYERS];
  int ffn_dims[MC_MAX_TEXT_LAYERS];
  int causal;
  float layer_norm_eps;
  int embed_scale_applied;
  int repmixer_kernel_size;           /* mct only */
  float repmixer_mlp_ratio;           /* mct only */
} mc_text_config;

typedef struct {
  char source[512];                   /* where the config came from */
  int embed_dim;
  int has_image, has_text;
  mc_mci_config image;
  mc_text_config text;
} mc_model_config;

/* Parses JSON text; `source` names it in errors. */
mc_status mc_config_parse (const char *json, const char *source,
    mc_model_config *cfg, mc_error *err);

/* Loads a config by path, or by name ("mobileclip_s0") from
 * $MOBILECLIP_CONFIG_DIR, the source tree's configs/ and the installed copy. */
mc_status mc_config_load (const char *name_or_path, mc_model_config *cfg, mc_error *err);

#endif
