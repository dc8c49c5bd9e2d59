/* unpack.c — format front-ends: rows to the resampler's rg/b layout. */
#include "unpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mc-preprocess-orc.h"
#include "runtime/error.h"

int
mc_pixel_format_is_yuv (mc_pixel_format format)
{
  switch (format) {
    case MC_PIXEL_I420: case MC_PIXEL_YV12: case MC_PIXEL_NV12:
    case MC_PIXEL_NV21: case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
    case MC_PIXEL_Y444: case MC_PIXEL_Y42B: case MC_PIXEL_I420_10LE:
      return 1;
    default:
      return 0;
  }
}

void
mc_unpacker_clear (mc_unpacker *up)
{
  free (up->y);
  free (up->bounce);
  free (up->rg8);
  free (up->b8);
  free (up->u);
  free (up->v);
  free (up->rt);
  free (up->gt);
  free (up->bt);
  memset (up, 0, sizeof *up);
}

mc_status
mc_unpacker_reserve (mc_unpacker *up, int capacity, mc_error *err)
{
  if (up->capacity >= capacity)
    return MC_OK;
  mc_unpacker_clear (up);
  /* one pair of slack: chroma is handled by whole pairs */
  size_t n = (size_t) capacity + 2;
  up->y = malloc (n);
  up->bounce = malloc (n * 4);
  up->rg8 = malloc (n * 2);
  up->b8 = malloc (n);
  /* split chroma (n/2 bytes), or aligned copies of 10-bit chroma (n/2
   * samples of 2 bytes) */
  up->u = malloc (n + 2);
  up->v = malloc (n + 2);
  up->rt = malloc (n * sizeof (int16_t));
  up->gt = malloc (n * sizeof (int16_t));
  up->bt = malloc (n * sizeof (int16_t));
  if (!up->y || !up->bounce || !up->rg8 || !up->b8 || !up->u || !up->v || !up->rt || !up->gt || !up->bt) {
    mc_unpacker_clear (up);
    return mc_err (err, MC_ERR_NOMEM, "preprocess: out of memory for %d-pixel rows",
        capacity);
  }
  up->capacity = capacity;
  up->terms_row = -1;
  return MC_OK;
}

void
mc_unpacker_begin (mc_unpacker *up, const mc_image *img)
{
  up->terms_row = -1;
  if (!mc_pixel_format_is_yuv (img->format))
    return;

  double kr, kb;
  switch (img->matrix) {
    case MC_YUV_BT709: kr = 0.2126; kb = 0.0722; break;
    case MC_YUV_BT2020: kr = 0.2627; kb = 0.0593; break;
    case MC_YUV_BT601:
    default: kr = 0.299; kb = 0.114; break;
  }
  const int full = img->full_range != 0;
  const double kg = 1.0 - kr - kb;
  /* Video range spreads 219 luma and 224 chroma steps over 0..255. */
  const double ys = full ? 1.0 : 255.0 / 219.0;
  double cs = full ? 1.0 : 255.0 / 224.0;
  const double yoff = full ? 0.0 : 16.0;

  /* Y·257 / 65536 = Y / 255.004, so mulhuw (Y·257, ys·32·255) = Y·ys·32. */
  up->cy = (int) lrint (ys * 32.0 * 255.0);
  if (img->format == MC_PIXEL_I420_10LE) {
    /* 10 bits: luma enters as Y << 6 and must give Y·255·32 / (1023 or
     * 876 video steps); chroma enters as (C − 512) << 6, a quarter of the
     * 8-bit scale, over 1023 (full) or 896 = 4·224 (video) steps.  The
     * video-range offset, 64/876 = 16/219, keeps the bias below. */
    up->cy = (int) lrint (32.0 * 255.0 * 1024.0 / (full ? 1023.0 : 876.0));
    cs = full ? 1020.0 / 1023.0 : 255.0 / 224.0;
  }
  /* mulhsw ((C-128) << 8, w·2^13) = (C-128)·w·32 */
  up->crv = (int) lrint (2.0 * (1.0 - kr) * cs * 8192.0);
  up->cbu = (int) lrint (2.0 * (1.0 - kb) * cs * 8192.0);
  up->cgu = (int) lrint (-2.0 * kb * (1.0 - kb) / kg * cs * 8192.0);
  up->cgv = (int) lrint (-2.0 * kr * (1.0 - kr) / kg * cs * 8192.0);
  /* Half a unit for the final >> 5, minus the luma offset in 1/32 units. */
  up->bias = (int) lrint (16.0 - yoff * ys * 32.0);
}

