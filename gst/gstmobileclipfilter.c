/* gstmobileclipfilter.c — zero-shot classification of video frames.
 *
 * An in-place GstBaseTransform that never writes a pixel: each analysed
 * frame is mapped read-only, preprocessed straight from its own format to the
 * model input, encoded, and scored against a label set built once from the
 * prompt properties.  Results travel as metas on the buffer and as element
 * messages.  For live input the encoder runs on a worker thread so frames are
 * never held; each result names the frame it was computed on.
 */

/**
 * SECTION:element-mobileclipfilter
 * @title: mobileclipfilter
 * @see_also: mobileclipprompt
 *
 * Classifies raw video frames against a set of text prompts with Apple's
 * MobileCLIP image and text encoders (zero-shot: any labels, no training).
 * Buffers pass through unchanged; the element adds, for each analysed frame:
 *
 * * a full-frame #GstVideoRegionOfInterestMeta of type `mobileclip` whose
 *   params hold one `mobileclip` structure per reported label (`label`,
 *   `label-id`, `confidence`, `cosine`, `rank`, `pts`), the label to show
 *   first;
 * * a #GstMobileClipMeta (library gstmobileclipmeta-1.0) with the top-k labels,
 *   probabilities, cosines, the model fingerprint and optionally the image
 *   embedding;
 * * if #GstMobileClipFilter:post-messages is %TRUE, an element message named
 *   `mobileclip` with these fields:
 *   * #GstClockTime `timestamp`: PTS of the analysed frame
 *   * #GstClockTime `stream-time`, `running-time`, `duration`: of that frame
 *   * #gchararray `label`: the best label, or `unknown`
 *   * #gint `label-id`, #gdouble `confidence`, #gdouble `cosine`
 *   * #GstValueArray `labels`, `label-ids`, `probabilities`, `cosines`: top-k
 *   * #gint `roi-id` (-1: whole frame) and the region `x`, `y`, `width`, `height`
 *
 * With #GstMobileClipFilter:roi-mode the element classifies each upstream
 * #GstVideoRegionOfInterestMeta instead of the whole frame (a detector's
 * boxes) and adds the `mobileclip` params to that ROI.
 *
 * When upstream is live, inference runs on a worker thread on the latest
 * frame: buffers are pushed at once and a result is attached to the next
 * outgoing buffer (its `pts` says which frame it describes).  For non-live
 * input every analysed frame carries its own result.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m videotestsrc num-buffers=30 ! mobileclipfilter model=/path/to/mobileclip_s0 prompts="a dog;a cat;a car" ! fakesink
 * ]| Prints one `mobileclip` message per frame.
 * |[
 * gst-launch-1.0 filesrc location=movie.mp4 ! decodebin ! mobileclipfilter model=/path/to/mobileclip_s0 prompts-file=prompts/coco.txt top-k=3 inference-interval=5 ! videoconvert ! autovideosink
 * ]| Tags every fifth frame of a file with the three best COCO labels.
 * |[
 * gst-launch-1.0 filesrc location=prompts/coco.txt ! mobileclipprompt model=/path/to/mobileclip_s0 ! filesink location=coco.emb
 * gst-launch-1.0 v4l2src ! mobileclipfilter model=/path/to/mobileclip_s0 embeddings-file=coco.emb threshold=0.3 ! fakesink
 * ]| Embeds the prompts once, then tags a live camera without the text encoder.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstmobileclipfilter.h"
#include "gstmobileclipvideo.h"

GST_DEBUG_CATEGORY_STATIC (gst_mobileclip_filter_debug);
#define GST_CAT_DEFAULT gst_mobileclip_filter_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_CONFIG NULL
#define DEFAULT_VOCAB NULL
#define DEFAULT_PROMPTS NULL
#define DEFAULT_PROMPTS_FILE NULL
#define DEFAULT_TEMPLATES_FILE NULL
#define DEFAULT_EMBEDDINGS_FILE NULL
#define DEFAULT_NEGATIVE_PROMPTS NULL
#define DEFAULT_TOP_K 5
#define DEFAULT_THRESHOLD 0.0
#define DEFAULT_INTERVAL 1
#define DEFAULT_THREADS 0
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_ATTACH_EMBEDDING FALSE
#define DEFAULT_ROI_MODE FALSE
#define DEFAULT_PRECISION GST_MOBILECLIP_PRECISION_FP32

#define MAX_TOP_K 1000
#define MAX_THREADS 256

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_CONFIG,
  PROP_VOCAB,
  PROP_PROMPTS,
  PROP_PROMPTS_FILE,
  PROP_TEMPLATES_FILE,
  PROP_EMBEDDINGS_FILE,
  PROP_NEGATIVE_PROMPTS,
  PROP_TOP_K,
  PROP_THRESHOLD,
  PROP_INTERVAL,
  PROP_THREADS,
  PROP_POST_MESSAGES,
  PROP_ATTACH_EMBEDDING,
  PROP_ROI_MODE,
  PROP_PRECISION,
};

#define VIDEO_CAPS GST_VIDEO_CAPS_MAKE (GST_MOBILECLIP_VIDEO_FORMATS)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (VIDEO_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (VIDEO_CAPS));

#define gst_mobileclip_filter_parent_class parent_class
G_DEFINE_TYPE (GstMobileClipFilter, gst_mobileclip_filter,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (mobileclipfilter, "mobileclipfilter",
    GST_RANK_NONE, GST_TYPE_MOBILECLIP_FILTER);

GType
gst_mobileclip_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILECLIP_PRECISION_AUTO, "bf16 where the CPU has AVX512-BF16, "
          "else fp32 (MOBILECLIP_PRECISION overrides)", "auto"},
    {GST_MOBILECLIP_PRECISION_FP32, "32-bit float everywhere: exact (default)", "fp32"},
    {GST_MOBILECLIP_PRECISION_BF16, "bfloat16 weights and matrix-product "
          "inputs, float sums (emulated, slower, without AVX512-BF16)", "bf16"},
    {GST_MOBILECLIP_PRECISION_INT8, "8-bit integer weights (per output "
          "channel) and matrix-product inputs (per pixel or token), integer "
          "sums, the rest in float", "int8"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobileClipPrecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_mobileclip_filter_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobileclip_filter_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobileclip_filter_finalize (GObject * object);

static gboolean gst_mobileclip_filter_start (GstBaseTransform * trans);
static gboolean gst_mobileclip_filter_stop (GstBaseTransform * trans);
static gboolean gst_mobileclip_filter_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_mobileclip_filter_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_mobileclip_filter_src_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_mobileclip_filter_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);
static gboolean gst_mobileclip_filter_propose_allocation (GstBaseTransform *
    trans, GstQuery * decide_query, GstQuery * query);
static GstFlowReturn gst_mobileclip_filter_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);

static void
gst_mobileclip_filter_class_init (GstMobileClipFilterClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_mobileclip_filter_set_property;
  gobject_class->get_property = gst_mobileclip_filter_get_property;
  gobject_class->finalize = gst_mobileclip_filter_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model folder (config.json + weights.safetensors or weights.pt) or "
          "a weights file (then set 'config'); loaded when the element starts",
          DEFAULT_MODEL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CONFIG,
      g_param_spec_string ("config", "Config",
          "Model config: a name from configs/ (e.g. mobileclip_s0) or a JSON "
          "file; unset: config.json beside the weights",
          DEFAULT_CONFIG, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_VOCAB,
      g_param_spec_string ("vocab", "Vocabulary",
          "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) for the text "
          "encoder; unset: $MOBILECLIP_VOCAB, the model folder, then the "
          "installed copy", DEFAULT_VOCAB, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PROMPTS,
      g_param_spec_string ("prompts", "Prompts",
          "Labels to score frames against, separated by ';', phrasings of a "
          "label by '|' (e.g. \"dog|puppy;a cat;a car\"); may change while "
          "playing",
          DEFAULT_PROMPTS, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PROMPTS_FILE,
      g_param_spec_string ("prompts-file", "Prompts file",
          "File of labels, one per line, phrasings separated by '|', '#' "
          "comments (format of prompts/*.txt, docs/prompts.md); its labels "
          "come before those of 'prompts'; may change while playing",
          DEFAULT_PROMPTS_FILE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TEMPLATES_FILE,
      g_param_spec_string ("templates-file", "Templates file",
          "Prompt templates, one per line with '{}' for the label "
          "(\"a photo of a {}.\"); each label's embedding is the normalized "
          "mean over templates; unset: the label text alone",
          DEFAULT_TEMPLATES_FILE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_EMBEDDINGS_FILE,
      g_param_spec_string ("embeddings-file", "Embeddings file",
          "Precomputed label embeddings (written by mobileclipprompt or the "
          "prompt cache, safetensors with tensor 'embeddings' [N,D] and the "
          "labels); used instead of 'prompts' and 'prompts-file', no text "
          "encoder needed", DEFAULT_EMBEDDINGS_FILE,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_NEGATIVE_PROMPTS,
      g_param_spec_string ("negative-prompts", "Negative prompts",
          "Labels separated by ';' that take part in the softmax but are "
          "never reported; when one scores best the frame is \"unknown\" "
          "(e.g. \"a blurry photo;an empty room\")",
          DEFAULT_NEGATIVE_PROMPTS, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "Number of best labels reported per frame or region",
          1, MAX_TOP_K, DEFAULT_TOP_K, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Minimum probability of the best label; below it the frame is "
          "reported as \"unknown\" (the top-k list is still attached)",
          0.0, 1.0, DEFAULT_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Analyse every N-th frame (1: every frame); the others pass "
          "without a result", 1, G_MAXUINT, DEFAULT_INTERVAL,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Encoder threads (0: one per online CPU)", 0, MAX_THREADS,
          DEFAULT_THREADS, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a 'mobileclip' element message on the bus for each result",
          DEFAULT_POST_MESSAGES, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ATTACH_EMBEDDING,
      g_param_spec_boolean ("attach-embedding", "Attach embedding",
          "Store the L2-normalized image embedding in the GstMobileClipMeta "
          "(for search indexes)", DEFAULT_ATTACH_EMBEDDING,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ROI_MODE,
      g_param_spec_boolean ("roi-mode", "ROI mode",
          "Classify each upstream GstVideoRegionOfInterestMeta (crop, "
          "preprocess, encode) instead of the whole frame, adding the result "
          "to that ROI", DEFAULT_ROI_MODE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "Arithmetic of the encoders' matrix products: fp32 (exact), auto, "
          "bf16 or int8 (see docs/precision.md)", GST_TYPE_MOBILECLIP_PRECISION,
          DEFAULT_PRECISION, rw | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileCLIP zero-shot classifier", "Filter/Analyzer/Video",
      "Tags video frames or regions with the best-matching text prompts "
      "using MobileCLIP; results as metas and element messages",
      "gst-mobileclip developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_mobileclip_filter_query);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_mobileclip_filter_propose_allocation);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mobileclip_filter_transform_ip);

  GST_DEBUG_CATEGORY_INIT (gst_mobileclip_filter_debug, "mobileclipfilter", 0,
      "MobileCLIP zero-shot classifier");
  gst_type_mark_as_plugin_api (GST_TYPE_MOBILECLIP_PRECISION, 0);
}

static void
gst_mobileclip_filter_init (GstMobileClipFilter * self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  self->top_k = DEFAULT_TOP_K;
  self->threshold = DEFAULT_THRESHOLD;
  self->interval = DEFAULT_INTERVAL;
  self->threads = DEFAULT_THREADS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->attach_embedding = DEFAULT_ATTACH_EMBEDDING;
  self->roi_mode = DEFAULT_ROI_MODE;
  self->precision = DEFAULT_PRECISION;
  gst_video_info_init (&self->info);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);

  /* Metas are added, so the buffer must be writable: not passthrough.  But
   * in place: a shared buffer is copied shallowly (metas, not pixels), and
   * the frame is only ever mapped for reading. */
  gst_base_transform_set_in_place (trans, TRUE);
  gst_base_transform_set_passthrough (trans, FALSE);
  gst_base_transform_set_gap_aware (trans, TRUE);
}

