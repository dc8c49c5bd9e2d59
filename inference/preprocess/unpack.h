/* unpack.h — source rows of any pixel format to the resampler's layout.
 *
 * The horizontal pass reads a row as rg[] (uint64: R in bits 0..31, G in
 * bits 32..63) and b[] (uint32), see resample.h.  This module fills those for
 * the columns a geometry needs, from every mc_pixel_format:
 *
 * - RGB family: the colour bytes, alpha/padding ignored (exact).
 * - GRAY8: R = G = B = Y.
 * - YUV: converted per pixel while unpacking, no frame-sized buffer.  The
 *   frame's matrix (BT.601, BT.709, BT.2020 non-constant luminance) and range
 *   (video: Y 16..235, C 16..240; full: 0..255, chroma centred on 128).
 *   Chroma is upsampled by replication (nearest; each chroma sample covers its
 *   2×2 (4:2:0) or 2×1 (4:2:2) block of luma samples, i.e. pixel (x, y) takes
 *   sample (x/2, y/2) or (x/2, y); 4:4:4 has one per pixel).  16-bit fixed
 *   point (mc-preprocess.orc), within one unit of the exactly rounded
 *   conversion.  10-bit samples enter the same 16-bit scale (Y << 6 | Y >> 4,
 *   (C − 512) << 6) and share the weights.
 */
#ifndef MC_PREPROCESS_UNPACK_H
#define MC_PREPROCESS_UNPACK_H

#include <stdint.h>

#include "mobileclip.h"

typedef struct {
  /* YUV conversion constants of the current frame (mc-preprocess.orc) */
  int cy, crv, cgu, cgv, cbu, bias;

  /* scratch for up to `capacity` pixels of one row */
  int capacity;
  uint8_t *y, *u, *v;          /* split samples (packed and semi-planar YUV) */
  uint32_t *bounce;            /* an aligned copy of a row (see unpack.c) */
  uint8_t *rg8, *b8;           /* converted YUV row as bytes: R,G pairs and B */
  int16_t *rt, *gt, *bt;       /* chroma terms, one per pixel */
  /* the chroma terms held: chroma row, first pixel, pixel count (-1: none) */
  int terms_row, terms_x0, terms_n;
} mc_unpacker;

/* Sizes the scratch for rows of up to `capacity` pixels. */
mc_status mc_unpacker_reserve (mc_unpacker *up, int capacity, mc_error *err);
void mc_unpacker_clear (mc_unpacker *up);

/* Starts a frame: takes the YUV matrix/range, forgets cached chroma. */
void mc_unpacker_begin (mc_unpacker *up, const mc_image *img);

/* Unpacks pixels [x0, x1) of frame row y (0 <= x0 < x1 <= width, x0 even,
 * x1 - x0 <= capacity) into rg[0..] and b[0..].  rg and b must hold
 * x1 - x0 + 1 entries: a chroma pair may be written whole. */
void mc_unpack_row (mc_unpacker *up, const mc_image *img, int y, int x0, int x1,
    uint64_t *rg, uint32_t *b);

/* 1 for I420, YV12, NV12, NV21, YUY2, UYVY, Y444, Y42B and I420_10LE. */
int mc_pixel_format_is_yuv (mc_pixel_format format);

#endif
