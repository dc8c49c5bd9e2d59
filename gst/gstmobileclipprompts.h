/* gstmobileclipprompts.h — the label set the elements score frames against:
 * labels and their L2-normalized text embeddings, built from the element's
 * prompt properties through the engine's prompt-set and cache API. */
#ifndef __GST_MOBILECLIP_PROMPTS_H__
#define __GST_MOBILECLIP_PROMPTS_H__

#include <glib.h>

#include "mobileclip.h"

G_BEGIN_DECLS

/* Where the labels come from (the element's properties; NULL = unset). */
typedef struct {
  gchar *prompts;            /* "a;b;c" */
  gchar *prompts_file;       /* prompts/ format, one label per line */
  gchar *templates_file;     /* "a photo of a {}." per line */
  gchar *embeddings_file;    /* a cache / mobileclipprompt file */
  gchar *negative_prompts;   /* "a;b": scored, never reported */
} GstMobileClipPromptSource;

typedef struct {
  guint n_labels;            /* positives first, then negatives */
  guint n_negatives;
  guint dim;
  gchar **labels;            /* n_labels */
  gfloat *embeddings;        /* n_labels × dim, L2-normalized rows */

  /* how it was built */
  guint n_reused;            /* labels taken from the prompt cache */
  guint n_texts_encoded;     /* phrasing × template texts run through the encoder */
  gchar *cache_warning;      /* why the cache was ignored or not written, or NULL */
} GstMobileClipLabelSet;

#define GST_MOBILECLIP_PROMPTS_ERROR (gst_mobileclip_prompts_error_quark ())
GQuark gst_mobileclip_prompts_error_quark (void);

typedef enum {
  GST_MOBILECLIP_PROMPTS_ERROR_EMPTY,     /* no label at all */
  GST_MOBILECLIP_PROMPTS_ERROR_FILE,      /* a file is missing or malformed */
  GST_MOBILECLIP_PROMPTS_ERROR_MODEL,     /* embeddings of another model or size */
  GST_MOBILECLIP_PROMPTS_ERROR_NEEDS_TEXT,/* the context has no text tower */
  GST_MOBILECLIP_PROMPTS_ERROR_ENGINE,    /* tokenizer or text encoder failed */
} GstMobileClipPromptsError;

void gst_mobileclip_prompt_source_clear (GstMobileClipPromptSource * src);
void gst_mobileclip_prompt_source_copy (GstMobileClipPromptSource * dst,
    const GstMobileClipPromptSource * src);


/* Splits "a; b;;c" into trimmed, non-empty labels (NULL-terminated). */
gchar **gst_mobileclip_split_labels (const gchar * list);

/* Builds the label set; on failure returns NULL and sets error with a
 * message naming the file or property at fault.  Prompts found in the
 * prompt cache need no text tower; others fail with
 * GST_MOBILECLIP_PROMPTS_ERROR_NEEDS_TEXT when ctx has none. */
GstMobileClipLabelSet *gst_mobileclip_label_set_build (mc_context * ctx,
    const GstMobileClipPromptSource * src, GError ** error);
void gst_mobileclip_label_set_free (GstMobileClipLabelSet * set);

/* Embeds prompt-file text (one label per line, the prompts-file format) with
 * the templates (NULL: none) and returns the embeddings-file bytes (the
 * cache's safetensors format). */
GBytes *gst_mobileclip_embeddings_serialize (mc_context * ctx,
    const gchar * text, const gchar * templates_file, GError ** error);

G_END_DECLS

#endif