static void
gst_mobileclip_filter_finalize (GObject * object)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (object);

  g_free (self->model);
  g_free (self->config);
  g_free (self->vocab);
  gst_mobileclip_prompt_source_clear (&self->source);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Replaces a string property; TRUE when the value changed. */
static gboolean
replace_string (gchar ** field, const GValue * value)
{
  const gchar *s = g_value_get_string (value);

  if (s && !*s)
    s = NULL;
  if (g_strcmp0 (*field, s) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (s);
  return TRUE;
}

static void
gst_mobileclip_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (object);
  GstMobileClipPromptSource *src = &self->source;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      replace_string (&self->model, value);
      break;
    case PROP_CONFIG:
      replace_string (&self->config, value);
      break;
    case PROP_VOCAB:
      replace_string (&self->vocab, value);
      break;
    case PROP_PROMPTS:
      self->prompts_changed |= replace_string (&src->prompts, value);
      break;
    case PROP_PROMPTS_FILE:
      self->prompts_changed |= replace_string (&src->prompts_file, value);
      break;
    case PROP_TEMPLATES_FILE:
      self->prompts_changed |= replace_string (&src->templates_file, value);
      break;
    case PROP_EMBEDDINGS_FILE:
      self->prompts_changed |= replace_string (&src->embeddings_file, value);
      break;
    case PROP_NEGATIVE_PROMPTS:
      self->prompts_changed |= replace_string (&src->negative_prompts, value);
      break;
    case PROP_TOP_K:
      self->top_k = g_value_get_uint (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_ATTACH_EMBEDDING:
      self->attach_embedding = g_value_get_boolean (value);
      break;
    case PROP_ROI_MODE:
      self->roi_mode = g_value_get_boolean (value);
      break;
    case PROP_PRECISION:
      self->precision = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobileclip_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (object);
  const GstMobileClipPromptSource *src = &self->source;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_CONFIG:
      g_value_set_string (value, self->config);
      break;
    case PROP_VOCAB:
      g_value_set_string (value, self->vocab);
      break;
    case PROP_PROMPTS:
      g_value_set_string (value, src->prompts);
      break;
    case PROP_PROMPTS_FILE:
      g_value_set_string (value, src->prompts_file);
      break;
    case PROP_TEMPLATES_FILE:
      g_value_set_string (value, src->templates_file);
      break;
    case PROP_EMBEDDINGS_FILE:
      g_value_set_string (value, src->embeddings_file);
      break;
    case PROP_NEGATIVE_PROMPTS:
      g_value_set_string (value, src->negative_prompts);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, self->top_k);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_ATTACH_EMBEDDING:
      g_value_set_boolean (value, self->attach_embedding);
      break;
    case PROP_ROI_MODE:
      g_value_set_boolean (value, self->roi_mode);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- engine lifecycle ---------------------------------------------------- */

/* Posts an error or warning whose text carries the engine's message (which
 * names the file and the cause) and whose debug part the settings. */
static void
post_problem (GstMobileClipFilter * self, GstMessageType type, gint code,
    gchar * text, const gchar * detail)
{
  gchar *debug = NULL;

  GST_OBJECT_LOCK (self);
  debug = g_strdup_printf ("%s%smodel=%s config=%s vocab=%s",
      detail ? detail : "", detail ? "; " : "",
      GST_STR_NULL (self->model), GST_STR_NULL (self->config),
      GST_STR_NULL (self->vocab));
  GST_OBJECT_UNLOCK (self);
  gst_element_message_full (GST_ELEMENT (self), type, GST_RESOURCE_ERROR,
      code, text, debug, __FILE__, GST_FUNCTION, __LINE__);
}

/* The engine's precision for the property's value. */
static mc_precision
engine_precision (GstMobileClipPrecision p)
{
  switch (p) {
    case GST_MOBILECLIP_PRECISION_FP32: return MC_PRECISION_FP32;
    case GST_MOBILECLIP_PRECISION_BF16: return MC_PRECISION_BF16;
    case GST_MOBILECLIP_PRECISION_INT8: return MC_PRECISION_INT8;
    default: return MC_PRECISION_AUTO;
  }
}

static mc_context *
load_context (GstMobileClipFilter * self, gboolean with_text, mc_error * err)
{
  mc_params params = mc_params_default ();
  mc_context *ctx = NULL;
  gchar *model, *config, *vocab;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model);
  config = g_strdup (self->config);
  vocab = g_strdup (self->vocab);
  params.n_threads = self->threads;
  params.precision = engine_precision (self->precision);
  GST_OBJECT_UNLOCK (self);

  params.config = config;
  params.vocab_path = vocab;
  params.towers = MC_TOWER_IMAGE | (with_text ? MC_TOWER_TEXT : 0);
  if (!model) {
    err->code = MC_ERR_INVALID_ARGUMENT;
    g_strlcpy (err->message, "no model: set the 'model' property",
        sizeof err->message);
  } else if (mc_context_load (model, &params, &ctx, err) == MC_OK
      && !mc_has_image (ctx)) {
    err->code = MC_ERR_WEIGHTS;
    g_snprintf (err->message, sizeof err->message,
        "%s: the model has no image encoder", model);
    mc_context_free (ctx);
    ctx = NULL;
  }
  GST_DEBUG_OBJECT (self, "loaded %s (threads %d, text %d): %s", model,
      params.n_threads, with_text, ctx ? "ok" : err->message);
  g_free (model);
  g_free (config);
  g_free (vocab);
  return ctx;
}

