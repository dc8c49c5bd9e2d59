/* mobileclip.h — the public interface of the MobileCLIP inference engine.
 *
 * One opaque context holds a loaded model (image and/or text tower, weights
 * already reparameterized and re-laid for inference), a thread pool and the
 * activation buffers planned for the last input size.  Every call that can
 * fail returns an mc_status and, when given an mc_error, fills it with a
 * message that names the file, tensor or key at fault.
 *
 * A context is not thread-safe: use one per thread, or serialize calls.
 */
#ifndef MOBILECLIP_H
#define MOBILECLIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  MC_OK = 0,
  MC_ERR_INVALID_ARGUMENT, /* a caller passed something out of range */
  MC_ERR_IO,               /* a file is missing, unreadable or unwritable */
  MC_ERR_FORMAT,           /* a file is malformed (header, JSON, zip, pickle) */
  MC_ERR_CONFIG,           /* a model config key is missing or wrong */
  MC_ERR_WEIGHTS,          /* a tensor is missing, of the wrong shape or dtype */
  MC_ERR_UNSUPPORTED,      /* valid input this build cannot handle */
  MC_ERR_NOMEM,            /* an allocation failed */
  MC_ERR_VOCAB,            /* the BPE vocabulary is missing or malformed */
} mc_status;

#define MC_ERROR_MESSAGE_SIZE 512

typedef struct {
  mc_status code;
  char message[MC_ERROR_MESSAGE_SIZE];
} mc_error;

/* A short constant name for a status ("io", "format", ...). */
const char *mc_status_name (mc_status status);

typedef struct mc_context mc_context;

typedef enum {
  MC_TOWER_IMAGE = 1 << 0,
  MC_TOWER_TEXT = 1 << 1,
  MC_TOWER_ALL = MC_TOWER_IMAGE | MC_TOWER_TEXT,
} mc_towers;

/* Arithmetic of the matrix products (pointwise convs, linear layers,
 * qkv and output projections, heads).  Depthwise and dense convs, attention
 * products, norms and activations are float in every precision. */
typedef enum {
  MC_PRECISION_FP32 = 0, /* float everywhere: the reference path, and the
                            default (a zeroed mc_params gets it too) */
  MC_PRECISION_AUTO,     /* the fastest the CPU runs natively: BF16 where it
                            has a bf16 dot product (AVX512-BF16), else FP32;
                            never INT8 by itself;
                            MOBILECLIP_PRECISION=fp32|bf16|int8 overrides
                            this choice (and only this one) */
  MC_PRECISION_BF16,     /* weights stored as bfloat16 (half the bytes),
                            activations rounded to bfloat16 as they enter a
                            product, sums and everything else in float.  On
                            CPUs without AVX512-BF16 an emulation with the
                            same numerics runs (slower than FP32): useful to
                            check accuracy anywhere.  See docs/precision.md. */
  MC_PRECISION_INT8,     /* weights as 8-bit integers with one scale per
                            output channel, activations quantized to 8 bits
                            per row (pixel or token) as they enter a
                            product, integer sums, the rest in float.  Runs
                            on every CPU; faster than FP32 where the CPU has
                            AVX2.  See docs/precision.md. */
} mc_precision;

typedef struct {
  int n_threads;           /* worker threads; 0 = number of online CPUs */
  const char *config;      /* config name in configs/ ("mobileclip_s0") or a JSON
                              path; NULL: <model dir>/config.json */
  const char *vocab_path;  /* bpe_simple_vocab_16e6.txt.gz; NULL: MOBILECLIP_VOCAB,
                              then the model directory, then the installed copy */
  unsigned towers;         /* mc_towers to load; 0 = all the checkpoint holds */
  mc_precision precision;  /* default MC_PRECISION_FP32 (exact) */
} mc_params;

/* Defaults: all CPUs, config beside the weights, every tower, FP32. */
mc_params mc_params_default (void);

/* Loads a model.  `model` is a directory holding config.json and
 * weights.safetensors (or weights.pt), or a weights file (.safetensors or
 * Apple's .pt) with params->config naming the config. */
mc_status mc_context_load (const char *model, const mc_params *params,
    mc_context **out, mc_error *err);
void mc_context_free (mc_context *ctx);

