/* plugin.c — the `mobileclip` plugin: registers its elements. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstmobileclipfilter.h"
#include "gstmobileclipprompt.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (mobileclipfilter, plugin);
  ret |= GST_ELEMENT_REGISTER (mobileclipprompt, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, mobileclip,
    "Zero-shot video classification with Apple's MobileCLIP",
    plugin_init, PACKAGE_VERSION, "MIT", "gst-mobileclip",
    "https://github.com/gst-mobileclip")