/* Builds the label set from the prompt properties.  The model starts without
 * its text tower (an embeddings file or prompts found in the prompt cache
 * need none); the first time prompts must be encoded it is reloaded with it. */
static GstMobileClipLabelSet *
build_labels (GstMobileClipFilter * self, GError ** error)
{
  GstMobileClipPromptSource src = { 0 };
  GstMobileClipLabelSet *set;
  GError *local = NULL;

  GST_OBJECT_LOCK (self);
  gst_mobileclip_prompt_source_copy (&src, &self->source);
  self->prompts_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  set = gst_mobileclip_label_set_build (self->ctx, &src, &local);
  if (!set && g_error_matches (local, GST_MOBILECLIP_PROMPTS_ERROR,
          GST_MOBILECLIP_PROMPTS_ERROR_NEEDS_TEXT)) {
    mc_error err = { 0 };
    mc_context *ctx = load_context (self, TRUE, &err);

    g_clear_error (&local);
    if (!ctx) {
      g_set_error (&local, GST_MOBILECLIP_PROMPTS_ERROR,
          GST_MOBILECLIP_PROMPTS_ERROR_FILE,
          "the text encoder did not load: %s", err.message);
    } else {
      GST_INFO_OBJECT (self, "loaded the text tower to embed prompts");
      mc_context_free (self->ctx);
      self->ctx = ctx;
      set = gst_mobileclip_label_set_build (self->ctx, &src, &local);
    }
  }
  if (set) {
    self->label_builds++;
    GST_INFO_OBJECT (self, "%u labels (%u negative), dim %u, %u from the "
        "prompt cache, %u texts encoded", set->n_labels, set->n_negatives,
        set->dim, set->n_reused, set->n_texts_encoded);
    if (set->cache_warning)
      GST_WARNING_OBJECT (self, "prompt cache: %s", set->cache_warning);
  } else {
    g_propagate_error (error, local);
  }
  gst_mobileclip_prompt_source_clear (&src);
  return set;
}

