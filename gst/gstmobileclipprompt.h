/* gstmobileclipprompt.h — mobileclipprompt: text prompts in, the prompt
 * embeddings file mobileclipfilter reads out. */
#ifndef __GST_MOBILECLIP_PROMPT_H__
#define __GST_MOBILECLIP_PROMPT_H__

#include <gst/gst.h>

#include "mobileclip.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILECLIP_PROMPT (gst_mobileclip_prompt_get_type ())
G_DECLARE_FINAL_TYPE (GstMobileClipPrompt, gst_mobileclip_prompt,
    GST, MOBILECLIP_PROMPT, GstElement)

struct _GstMobileClipPrompt {
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  gchar *model;
  gchar *config;
  gchar *vocab;
  gchar *templates_file;
  gint threads;

  /* streaming state */
  mc_context *ctx;             /* text tower, loaded READY→PAUSED */
  GString *text;               /* input collected until EOS */
};

GST_ELEMENT_REGISTER_DECLARE (mobileclipprompt);

G_END_DECLS

#endif /* __GST_MOBILECLIP_PROMPT_H__ */
