/* gstmobileclipprompt.c — embeds a text stream of prompts, one per line,
 * into the embeddings file mobileclipfilter's embeddings-file reads.
 *
 * The whole input is one prompt list, so the element collects it until EOS,
 * runs the text encoder once, and pushes one buffer holding the file.
 */

/**
 * SECTION:element-mobileclipprompt
 * @title: mobileclipprompt
 * @see_also: mobileclipfilter
 *
 * Reads UTF-8 text with one label per line (the prompts-file format: a line
 * may give several phrasings of its label separated by `|`; blank lines and
 * lines starting with `#` are skipped), embeds every label with the
 * MobileCLIP text encoder (averaging over #GstMobileClipPrompt:templates-file
 * when set) and, at end of stream, outputs one buffer holding the embeddings
 * file: safetensors with an F32 tensor `embeddings` [N, D] (rows
 * L2-normalized) and `__metadata__` naming the labels, the model fingerprint
 * and the logit scale — the prompt cache's format.
 *
 * mobileclipfilter's embeddings-file property reads that file, so a fixed
 * label set is embedded once and classified with no text encoder at all.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=prompts/coco.txt ! mobileclipprompt model=/path/to/mobileclip_s0 ! filesink location=coco.emb
 * gst-launch-1.0 videotestsrc num-buffers=10 ! mobileclipfilter model=/path/to/mobileclip_s0 embeddings-file=coco.emb ! fakesink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmobileclipprompt.h"
#include "gstmobileclipprompts.h"

GST_DEBUG_CATEGORY_STATIC (gst_mobileclip_prompt_debug);
#define GST_CAT_DEFAULT gst_mobileclip_prompt_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_CONFIG NULL
#define DEFAULT_VOCAB NULL
#define DEFAULT_TEMPLATES_FILE NULL
#define DEFAULT_THREADS 0

#define MAX_THREADS 256

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_CONFIG,
  PROP_VOCAB,
  PROP_TEMPLATES_FILE,
  PROP_THREADS,
};

#define EMBEDDINGS_CAPS "application/x-mobileclip-embeddings"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (EMBEDDINGS_CAPS));

#define gst_mobileclip_prompt_parent_class parent_class
G_DEFINE_TYPE (GstMobileClipPrompt, gst_mobileclip_prompt, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (mobileclipprompt, "mobileclipprompt",
    GST_RANK_NONE, GST_TYPE_MOBILECLIP_PROMPT);

static void gst_mobileclip_prompt_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_mobileclip_prompt_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_mobileclip_prompt_finalize (GObject * object);
static GstStateChangeReturn gst_mobileclip_prompt_change_state (GstElement *
    element, GstStateChange transition);
static GstFlowReturn gst_mobileclip_prompt_chain (GstPad * pad,
    GstObject * parent, GstBuffer * buf);
static gboolean gst_mobileclip_prompt_sink_event (GstPad * pad,
    GstObject * parent, GstEvent * event);

static void
gst_mobileclip_prompt_class_init (GstMobileClipPromptClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_mobileclip_prompt_set_property;
  gobject_class->get_property = gst_mobileclip_prompt_get_property;
  gobject_class->finalize = gst_mobileclip_prompt_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model folder (config.json + weights) or weights file whose text "
          "encoder embeds the prompts; use the model mobileclipfilter will "
          "load", DEFAULT_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_CONFIG,
      g_param_spec_string ("config", "Config",
          "Model config: a name from configs/ or a JSON file; unset: "
          "config.json beside the weights", DEFAULT_CONFIG, flags));
  g_object_class_install_property (gobject_class, PROP_VOCAB,
      g_param_spec_string ("vocab", "Vocabulary",
          "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz); unset: "
          "$MOBILECLIP_VOCAB, the model folder, then the installed copy",
          DEFAULT_VOCAB, flags));
  g_object_class_install_property (gobject_class, PROP_TEMPLATES_FILE,
      g_param_spec_string ("templates-file", "Templates file",
          "Prompt templates, one per line with '{}' for the label; each "
          "label's embedding is the normalized mean over templates",
          DEFAULT_TEMPLATES_FILE, flags));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Encoder threads (0: one per online CPU)", 0, MAX_THREADS,
          DEFAULT_THREADS, flags));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MobileCLIP prompt embedder", "Filter/Converter/Text",
      "Embeds text prompts (one per line) into the embeddings file "
      "mobileclipfilter reads", "gst-mobileclip developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_mobileclip_prompt_change_state);

  GST_DEBUG_CATEGORY_INIT (gst_mobileclip_prompt_debug, "mobileclipprompt", 0,
      "MobileCLIP prompt embedder");
}

static void
gst_mobileclip_prompt_init (GstMobileClipPrompt * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mobileclip_prompt_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mobileclip_prompt_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->threads = DEFAULT_THREADS;
}

static void
gst_mobileclip_prompt_finalize (GObject * object)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (object);

  g_free (self->model);
  g_free (self->config);
  g_free (self->vocab);
  g_free (self->templates_file);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mobileclip_prompt_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (object);
  gchar **field = NULL;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      field = &self->model;
      break;
    case PROP_CONFIG:
      field = &self->config;
      break;
    case PROP_VOCAB:
      field = &self->vocab;
      break;
    case PROP_TEMPLATES_FILE:
      field = &self->templates_file;
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  if (field) {
    const gchar *s = g_value_get_string (value);
    g_free (*field);
    *field = (s && *s) ? g_strdup (s) : NULL;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobileclip_prompt_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (object);

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
    case PROP_TEMPLATES_FILE:
      g_value_set_string (value, self->templates_file);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_mobileclip_prompt_start (GstMobileClipPrompt * self)
{
  mc_params params = mc_params_default ();
  mc_error err = { 0 };
  gchar *model;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model);
  params.config = self->config;
  params.vocab_path = self->vocab;
  params.n_threads = self->threads;
  params.towers = MC_TOWER_TEXT;
  if (model)
    mc_context_load (model, &params, &self->ctx, &err);
  GST_OBJECT_UNLOCK (self);

  if (!model) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model: set the 'model' property"), (NULL));
    return FALSE;
  }
  if (!self->ctx || !mc_has_text (self->ctx)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the text encoder: %s", self->ctx ?
            "the model has no text tower" : err.message),
        ("model=%s (%s)", model, mc_status_name (err.code)));
    g_clear_pointer (&self->ctx, mc_context_free);
    g_free (model);
    return FALSE;
  }
  g_free (model);
  self->text = g_string_new (NULL);
  return TRUE;
}

static void
gst_mobileclip_prompt_stop (GstMobileClipPrompt * self)
{
  g_clear_pointer (&self->ctx, mc_context_free);
  if (self->text)
    g_string_free (self->text, TRUE);
  self->text = NULL;
}

static GstStateChangeReturn
gst_mobileclip_prompt_change_state (GstElement * element,
    GstStateChange transition)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_mobileclip_prompt_start (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_mobileclip_prompt_stop (self);
  return ret;
}

static GstFlowReturn
gst_mobileclip_prompt_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (parent);
  GstMapInfo map;

  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_string_append_len (self->text, (const gchar *) map.data, map.size);
    gst_buffer_unmap (buf, &map);
  }
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

/* At EOS: the collected text becomes one buffer holding the whole file. */
static gboolean
push_embeddings (GstMobileClipPrompt * self)
{
  GError *error = NULL;
  GstSegment segment;
  GstBuffer *out;
  GBytes *bytes;
  gchar *templates;

  if (!g_utf8_validate (self->text->str, self->text->len, NULL)) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("The prompt text is not UTF-8"),
        (NULL));
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  templates = g_strdup (self->templates_file);
  GST_OBJECT_UNLOCK (self);
  bytes = gst_mobileclip_embeddings_serialize (self->ctx, self->text->str,
      templates, &error);
  g_free (templates);
  if (!bytes) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Could not embed the prompts: %s", error->message), (NULL));
    g_clear_error (&error);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "%" G_GSIZE_FORMAT " bytes of embeddings",
      g_bytes_get_size (bytes));

  if (!gst_pad_has_current_caps (self->srcpad)) {
    /* sources of untyped bytes (filesrc) send no caps event */
    GstCaps *caps = gst_static_pad_template_get_caps (&src_template);
    gst_pad_set_caps (self->srcpad, caps);
    gst_caps_unref (caps);
  }
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&segment));
  out = gst_buffer_new_wrapped_bytes (bytes);
  g_bytes_unref (bytes);
  GST_BUFFER_OFFSET (out) = 0;
  GST_BUFFER_OFFSET_END (out) = gst_buffer_get_size (out);
  return gst_pad_push (self->srcpad, out) >= GST_FLOW_OK
      || GST_PAD_IS_FLUSHING (self->srcpad);
}

static gboolean
gst_mobileclip_prompt_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstMobileClipPrompt *self = GST_MOBILECLIP_PROMPT (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps = gst_static_pad_template_get_caps (&src_template);
      gboolean ok = gst_pad_set_caps (self->srcpad, caps);
      gst_caps_unref (caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      /* the output is one file from byte 0: its segment comes with it */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      g_string_truncate (self->text, 0);
      break;
    case GST_EVENT_EOS:
      if (!push_embeddings (self)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}