static gboolean
gst_mobileclip_filter_start (GstBaseTransform * trans)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);
  mc_error err = { 0 };
  GError *error = NULL;

  self->ctx = load_context (self, FALSE, &err);
  if (!self->ctx) {
    post_problem (self, GST_MESSAGE_ERROR, err.code == MC_ERR_IO ?
        GST_RESOURCE_ERROR_OPEN_READ : GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("Could not load the model: %s", err.message),
        mc_status_name (err.code));
    return FALSE;
  }
  self->labels = build_labels (self, &error);
  if (!self->labels) {
    post_problem (self, GST_MESSAGE_ERROR,
        error->code == GST_MOBILECLIP_PROMPTS_ERROR_FILE ?
        GST_RESOURCE_ERROR_OPEN_READ : GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("Could not build the labels: %s", error->message),
        NULL);
    g_clear_error (&error);
    mc_context_free (self->ctx);
    self->ctx = NULL;
    return FALSE;
  }
  self->pp = mc_preprocessor_new ();
  self->scale = mc_logit_scale_exp (self->ctx);
  self->size = mc_image_size (self->ctx);
  self->dim = mc_embed_dim (self->ctx);
  self->frames_since_analysis = G_MAXUINT64;
  self->live_checked = FALSE;
  self->live = FALSE;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->qos_skipped = 0;
  self->worker_busy = FALSE;
  self->worker_stop = FALSE;
  self->worker_failed = FALSE;
  self->generation = 0;
  GST_INFO_OBJECT (self, "model %s (%s), input %d, embedding %d, scale %.3f",
      mc_model_name (self->ctx), mc_fingerprint (self->ctx), self->size,
      self->dim, self->scale);
  return TRUE;
}

