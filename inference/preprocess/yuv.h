/* yuv.h — YUV frame rows to RGBx, for the columns preprocessing reads.
 *
 * Colorimetry: Y'CbCr with the frame's matrix (BT.601, BT.709, BT.2020
 * non-constant luminance) and range (video: Y 16..235, C 16..240; full:
 * 0..255, C centred on 128).  Chroma is upsampled by replication (nearest,
 * co-sited with the even luma sample): pixel (x, y) of a 4:2:0 frame takes
 * chroma sample (x/2, y/2), of a 4:2:2 frame (x/2, y).  The arithmetic is 16-bit
 * fixed point (see mc-preprocess.orc), within one unit of the exactly
 * rounded conversion.
 */
#ifndef MC_PREPROCESS_YUV_H
#define MC_PREPROCESS_YUV_H

#include <stdint.h>

#include "mobileclip.h"

typedef struct {
  int yoff;          /* 16 (video range) or 0 */
  int ycoef;         /* luma scale · 2^14 */
  int64_t kc1, kc2;  /* four 16-bit chroma weights each, · 2^13 */
} mc_yuv_coefs;

/* 1 for the YUV formats, 0 otherwise. */
int mc_pixel_format_is_yuv (mc_pixel_format format);

void mc_yuv_coefs_compute (mc_yuv_matrix matrix, int full_range,
    mc_yuv_coefs *coefs);

/* Converts pixels [x0, x1) of frame row y (0 <= x0 < x1 <= width, x0 even)
 * into dst as R,G,B,255 quadruplets.  dst must hold x1 - x0 + 1 pixels: the
 * last pair is written whole. */
void mc_yuv_row_to_rgbx (const mc_image *img, const mc_yuv_coefs *coefs,
    int y, int x0, int x1, uint8_t *dst);

#endif