/* Dimensions and identity of the loaded model. */
int mc_image_size (const mc_context *ctx);      /* config's input side, e.g. 256 */
int mc_embed_dim (const mc_context *ctx);       /* joint embedding size, e.g. 512 */
int mc_context_length (const mc_context *ctx);  /* text tokens, 77 */
int mc_has_image (const mc_context *ctx);
int mc_has_text (const mc_context *ctx);
int mc_n_threads (const mc_context *ctx);
/* The precision the context runs (FP32, BF16 or INT8, never AUTO). */
mc_precision mc_context_precision (const mc_context *ctx);
/* "auto", "fp32", "bf16", "int8"; and back (-1 for another name). */
const char *mc_precision_name (mc_precision p);
int mc_precision_from_name (const char *name);
const char *mc_model_name (const mc_context *ctx);   /* e.g. "mci0" */
const char *mc_fingerprint (const mc_context *ctx);  /* hex hash of the weights */
float mc_logit_scale (const mc_context *ctx);        /* raw parameter (ln scale) */

typedef enum {
  MC_LAYOUT_NCHW = 0, /* planar [N,3,H,W], as PyTorch and the CLI tensors */
  MC_LAYOUT_NHWC = 1, /* interleaved [N,H,W,3], as mc_preprocess writes */
} mc_layout;

/* Encodes n preprocessed RGB images (values in [0,1], no mean/std) of h×w into
 * out[n × mc_embed_dim], unnormalized.  Any h, w with h, w >= 32 and divisible
 * by 32 works; buffers are planned once per (n, h, w). */
mc_status mc_encode_images (mc_context *ctx, const float *pixels,
    mc_layout layout, int n, int h, int w, float *out, mc_error *err);

/* Model architecture summary for `mobileclip info`. */
typedef struct {
  const char *image_arch;   /* "mci0", ... or NULL */
  const char *text_arch;    /* "mct", "base" or NULL */
  int64_t image_params;     /* training-form parameter count of the tower */
  int64_t text_params;
  int64_t image_macs;       /* multiply-accumulates of one image at the
                               config's size, after reparameterization */
  int64_t text_macs;        /* of one 77-token prompt */
} mc_model_info;

void mc_get_model_info (const mc_context *ctx, mc_model_info *info);


/* ---- Text ---------------------------------------------------------------- */

#define MC_CONTEXT_LENGTH 77

/* Tokenizes UTF-8 text exactly as open_clip's SimpleTokenizer (without ftfy):
 * SOT, BPE tokens, EOT, truncated to 77 with EOT last, zero padded.  Needs a
 * context loaded with a text tower (the vocabulary is found at load). */
mc_status mc_tokenize (mc_context *ctx, const char *text,
    int32_t tokens[MC_CONTEXT_LENGTH], mc_error *err);

/* Encodes n token rows [n × 77] into out[n × mc_embed_dim], unnormalized. */
mc_status mc_encode_texts (mc_context *ctx, const int32_t *tokens, int n,
    float *out, mc_error *err);

/* ---- Preprocessing --------------------------------------------------------
 * Frames in camera/decoder formats to the model input: shorter side resized to
 * `size` with PIL's antialiased bilinear filter (horizontal pass, uint8
 * intermediate, vertical pass), centre crop, values / 255.  YUV is converted
 * on the fly with the frame's matrix and range; nothing is converted twice. */

typedef enum {
  MC_PIXEL_RGB, MC_PIXEL_BGR,
  MC_PIXEL_RGBX, MC_PIXEL_BGRX, MC_PIXEL_XRGB, MC_PIXEL_XBGR,
  MC_PIXEL_RGBA, MC_PIXEL_BGRA, MC_PIXEL_ARGB, MC_PIXEL_ABGR,
  MC_PIXEL_GRAY8,
  MC_PIXEL_I420, MC_PIXEL_YV12, MC_PIXEL_NV12, MC_PIXEL_NV21,
  MC_PIXEL_YUY2, MC_PIXEL_UYVY,
  /* planar Y,U,V: 4:4:4 (full-size chroma), 4:2:2 (chroma ⌈w/2⌉ × h), and
   * 4:2:0 with 10-bit samples in the low bits of little-endian uint16 */
  MC_PIXEL_Y444, MC_PIXEL_Y42B, MC_PIXEL_I420_10LE,
} mc_pixel_format;