static void
stop_worker (GstMobileClipFilter * self)
{
  g_mutex_lock (&self->lock);
  self->worker_stop = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (self->worker)
    g_thread_join (self->worker);
  self->worker = NULL;
}

static gboolean
gst_mobileclip_filter_stop (GstBaseTransform * trans)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);
  GstMobileClipJob *job = &self->job;

  stop_worker (self);
  gst_clear_buffer (&self->ready);
  g_clear_pointer (&self->labels, gst_mobileclip_label_set_free);
  g_clear_pointer (&self->pp, mc_preprocessor_free);
  g_clear_pointer (&self->ctx, mc_context_free);
  g_clear_pointer (&job->regions, g_free);
  g_clear_pointer (&job->input, g_free);
  job->regions_size = 0;
  job->input_size = 0;
  g_clear_pointer (&self->embeddings, g_free);
  g_clear_pointer (&self->scores, g_free);
  g_clear_pointer (&self->results, g_free);
  self->embeddings_size = self->scores_size = self->results_size = 0;
  if (self->qos_skipped)
    GST_INFO_OBJECT (self, "skipped %" G_GUINT64_FORMAT " late frames",
        self->qos_skipped);
  return TRUE;
}

static gboolean
gst_mobileclip_filter_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);

  if (!gst_video_info_from_caps (&self->info, incaps)) {
    GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "%s %dx%d", gst_video_format_to_string
      (GST_VIDEO_INFO_FORMAT (&self->info)), GST_VIDEO_INFO_WIDTH (&self->info),
      GST_VIDEO_INFO_HEIGHT (&self->info));
  return TRUE;
}

/* ---- events and queries -------------------------------------------------- */

static void
forget_pending (GstMobileClipFilter * self)
{
  g_mutex_lock (&self->lock);
  self->generation++;           /* a result still being computed is stale */
  gst_clear_buffer (&self->ready);
  g_mutex_unlock (&self->lock);
  self->frames_since_analysis = G_MAXUINT64;
  GST_OBJECT_LOCK (self);
  self->earliest_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobileclip_filter_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    forget_pending (self);
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* QoS is honoured by skipping the analysis of frames that are already late,
 * never by dropping them: the element is a pass-through analyser. */
static gboolean
gst_mobileclip_filter_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;

    gst_event_parse_qos (event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK (self);
    if (GST_CLOCK_TIME_IS_VALID (timestamp))
      self->earliest_time = diff > 0 ? timestamp + 2 * diff : timestamp + diff;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

/* Frames are pushed as soon as they arrive (live results are attached to a
 * later buffer instead of delaying this one), so the element adds nothing
 * to upstream's latency; answering records whether upstream is live. */
static gboolean
gst_mobileclip_filter_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);

  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max;

    if (!gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
      return FALSE;
    gst_query_parse_latency (query, &live, &min, &max);
    GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT
        ", max %" GST_TIME_FORMAT " (adding none)", live, GST_TIME_ARGS (min),
        GST_TIME_ARGS (max));
    gst_query_set_latency (query, live, min, max);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
}

static gboolean
gst_mobileclip_filter_propose_allocation (GstBaseTransform * trans,
    GstQuery * decide_query, GstQuery * query)
{
  if (!GST_BASE_TRANSFORM_CLASS (parent_class)->propose_allocation (trans,
          decide_query, query))
    return FALSE;
  /* strided and offset planes are read through GstVideoMeta */
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  gst_query_add_allocation_meta (query,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE, NULL);
  return TRUE;
}

/* ---- one analysis ---------------------------------------------------------- */

/* Grows a scratch array (contents not kept) to hold `needed` elements. */
static gboolean
ensure_capacity (gpointer buf, gsize * count, gsize needed, gsize elem_size)
{
  gpointer *p = buf;

  if (*count >= needed)
    return TRUE;
  g_free (*p);
  *p = g_try_malloc (needed * elem_size);
  *count = *p ? needed : 0;
  return *p != NULL;
}

/* The regions of this frame to classify: the whole frame, or each upstream
 * ROI (clipped to the frame; our own full-frame ROIs are not re-analysed). */
static void
collect_regions (GstMobileClipFilter * self, GstBuffer * buf,
    gboolean roi_mode, GstMobileClipJob * job)
{
  const gint fw = GST_VIDEO_INFO_WIDTH (&self->info);
  const gint fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  const GQuark own = g_quark_from_static_string (GST_MOBILECLIP_META_STRUCTURE_NAME);
  gpointer state = NULL;
  GstMeta *meta;

  job->n_regions = 0;
  if (!roi_mode) {
    if (job->regions_size < 1) {
      job->regions = g_renew (GstMobileClipRegion, job->regions, 1);
      job->regions_size = 1;
    }
    job->regions[0] = (GstMobileClipRegion) { -1, 0, 0, fw, fh };
    job->n_regions = 1;
    return;
  }
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    gint x0 = CLAMP ((gint) roi->x, 0, fw), y0 = CLAMP ((gint) roi->y, 0, fh);
    gint x1 = CLAMP ((gint) (roi->x + roi->w), 0, fw);
    gint y1 = CLAMP ((gint) (roi->y + roi->h), 0, fh);

    if (roi->roi_type == own || x1 <= x0 || y1 <= y0)
      continue;
    if (job->n_regions == job->regions_size) {
      job->regions_size = MAX (4, 2 * job->regions_size);
      job->regions = g_renew (GstMobileClipRegion, job->regions,
          job->regions_size);
    }
    job->regions[job->n_regions++] = (GstMobileClipRegion) {
    roi->id, x0, y0, x1 - x0, y1 - y0};
  }
}

