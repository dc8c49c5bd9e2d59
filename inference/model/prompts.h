/* prompts.h — prompt sets, prompt ensembling and the embeddings file
 * (the public API is the "Prompt sets" section of mobileclip.h).
 *
 * An embeddings file is a safetensors file with one F32 tensor
 * `embeddings` [N, D] (L2-normalized rows) and string metadata under the
 * keys below.  JSON values are arrays as cJSON prints them unformatted, so
 * that the cache can compare a label's phrasings as one string.
 */
#ifndef MC_MODEL_PROMPTS_H
#define MC_MODEL_PROMPTS_H

#include "mobileclip.h"

#define MC_PROMPTS_TENSOR "embeddings"

#define MC_PROMPTS_KEY_FORMAT "format"              /* MC_PROMPTS_FORMAT */
#define MC_PROMPTS_KEY_FINGERPRINT "fingerprint"    /* mc_fingerprint */
#define MC_PROMPTS_KEY_LABELS "labels"              /* ["dog", ...] */
#define MC_PROMPTS_KEY_PHRASINGS "phrasings"        /* [["dog", "a puppy"], ...] */
#define MC_PROMPTS_KEY_TEMPLATES "templates"        /* ["a photo of {}.", ...] or [] */
#define MC_PROMPTS_KEY_LOGIT_SCALE "logit_scale"    /* raw parameter (ln scale) */
#define MC_PROMPTS_KEY_LOGIT_SCALE_EXP "logit_scale_exp"  /* clamp(exp, 0, 100) */

#define MC_PROMPTS_FORMAT "mobileclip-prompt-embeddings/1"

/* Texts per text-tower call while ensembling. */
#define MC_PROMPTS_BATCH 64

#endif