static int
host_is_little_endian (void)
{
  const uint16_t probe = 1;
  return *(const uint8_t *) &probe == 1;
}

/* R,G byte pairs and B bytes to the rg/b words.  u32 pairs read back as
 * R | G << 32 only on little-endian machines; elsewhere swap in C. */
static void
widen_rgb8 (const uint8_t *rg8, const uint8_t *b8, int n, uint64_t *rg, uint32_t *b)
{
  mc_orc_widen_u8_u32 ((uint32_t *) rg, rg8, 2 * n);
  mc_orc_widen_u8_u32 (b, b8, n);
  if (!host_is_little_endian ())
    for (int i = 0; i < n; i++)
      rg[i] = rg[i] << 32 | rg[i] >> 32;
}

/* ORC kernels need each array aligned to its element size.  Frame rows
 * with odd strides (or odd offsets) are copied to aligned scratch first. */
static const uint8_t *
aligned_source_to (uint8_t *scratch, const uint8_t *p, size_t elem, size_t bytes)
{
  if (((uintptr_t) p & (elem - 1)) == 0)
    return p;
  memcpy (scratch, p, bytes);
  return scratch;
}

static const uint8_t *
aligned_source (mc_unpacker *up, const uint8_t *p, size_t elem, size_t bytes)
{
  return aligned_source_to ((uint8_t *) up->bounce, p, elem, bytes);
}

/* Chroma terms for pixels [x0, x0 + 2n) from n chroma samples. */
static void
chroma_terms (mc_unpacker *up, const uint8_t *u, const uint8_t *v, int n)
{
  mc_orc_chroma_terms (up->rt, up->gt, up->bt, u, v, up->crv, up->cgu, up->cgv,
      up->cbu, up->bias, n);
}

/* Native uint16 samples from little-endian bytes: aligned for ORC, and
 * byte-swapped on big-endian machines (into dst, which then holds them). */
static const uint16_t *
samples_le16 (const uint8_t *p, int n, uint8_t *dst)
{
  if (host_is_little_endian ())
    return (const uint16_t *) aligned_source_to (dst, p, 2, 2 * (size_t) n);
  uint16_t *d = (uint16_t *) dst;
  for (int i = 0; i < n; i++)
    d[i] = (uint16_t) (p[2 * i] | p[2 * i + 1] << 8);
  return d;
}

