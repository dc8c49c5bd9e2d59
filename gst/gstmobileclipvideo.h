/* gstmobileclipvideo.h — the one place GStreamer video formats and frames
 * become the engine's mc_image. */
#ifndef __GST_MOBILECLIP_VIDEO_H__
#define __GST_MOBILECLIP_VIDEO_H__

#include <gst/video/video.h>

#include "mobileclip.h"

G_BEGIN_DECLS

/* The raw formats the element accepts, for its pad templates. */
#define GST_MOBILECLIP_VIDEO_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, " \
    "I420, YV12, NV12, NV21, GRAY8, YUY2, UYVY, Y444, Y42B, I420_10LE }"

/* Describes a mapped frame (planes in memory order, the frame's own strides,
 * its YUV matrix and range) without copying a pixel.  FALSE for a format
 * the engine does not read. */
gboolean gst_mobileclip_image_from_frame (const GstVideoFrame * frame,
    mc_image * image);

G_END_DECLS

#endif