/* Streaming thread: fills `job` with the frame's timing, regions and model
 * inputs.  The frame is mapped read-only and released before returning. */
static GstFlowReturn
prepare_job (GstMobileClipFilter * self, GstBuffer * buf, gboolean roi_mode,
    GstMobileClipJob * job)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  const gsize per_region = (gsize) self->size * self->size * 3;
  GstVideoFrame frame;
  mc_image image;
  mc_error err = { 0 };

  collect_regions (self, buf, roi_mode, job);
  job->pts = GST_BUFFER_PTS (buf);
  job->duration = GST_BUFFER_DURATION (buf);
  job->stream_time = gst_segment_to_stream_time (&trans->segment,
      GST_FORMAT_TIME, job->pts);
  job->running_time = gst_segment_to_running_time (&trans->segment,
      GST_FORMAT_TIME, job->pts);
  if (job->n_regions == 0)
    return GST_FLOW_OK;
  if (!ensure_capacity (&job->input, &job->input_size,
          per_region * job->n_regions, sizeof (gfloat))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, (NULL),
        ("no memory for %u model inputs", job->n_regions));
    return GST_FLOW_ERROR;
  }
  if (!gst_video_frame_map (&frame, &self->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("could not map the video frame for reading"));
    return GST_FLOW_ERROR;
  }
  if (!gst_mobileclip_image_from_frame (&frame, &image)) {
    gst_video_frame_unmap (&frame);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("unsupported format %s", GST_VIDEO_INFO_NAME (&self->info)));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  for (guint i = 0; i < job->n_regions; i++) {
    const GstMobileClipRegion *r = &job->regions[i];
    mc_rect rect = { r->x, r->y, r->width, r->height };

    if (mc_preprocess (self->pp, &image, r->roi_id < 0 ? NULL : &rect,
            self->size,
            job->input + i * per_region, &err) != MC_OK) {
      gst_video_frame_unmap (&frame);
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("preprocessing %s %dx%d failed: %s",
              GST_VIDEO_INFO_NAME (&self->info), image.width, image.height,
              err.message));
      return GST_FLOW_ERROR;
    }
  }
  gst_video_frame_unmap (&frame);
  return GST_FLOW_OK;
}

/* Inference thread: rebuilds the label set once after prompt properties
 * changed.  A bad new set is a warning and the old one stays in use. */
static void
refresh_labels (GstMobileClipFilter * self)
{
  GstMobileClipLabelSet *set;
  GError *error = NULL;
  gboolean changed;

  GST_OBJECT_LOCK (self);
  changed = self->prompts_changed;
  GST_OBJECT_UNLOCK (self);
  if (!changed)
    return;

  set = build_labels (self, &error);
  if (!set) {
    post_problem (self, GST_MESSAGE_WARNING, GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("New prompts not used: %s", error->message), NULL);
    g_clear_error (&error);
    return;
  }
  gst_mobileclip_label_set_free (self->labels);
  self->labels = set;
}

/* Inference thread: encodes the job's regions and scores them.  The results
 * come back as GstMobileClipMetas on an empty carrier buffer, ready to be
 * copied onto a frame; NULL after posting an error. */