typedef enum {
  MC_YUV_BT601,
  MC_YUV_BT709,
  MC_YUV_BT2020,
} mc_yuv_matrix;

typedef struct {
  mc_pixel_format format;
  int width, height;
  const uint8_t *planes[3];  /* packed formats use planes[0]; planar ones
                                list planes in memory order: I420 Y,U,V;
                                YV12 Y,V,U; NV12/NV21 Y, interleaved chroma;
                                Y444, Y42B, I420_10LE Y,U,V */
  int strides[3];            /* bytes per row of each plane (>= the row) */
  mc_yuv_matrix matrix;      /* YUV formats only */
  int full_range;            /* YUV formats only: 0 = video range (16..235) */
} mc_image;

typedef struct {
  int x, y, width, height;   /* a region of the image, clamped to it; width 0
                                = whole image; nothing inside = an error */
} mc_rect;

/* Keeps filter tables and scratch rows between frames of the same geometry,
 * so that per-frame work allocates nothing. */
typedef struct mc_preprocessor mc_preprocessor;

mc_preprocessor *mc_preprocessor_new (void);
void mc_preprocessor_free (mc_preprocessor *pp);

/* Writes the [size × size × 3] NHWC float input for `roi` of `src` (NULL:
 * the whole image) into dst, the region treated as the image.  RGB input is
 * bit-identical to torchvision Resize(size) + CenterCrop(size) + ToTensor()
 * on a Pillow image.  Not thread-safe per preprocessor (one per thread). */
mc_status mc_preprocess (mc_preprocessor *pp, const mc_image *src,
    const mc_rect *roi, int size, float *dst, mc_error *err);

/* ---- Zero-shot classification ------------------------------------------- */

typedef struct {
  int label;       /* row of the prompt matrix */
  float prob;      /* softmax over all labels of scale · cosine */
  float cosine;    /* cosine similarity of image and prompt embeddings */
} mc_score;

/* Scores one image embedding (any norm) against n_labels prompt embeddings
 * (rows of d floats, any norm) with logits = scale · cosine, where scale is
 * the model's exp(logit_scale) (Apple clamps it to 100: see
 * mc_logit_scale_exp).  Writes all n_labels scores sorted by decreasing
 * probability into out. */
void mc_zero_shot (const float *image_embedding, const float *text_embeddings,
    int n_labels, int d, float scale, mc_score *out);

/* clamp(exp(logit_scale), 0, 100), the scale Apple's v1 models apply. */
float mc_logit_scale_exp (const mc_context *ctx);

/* ---- Prompt sets and prompt embeddings -----------------------------------
 * A prompt set is a list of labels to classify into.  Each label has one or
 * more phrasings ("dog | a dog | a puppy": the first is the label's name),
 * and the set may have templates ("a photo of {}.").  A label's embedding is
 * the mean of the L2-normalized embeddings of all its phrasings × templates,
 * normalized again (prompt ensembling).  File formats: docs/prompts.md. */

typedef struct mc_prompt_set mc_prompt_set;

/* Labels separated by ';' and phrasings of a label by '|', e.g.
 * "dog|puppy; cat; a red car".  Entries are trimmed; empty ones are
 * skipped.  Errors (MC_ERR_INVALID_ARGUMENT): no label at all, text that is
 * not UTF-8. */
mc_status mc_prompt_set_from_string (const char *spec, mc_prompt_set **out,
    mc_error *err);

/* A prompt file: one label per line, phrasings separated by '|', lines
 * starting with '#' and blank lines ignored.  Errors name the line. */
mc_status mc_prompt_set_from_file (const char *path, mc_prompt_set **out,
    mc_error *err);

/* Sets the templates from a file (one per line, each holding "{}", which
 * is replaced by every phrasing; '#' comments), or from an array (n = 0
 * clears them: each phrasing is then used as written). */
mc_status mc_prompt_set_load_templates (mc_prompt_set *set, const char *path,
    mc_error *err);
mc_status mc_prompt_set_set_templates (mc_prompt_set *set,
    const char *const *templates, int n, mc_error *err);

void mc_prompt_set_free (mc_prompt_set *set);
int mc_prompt_set_count (const mc_prompt_set *set);
const char *mc_prompt_set_label (const mc_prompt_set *set, int label);
int mc_prompt_set_phrasing_count (const mc_prompt_set *set, int label);
const char *mc_prompt_set_phrasing (const mc_prompt_set *set, int label, int i);
int mc_prompt_set_template_count (const mc_prompt_set *set);
const char *mc_prompt_set_template (const mc_prompt_set *set, int i);