static void
unpack_yuv (mc_unpacker *up, const mc_image *img, int y, int x0, int x1,
    uint64_t *rg, uint32_t *b)
{
  const mc_pixel_format f = img->format;
  const int c0 = x0 / 2, nc = (x1 + 1) / 2 - c0;   /* chroma samples */
  const uint8_t *row = img->planes[0] + (size_t) y * img->strides[0];
  const uint8_t *luma;

  if (f == MC_PIXEL_YUY2 || f == MC_PIXEL_UYVY) {
    /* 4:2:2: chroma on every row; rows hold whole macropixels even for odd
     * widths, so the last pair can be split whole. */
    const uint8_t *mp = aligned_source (up, row + 4 * (size_t) c0, 4, 4 * (size_t) nc);
    if (f == MC_PIXEL_YUY2)
      mc_orc_split_yuy2 (up->y, up->u, up->v, mp, nc);
    else
      mc_orc_split_uyvy (up->y, up->u, up->v, mp, nc);
    chroma_terms (up, up->u, up->v, nc);
    up->terms_row = -1;
    luma = up->y;
  } else if (f == MC_PIXEL_Y444) {
    /* a chroma sample per pixel: terms are not shared, nothing to keep */
    const size_t at = (size_t) y * img->strides[1] + x0;
    mc_orc_chroma_terms_444 (up->rt, up->gt, up->bt, img->planes[1] + at,
        img->planes[2] + (size_t) y * img->strides[2] + x0, up->crv, up->cgu,
        up->cgv, up->cbu, up->bias, x1 - x0);
    up->terms_row = -1;
    luma = row + x0;
  } else if (f == MC_PIXEL_I420_10LE) {
    const int cy = y >> 1, n = x1 - x0;
    if (up->terms_row != cy || up->terms_x0 != x0 || up->terms_n != nc) {
      const uint16_t *u = samples_le16 (img->planes[1] + (size_t) cy * img->strides[1]
          + 2 * (size_t) c0, nc, up->u);
      const uint16_t *v = samples_le16 (img->planes[2] + (size_t) cy * img->strides[2]
          + 2 * (size_t) c0, nc, up->v);
      mc_orc_chroma_terms_10 (up->rt, up->gt, up->bt, u, v, up->crv, up->cgu,
          up->cgv, up->cbu, up->bias, nc);
      up->terms_row = cy;
      up->terms_x0 = x0;
      up->terms_n = nc;
    }
    const uint16_t *luma10 = samples_le16 (row + 2 * (size_t) x0, n,
        (uint8_t *) up->bounce);
    mc_orc_yuv10_to_rgb8 (up->rg8, up->b8, luma10, up->rt, up->gt, up->bt, up->cy, n);
    widen_rgb8 (up->rg8, up->b8, n, rg, b);
    return;
  } else {
    /* 4:2:0: one chroma row serves two luma rows; keep its terms.  Y42B
     * (4:2:2 planar) has a chroma row per luma row. */
    const int cy = f == MC_PIXEL_Y42B ? y : y >> 1;
    if (up->terms_row != cy || up->terms_x0 != x0 || up->terms_n != nc) {
      if (f == MC_PIXEL_I420 || f == MC_PIXEL_YV12 || f == MC_PIXEL_Y42B) {
        /* planes are in memory order: I420 is Y,U,V and YV12 is Y,V,U */
        const int ui = f == MC_PIXEL_YV12 ? 2 : 1, vi = 3 - ui;
        chroma_terms (up, img->planes[ui] + (size_t) cy * img->strides[ui] + c0,
            img->planes[vi] + (size_t) cy * img->strides[vi] + c0, nc);
      } else {
        const uint8_t *pairs = aligned_source (up,
            img->planes[1] + (size_t) cy * img->strides[1] + 2 * (size_t) c0, 2, 2 * (size_t) nc);
        if (f == MC_PIXEL_NV12)
          mc_orc_split_pairs (up->u, up->v, pairs, nc);
        else
          mc_orc_split_pairs (up->v, up->u, pairs, nc);
        chroma_terms (up, up->u, up->v, nc);
      }
      up->terms_row = cy;
      up->terms_x0 = x0;
      up->terms_n = nc;
    }
    luma = row + x0;
  }
  /* Luma is per pixel, so an odd last column needs no care here. */
  const int n = x1 - x0;
  mc_orc_yuv_to_rgb8 (up->rg8, up->b8, luma, up->rt, up->gt, up->bt, up->cy, n);
  widen_rgb8 (up->rg8, up->b8, n, rg, b);
}


void
mc_unpack_row (mc_unpacker *up, const mc_image *img, int y, int x0, int x1,
    uint64_t *rg, uint32_t *b)
{
  const uint8_t *row = img->planes[0] + (size_t) y * img->strides[0];
  const int n = x1 - x0;
  int ro, go, bo;   /* byte offsets of R, G, B in a 32-bit pixel */

  switch (img->format) {
    case MC_PIXEL_RGB:
    case MC_PIXEL_BGR: {
      /* 24-bit pixels: ORC has no 3-byte elements, so plain C. */
      const int r = img->format == MC_PIXEL_RGB ? 0 : 2;
      const uint8_t *p = row + 3 * (size_t) x0;
      for (int i = 0; i < n; i++, p += 3) {
        rg[i] = p[r] | (uint64_t) p[1] << 32;
        b[i] = p[2 - r];
      }
      return;
    }
    case MC_PIXEL_GRAY8:
      mc_orc_unpack_gray ((uint8_t *) rg, (uint8_t *) b, row + x0, n);
      return;
    case MC_PIXEL_RGBX: case MC_PIXEL_RGBA: ro = 0; go = 1; bo = 2; break;
    case MC_PIXEL_BGRX: case MC_PIXEL_BGRA: ro = 2; go = 1; bo = 0; break;
    case MC_PIXEL_XRGB: case MC_PIXEL_ARGB: ro = 1; go = 2; bo = 3; break;
    case MC_PIXEL_XBGR: case MC_PIXEL_ABGR: ro = 3; go = 2; bo = 1; break;
    default:
      unpack_yuv (up, img, y, x0, x1, rg, b);
      return;
  }
  /* The kernel loads pixels as native 32-bit words. */
  const int le = host_is_little_endian ();
  const int rs = 8 * (le ? ro : 3 - ro), gs = 8 * (le ? go : 3 - go), bs = 8 * (le ? bo : 3 - bo);
  mc_orc_unpack_rgb32 ((uint8_t *) rg, (uint8_t *) b,
      aligned_source (up, row + 4 * (size_t) x0, 4, 4 * (size_t) n), rs, gs, bs, n);
}