static GstBuffer *
run_job (GstMobileClipFilter * self, const GstMobileClipJob * job)
{
  const GstMobileClipLabelSet *labels;
  const guint n = job->n_regions;
  guint top_k, n_positive;
  gdouble threshold;
  gboolean attach_embedding;
  GstBuffer *carrier;
  mc_error err = { 0 };

  refresh_labels (self);
  labels = self->labels;
  n_positive = labels->n_labels - labels->n_negatives;

  GST_OBJECT_LOCK (self);
  top_k = MIN (self->top_k, n_positive);
  threshold = self->threshold;
  attach_embedding = self->attach_embedding;
  GST_OBJECT_UNLOCK (self);

  if (!ensure_capacity (&self->embeddings, &self->embeddings_size,
          (gsize) n * self->dim, sizeof (gfloat))
      || !ensure_capacity (&self->scores, &self->scores_size,
          labels->n_labels, sizeof (mc_score))
      || !ensure_capacity (&self->results, &self->results_size,
          MAX (top_k, 1), sizeof (GstMobileClipResult))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, (NULL),
        ("no memory for %u embeddings", n));
    return NULL;
  }
  if (mc_encode_images (self->ctx, job->input, MC_LAYOUT_NHWC, (int) n,
          self->size, self->size, self->embeddings, &err) != MC_OK) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("image encoder failed: %s", err.message));
    return NULL;
  }
  mc_l2_normalize (self->embeddings, (int) n, self->dim);

  carrier = gst_buffer_new ();
  for (guint r = 0; r < n; r++) {
    const GstMobileClipRegion *region = &job->regions[r];
    const gfloat *embedding = self->embeddings + (gsize) r * self->dim;
    GstMobileClipMeta *meta;
    guint k = 0;

    mc_zero_shot (embedding, labels->embeddings, (int) labels->n_labels,
        self->dim, self->scale, self->scores);
    for (guint i = 0; i < labels->n_labels && k < top_k; i++) {
      const mc_score *s = &self->scores[i];
      if ((guint) s->label >= n_positive)
        continue;               /* negatives are scored, never reported */
      self->results[k].label = labels->labels[s->label];
      self->results[k].label_id = s->label;
      self->results[k].probability = s->prob;
      self->results[k].cosine = s->cosine;
      k++;
    }
    meta = gst_buffer_add_mobileclip_meta (carrier, self->results, k,
        attach_embedding ? embedding : NULL, self->dim,
        mc_fingerprint (self->ctx));
    meta->pts = job->pts;
    meta->roi_id = region->roi_id;
    meta->x = region->x;
    meta->y = region->y;
    meta->width = region->width;
    meta->height = region->height;
    meta->unknown = (guint) self->scores[0].label >= n_positive
        || k == 0 || self->results[0].probability < threshold;
  }
  return carrier;
}

/* ---- delivering results -------------------------------------------------- */

static void
post_messages (GstMobileClipFilter * self, GstBuffer * carrier,
    const GstMobileClipJob * job)
{
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (carrier, &state,
              GST_MOBILECLIP_META_API_TYPE))) {
    GstStructure *fields = gst_mobileclip_meta_to_structure
        ((GstMobileClipMeta *) meta, NULL);
    GstStructure *s = gst_structure_new (GST_MOBILECLIP_META_STRUCTURE_NAME,
        "timestamp", G_TYPE_UINT64, job->pts,
        "stream-time", G_TYPE_UINT64, job->stream_time,
        "running-time", G_TYPE_UINT64, job->running_time,
        "duration", G_TYPE_UINT64, job->duration, NULL);
    const guint n = gst_structure_n_fields (fields);

    for (guint i = 0; i < n; i++) {
      const gchar *name = gst_structure_nth_field_name (fields, i);
      if (strcmp (name, "pts") != 0)      /* already there as timestamp */
        gst_structure_set_value (s, name,
            gst_structure_get_value (fields, name));
    }
    gst_structure_free (fields);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
}

/* The ROI params: one "mobileclip" structure per reported label, best first,
 * so gst_video_region_of_interest_meta_get_param() returns the label to show.
 * An "unknown" region starts with an "unknown" entry of rank 0. */
static void
add_roi_params (GstVideoRegionOfInterestMeta * roi,
    const GstMobileClipMeta * meta)
{
  const GstMobileClipResult *top = gst_mobileclip_meta_get_top (meta);

  if (meta->unknown)
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new (GST_MOBILECLIP_META_STRUCTURE_NAME,
            "label", G_TYPE_STRING, GST_MOBILECLIP_UNKNOWN_LABEL,
            "label-id", G_TYPE_INT, -1,
            "confidence", G_TYPE_DOUBLE, top ? (gdouble) top->probability : 0.0,
            "cosine", G_TYPE_DOUBLE, top ? (gdouble) top->cosine : 0.0,
            "rank", G_TYPE_INT, 0, "pts", G_TYPE_UINT64, meta->pts, NULL));
  for (guint i = 0; i < meta->n_results; i++) {
    const GstMobileClipResult *r = &meta->results[i];
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new (GST_MOBILECLIP_META_STRUCTURE_NAME,
            "label", G_TYPE_STRING, r->label,
            "label-id", G_TYPE_INT, r->label_id,
            "confidence", G_TYPE_DOUBLE, (gdouble) r->probability,
            "cosine", G_TYPE_DOUBLE, (gdouble) r->cosine,
            "rank", G_TYPE_INT, (gint) i + 1,
            "pts", G_TYPE_UINT64, meta->pts, NULL));
  }
}

/* Streaming thread: copies the carrier's metas onto the outgoing buffer and
 * adds the ROI form.  Results of upstream ROIs only land on those ROIs when
 * this is the frame they were computed on (live results of earlier frames
 * keep their region in the GstMobileClipMeta). */
static void
attach_results (GstMobileClipFilter * self, GstBuffer * carrier,
    GstBuffer * buf, gboolean same_frame)
{
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (carrier, &state,
              GST_MOBILECLIP_META_API_TYPE))) {
    const GstMobileClipMeta *m = (const GstMobileClipMeta *) meta;
    GstMobileClipMeta *copy;
    GstVideoRegionOfInterestMeta *roi = NULL;

    copy = gst_buffer_add_mobileclip_meta (buf, m->results, m->n_results,
        m->embedding, m->embedding_dim, m->fingerprint);
    copy->pts = m->pts;
    copy->roi_id = m->roi_id;
    copy->x = m->x;
    copy->y = m->y;
    copy->width = m->width;
    copy->height = m->height;
    copy->unknown = m->unknown;

    if (m->roi_id < 0) {
      roi = gst_buffer_add_video_region_of_interest_meta (buf,
          GST_MOBILECLIP_META_STRUCTURE_NAME, 0, 0,
          GST_VIDEO_INFO_WIDTH (&self->info),
          GST_VIDEO_INFO_HEIGHT (&self->info));
    } else if (same_frame) {
      roi = gst_buffer_get_video_region_of_interest_meta_id (buf, m->roi_id);
    }
    if (roi)
      add_roi_params (roi, m);
  }
}

