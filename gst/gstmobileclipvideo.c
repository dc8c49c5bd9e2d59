/* gstmobileclipvideo.c — GstVideoFrame → mc_image. */
#include "gstmobileclipvideo.h"

static gboolean
pixel_format (GstVideoFormat format, mc_pixel_format * out)
{
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: *out = MC_PIXEL_RGB; break;
    case GST_VIDEO_FORMAT_BGR: *out = MC_PIXEL_BGR; break;
    case GST_VIDEO_FORMAT_RGBx: *out = MC_PIXEL_RGBX; break;
    case GST_VIDEO_FORMAT_BGRx: *out = MC_PIXEL_BGRX; break;
    case GST_VIDEO_FORMAT_xRGB: *out = MC_PIXEL_XRGB; break;
    case GST_VIDEO_FORMAT_xBGR: *out = MC_PIXEL_XBGR; break;
    case GST_VIDEO_FORMAT_RGBA: *out = MC_PIXEL_RGBA; break;
    case GST_VIDEO_FORMAT_BGRA: *out = MC_PIXEL_BGRA; break;
    case GST_VIDEO_FORMAT_ARGB: *out = MC_PIXEL_ARGB; break;
    case GST_VIDEO_FORMAT_ABGR: *out = MC_PIXEL_ABGR; break;
    case GST_VIDEO_FORMAT_GRAY8: *out = MC_PIXEL_GRAY8; break;
    case GST_VIDEO_FORMAT_I420: *out = MC_PIXEL_I420; break;
    case GST_VIDEO_FORMAT_YV12: *out = MC_PIXEL_YV12; break;
    case GST_VIDEO_FORMAT_NV12: *out = MC_PIXEL_NV12; break;
    case GST_VIDEO_FORMAT_NV21: *out = MC_PIXEL_NV21; break;
    case GST_VIDEO_FORMAT_YUY2: *out = MC_PIXEL_YUY2; break;
    case GST_VIDEO_FORMAT_UYVY: *out = MC_PIXEL_UYVY; break;
    case GST_VIDEO_FORMAT_Y444: *out = MC_PIXEL_Y444; break;
    case GST_VIDEO_FORMAT_Y42B: *out = MC_PIXEL_Y42B; break;
    case GST_VIDEO_FORMAT_I420_10LE: *out = MC_PIXEL_I420_10LE; break;
    default: return FALSE;
  }
  return TRUE;
}

/* Matrices the engine has no table for are replaced by the nearest one it
 * has: FCC is within 0.3% of BT.601 and SMPTE 240M close to BT.709.  Caps
 * without colorimetry were already given GStreamer's size-based default
 * (BT.601 for SD, BT.709 for HD) by gst_video_info_from_caps. */
static mc_yuv_matrix
yuv_matrix (GstVideoColorMatrix matrix, gint height)
{
  switch (matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT601:
    case GST_VIDEO_COLOR_MATRIX_FCC:
      return MC_YUV_BT601;
    case GST_VIDEO_COLOR_MATRIX_BT709:
    case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
      return MC_YUV_BT709;
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      return MC_YUV_BT2020;
    default:
      return height > 576 ? MC_YUV_BT709 : MC_YUV_BT601;
  }
}

gboolean
gst_mobileclip_image_from_frame (const GstVideoFrame * frame, mc_image * image)
{
  const GstVideoInfo *info = &frame->info;
  guint n_planes = GST_VIDEO_FRAME_N_PLANES (frame);

  if (!pixel_format (GST_VIDEO_INFO_FORMAT (info), &image->format))
    return FALSE;
  image->width = GST_VIDEO_INFO_WIDTH (info);
  image->height = GST_VIDEO_INFO_HEIGHT (info);
  for (guint p = 0; p < 3; p++) {
    image->planes[p] = p < n_planes ? GST_VIDEO_FRAME_PLANE_DATA (frame, p) : NULL;
    image->strides[p] = p < n_planes ? GST_VIDEO_FRAME_PLANE_STRIDE (frame, p) : 0;
  }
  image->matrix = yuv_matrix (info->colorimetry.matrix, image->height);
  image->full_range = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  return TRUE;
}