/* One L2-normalized embedding per label, with the labels, the model
 * fingerprint and the logit scale they were made with. */
typedef struct mc_prompt_embeddings mc_prompt_embeddings;

/* What mc_prompt_embeddings_compute did with its cache file. */
typedef struct {
  int n_labels;
  int n_reused;          /* labels taken from the cache file */
  int n_computed;        /* labels run through the text tower by this call */
  int n_texts_encoded;   /* phrasing × template texts encoded */
  int cache_hit;         /* every label came from the cache, file untouched */
  int model_changed;     /* the cache was made by other weights: ignored */
  int cache_invalid;     /* the cache was unreadable or malformed: ignored */
  int cache_written;     /* the cache file was (re)written */
  char warning[MC_ERROR_MESSAGE_SIZE];  /* "" or why the cache was ignored
                                           or could not be written */
} mc_prompt_cache_report;

/* Embeds a prompt set with ctx's text tower.  With a cache_path (may be
 * NULL), labels whose phrasings and templates match an entry of a cache made
 * by the same weights (mc_fingerprint) are reused, only the others are
 * encoded, and the file is rewritten (atomically) when its content changes.
 * A corrupt cache or a failed write is not an error: it is reported in
 * report->warning (report may be NULL).  A complete cache hit needs no text
 * tower.  Errors: no text tower when something must be encoded, no
 * vocabulary, allocation. */
mc_status mc_prompt_embeddings_compute (mc_context *ctx,
    const mc_prompt_set *set, const char *cache_path,
    mc_prompt_embeddings **out, mc_prompt_cache_report *report,
    mc_error *err);

/* Reads an embeddings file (a cache above, or any safetensors file with an
 * F32 `embeddings` [N, D] tensor; labels default to "0".."N−1").  Rows are
 * renormalized on load. */
mc_status mc_prompt_embeddings_load (const char *path,
    mc_prompt_embeddings **out, mc_error *err);
/* Writes the format mc_prompt_embeddings_load and the cache read. */
mc_status mc_prompt_embeddings_save (const mc_prompt_embeddings *pe,
    const char *path, mc_error *err);
void mc_prompt_embeddings_free (mc_prompt_embeddings *pe);

int mc_prompt_embeddings_count (const mc_prompt_embeddings *pe);
int mc_prompt_embeddings_dim (const mc_prompt_embeddings *pe);
/* [count × dim] rows, L2-normalized. */
const float *mc_prompt_embeddings_data (const mc_prompt_embeddings *pe);
const char *mc_prompt_embeddings_label (const mc_prompt_embeddings *pe, int i);
/* mc_fingerprint of the model that made them; "" when the file does not say. */
const char *mc_prompt_embeddings_fingerprint (const mc_prompt_embeddings *pe);
/* That model's clamp(exp(logit_scale), 0, 100); 0 when the file does not say. */
float mc_prompt_embeddings_logit_scale_exp (const mc_prompt_embeddings *pe);

/* ---- Profiling --------------------------------------------------------------
 * Wall time per op family, accumulated over forward passes while enabled,
 * so that `mobileclip bench` can show where the time goes. */

typedef struct {
  const char *family;   /* image: "conv", "depthwise", "gemm", "attention", "se",
                           "pool"; text: "depthwise", "norm", "gemm",
                           "attention", "other" (lookup and row copies) */
  double ms;
  int64_t calls;
} mc_profile_entry;

#define MC_PROFILE_MAX 8

/* Enables (and clears) or disables profiling of image and text forward
 * passes. */
void mc_set_profiling (mc_context *ctx, int enabled);
/* Copies up to max entries of the image encoder's families; returns the
 * number written. */
int mc_get_profile (const mc_context *ctx, mc_profile_entry *out, int max);
/* The same for the text encoder. */
int mc_get_text_profile (const mc_context *ctx, mc_profile_entry *out, int max);

/* ---- Utilities ------------------------------------------------------------ */

/* L2-normalizes each of n rows of length d in place (a zero row stays zero). */
void mc_l2_normalize (float *rows, int n, int d);

#ifdef __cplusplus
}
#endif
#endif /* MOBILECLIP_H */