/* ---- the live worker ------------------------------------------------------- */

static gpointer
worker_main (gpointer data)
{
  GstMobileClipFilter *self = data;

  g_mutex_lock (&self->lock);
  for (;;) {
    guint generation;
    GstBuffer *carrier;
    gboolean post;

    while (!self->worker_stop && !self->worker_busy)
      g_cond_wait (&self->cond, &self->lock);
    if (self->worker_stop)
      break;
    generation = self->generation;
    g_mutex_unlock (&self->lock);

    carrier = run_job (self, &self->job);

    /* the result is ready for the next buffer before its message is out */
    g_mutex_lock (&self->lock);
    if (!carrier)
      self->worker_failed = TRUE;
    else if (generation == self->generation)
      gst_buffer_replace (&self->ready, carrier);
    g_mutex_unlock (&self->lock);

    GST_OBJECT_LOCK (self);
    post = self->post_messages;
    GST_OBJECT_UNLOCK (self);
    if (carrier && post)
      post_messages (self, carrier, &self->job);
    gst_clear_buffer (&carrier);

    g_mutex_lock (&self->lock);
    self->worker_busy = FALSE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* Asks upstream once per stream whether it is live; live input gets the
 * worker thread. */
static void
check_live (GstMobileClipFilter * self)
{
  GstQuery *query = gst_query_new_latency ();
  gboolean live = FALSE;

  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  gst_query_unref (query);
  self->live_checked = TRUE;
  self->live = live;
  GST_INFO_OBJECT (self, "upstream is %slive: inference %s", live ? "" : "not ",
      live ? "on a worker thread" : "on the streaming thread");
  if (live && !self->worker)
    self->worker = g_thread_new ("mobileclip-worker", worker_main, self);
}

static gboolean
is_late (GstMobileClipFilter * self, GstBuffer * buf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime running_time, earliest;

  GST_OBJECT_LOCK (self);
  earliest = self->earliest_time;
  GST_OBJECT_UNLOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (earliest) || !GST_BUFFER_PTS_IS_VALID (buf))
    return FALSE;
  running_time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  return GST_CLOCK_TIME_IS_VALID (running_time) && running_time <= earliest;
}

static GstFlowReturn
transform_live (GstMobileClipFilter * self, GstBuffer * buf, gboolean due,
    gboolean roi_mode)
{
  GstBuffer *ready;
  gboolean idle, failed;
  GstFlowReturn ret = GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  ready = g_steal_pointer (&self->ready);
  idle = !self->worker_busy;
  failed = self->worker_failed;
  g_mutex_unlock (&self->lock);

  if (ready) {
    attach_results (self, ready, buf, FALSE);
    gst_buffer_unref (ready);
  }
  if (failed)
    return GST_FLOW_ERROR;
  if (!due || !idle)
    return GST_FLOW_OK;

  /* the worker is idle, so the job is ours to fill */
  ret = prepare_job (self, buf, roi_mode, &self->job);
  if (ret != GST_FLOW_OK || self->job.n_regions == 0)
    return ret;
  self->frames_since_analysis = 0;
  g_mutex_lock (&self->lock);
  self->worker_busy = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static GstFlowReturn
transform_sync (GstMobileClipFilter * self, GstBuffer * buf, gboolean roi_mode)
{
  GstBuffer *carrier;
  GstFlowReturn ret;
  gboolean post;

  ret = prepare_job (self, buf, roi_mode, &self->job);
  if (ret != GST_FLOW_OK || self->job.n_regions == 0)
    return ret;
  self->frames_since_analysis = 0;
  carrier = run_job (self, &self->job);
  if (!carrier)
    return GST_FLOW_ERROR;
  attach_results (self, carrier, buf, TRUE);
  GST_OBJECT_LOCK (self);
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);
  if (post)
    post_messages (self, carrier, &self->job);
  gst_buffer_unref (carrier);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_mobileclip_filter_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobileClipFilter *self = GST_MOBILECLIP_FILTER (trans);
  guint interval;
  gboolean roi_mode, due;

  if (!self->live_checked)
    check_live (self);

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  roi_mode = self->roi_mode;
  GST_OBJECT_UNLOCK (self);

  /* frames_since_analysis restarts at 0 on each analysed frame */
  if (self->frames_since_analysis != G_MAXUINT64)
    self->frames_since_analysis++;
  due = self->frames_since_analysis >= interval
      && !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP);

  if (self->live)
    return transform_live (self, buf, due, roi_mode);
  if (due && is_late (self, buf)) {
    self->qos_skipped++;
    GST_LOG_OBJECT (self, "late frame %" GST_TIME_FORMAT ": not analysed",
        GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
    return GST_FLOW_OK;
  }
  return due ? transform_sync (self, buf, roi_mode) : GST_FLOW_OK;
}
