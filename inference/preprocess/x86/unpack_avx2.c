/* unpack_avx2.c — frame rows to planar R, G, B bytes with AVX2 (compiled
 * with -mavx2; see kernels_avx2.h).
 *
 * YUV is converted with the 16-bit fixed point of mc-preprocess.orc, op for
 * op (mulhuw of Y·257, mulhsw of (C−128)·256, wrapping 16-bit adds, >> 5
 * arithmetic, signed-to-unsigned saturation), so every byte equals the
 * portable variant's.  32 pixels per step: the luma bytes are widened with
 * unpacklo/hi (pixels 0-7|16-23 and 8-15|24-31), and the chroma terms of
 * 16 samples [0-7 | 8-15] are doubled by the same unpacks, which lines each
 * chroma sample up with its two pixels; packus restores pixel order.
 *
 * A row's last partial step reads its sources from a zero-padded copy, so
 * nothing past the row is read; destinations have 32 bytes of slack.
 */
#include "kernels_avx2.h"

#include <immintrin.h>
#include <string.h>

typedef struct {
  __m256i cy, crv, cgu, cgv, cbu, bias;
} yuv_consts;

static void
consts_load (const mc_unpacker *up, yuv_consts *k)
{
  k->cy = _mm256_set1_epi16 ((int16_t) up->cy);
  k->crv = _mm256_set1_epi16 ((int16_t) up->crv);
  k->cgu = _mm256_set1_epi16 ((int16_t) up->cgu);
  k->cgv = _mm256_set1_epi16 ((int16_t) up->cgv);
  k->cbu = _mm256_set1_epi16 ((int16_t) up->cbu);
  k->bias = _mm256_set1_epi16 ((int16_t) up->bias);
}

/* (C − 128) << 8 from words holding C in their low byte. */
static inline __m256i
centre_low (__m256i c)
{
  return _mm256_xor_si256 (_mm256_slli_epi16 (c, 8), _mm256_set1_epi16 ((int16_t) 0x8000));
}

/* ... and from words holding C in their high byte. */
static inline __m256i
centre_high (__m256i c)
{
  return _mm256_xor_si256 (_mm256_and_si256 (c, _mm256_set1_epi16 ((int16_t) 0xff00)),
      _mm256_set1_epi16 ((int16_t) 0x8000));
}

typedef struct {
  __m256i r, g, b;
} terms;

static inline terms
chroma_terms (const yuv_consts *k, __m256i uw, __m256i vw)
{
  terms t;
  t.r = _mm256_add_epi16 (_mm256_mulhi_epi16 (vw, k->crv), k->bias);
  t.g = _mm256_add_epi16 (_mm256_add_epi16 (_mm256_mulhi_epi16 (uw, k->cgu),
          _mm256_mulhi_epi16 (vw, k->cgv)), k->bias);
  t.b = _mm256_add_epi16 (_mm256_mulhi_epi16 (uw, k->cbu), k->bias);
  return t;
}

static inline __m256i
channel (__m256i ylo, __m256i yhi, __m256i tlo, __m256i thi)
{
  return _mm256_packus_epi16 (_mm256_srai_epi16 (_mm256_add_epi16 (ylo, tlo), 5),
      _mm256_srai_epi16 (_mm256_add_epi16 (yhi, thi), 5));
}

/* 32 pixels from luma on 16 bits (Y·257, or 10-bit Y << 6)
 * and per-pixel terms, for pixels 0-7|16-23 (lo) and 8-15|24-31 (hi). */
static inline void
convert_32 (const yuv_consts *k, __m256i y16lo, __m256i y16hi, terms lo,
    terms hi, uint8_t *r, uint8_t *g, uint8_t *b)
{
  const __m256i ylo = _mm256_mulhi_epu16 (y16lo, k->cy);
  const __m256i yhi = _mm256_mulhi_epu16 (y16hi, k->cy);
  _mm256_storeu_si256 ((__m256i *) r, channel (ylo, yhi, lo.r, hi.r));
  _mm256_storeu_si256 ((__m256i *) g, channel (ylo, yhi, lo.g, hi.g));
  _mm256_storeu_si256 ((__m256i *) b, channel (ylo, yhi, lo.b, hi.b));
}

/* Per-pixel terms of 32 pixels sharing 16 chroma samples, given as centred
 * words [0-7 | 8-15]. */
static inline void
subsampled_terms (const yuv_consts *k, __m256i uw, __m256i vw, terms *lo, terms *hi)
{
  const terms t = chroma_terms (k, uw, vw);
  lo->r = _mm256_unpacklo_epi16 (t.r, t.r);
  lo->g = _mm256_unpacklo_epi16 (t.g, t.g);
  lo->b = _mm256_unpacklo_epi16 (t.b, t.b);
  hi->r = _mm256_unpackhi_epi16 (t.r, t.r);
  hi->g = _mm256_unpackhi_epi16 (t.g, t.g);
  hi->b = _mm256_unpackhi_epi16 (t.b, t.b);
}

static inline void
convert_32_subsampled (const yuv_consts *k, __m256i y16lo, __m256i y16hi,
    __m256i uw, __m256i vw, uint8_t *r, uint8_t *g, uint8_t *b)
{
  terms lo, hi;
  subsampled_terms (k, uw, vw, &lo, &hi);
  convert_32 (k, y16lo, y16hi, lo, hi, r, g, b);
}

/* 32 luma bytes: Y·257 in the unpack order. */
static inline void
luma8 (__m256i y, __m256i *lo, __m256i *hi)
{
  *lo = _mm256_unpacklo_epi8 (y, y);
  *hi = _mm256_unpackhi_epi8 (y, y);
}

/* 32 pixels with a chroma sample each (32 U and 32 V bytes). */
static inline void
convert_32_full (const yuv_consts *k, __m256i y, __m256i u, __m256i v,
    uint8_t *r, uint8_t *g, uint8_t *b)
{
  const __m256i zero = _mm256_setzero_si256 (), flip = _mm256_set1_epi16 ((int16_t) 0x8000);
  const terms lo = chroma_terms (k,
      _mm256_xor_si256 (_mm256_unpacklo_epi8 (zero, u), flip),
      _mm256_xor_si256 (_mm256_unpacklo_epi8 (zero, v), flip));
  const terms hi = chroma_terms (k,
      _mm256_xor_si256 (_mm256_unpackhi_epi8 (zero, u), flip),
      _mm256_xor_si256 (_mm256_unpackhi_epi8 (zero, v), flip));
  __m256i ylo, yhi;
  luma8 (y, &ylo, &yhi);
  convert_32 (k, ylo, yhi, lo, hi, r, g, b);
}

/* 10-bit luma (low bits of uint16) as Y << 6, which the 10-bit cy expects. */
static inline __m256i
widen10 (__m256i s)
{
  return _mm256_slli_epi16 (_mm256_and_si256 (s, _mm256_set1_epi16 (1023)), 6);
}

static inline __m256i
centre10 (__m256i c)
{
  return _mm256_xor_si256 (_mm256_slli_epi16 (_mm256_and_si256 (c, _mm256_set1_epi16 (1023)), 6),
      _mm256_set1_epi16 ((int16_t) 0x8000));
}

static inline __m256i
load32 (const uint8_t *p)
{
  return _mm256_loadu_si256 ((const __m256i *) p);
}

/* Source pointers of a 32-pixel step; the kind of format says which are
 * used.  `pairs` is interleaved chroma (NV12 order when uv_swap is 0). */
typedef enum {
  SRC_PLANAR_420,   /* y, u, v: 16 chroma bytes per step (I420, YV12, Y42B) */
  SRC_PAIRS,        /* y, pairs: 32 interleaved chroma bytes (NV12, NV21) */
  SRC_PACKED_422,   /* y: 64 bytes of macropixels (YUY2, UYVY) */
  SRC_PLANAR_444,   /* y, u, v: 32 bytes each (Y444) */
  SRC_PLANAR_420_10,  /* y: 64 bytes, u, v: 32 bytes of uint16 LE (I420_10LE) */
} yuv_source;

typedef struct {
  yuv_source kind;
  int uv_swap;       /* NV21: V first in pairs */
  int luma_high;     /* UYVY: luma in the odd bytes */
} yuv_layout;

/* 32 luma samples of a planar 4:2:0 layout on 16 bits, unpack order. */
static inline void
planar_luma (const yuv_layout *lay, const uint8_t *y, __m256i *lo, __m256i *hi)
{
  if (lay->kind == SRC_PLANAR_420_10) {
    /* pixels 0-15 and 16-31; regroup the lanes as the 8-bit unpacks do */
    const __m256i a = widen10 (load32 (y)), c = widen10 (load32 (y + 32));
    *lo = _mm256_permute2x128_si256 (a, c, 0x20);
    *hi = _mm256_permute2x128_si256 (a, c, 0x31);
  } else {
    luma8 (load32 (y), lo, hi);
  }
}

/* One step: 32 pixels of row y into r, g, b and, when y2 is not NULL (4:2:0
 * only), 32 pixels of the next row, which has the same chroma, into out2. */
static inline void
yuv_step (const yuv_consts *k, const yuv_layout *lay, const uint8_t *y,
    const uint8_t *y2, const uint8_t *u, const uint8_t *v, uint8_t *r,
    uint8_t *g, uint8_t *b, uint8_t *const out2[3], int x)
{
  __m256i ylo, yhi, uw, vw;
  switch (lay->kind) {
    case SRC_PLANAR_420:
    case SRC_PAIRS:
    case SRC_PLANAR_420_10: {
      if (lay->kind == SRC_PLANAR_420) {
        uw = centre_low (_mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) u)));
        vw = centre_low (_mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) v)));
      } else if (lay->kind == SRC_PAIRS) {
        const __m256i uv = load32 (u);
        uw = lay->uv_swap ? centre_high (uv) : centre_low (uv);
        vw = lay->uv_swap ? centre_low (uv) : centre_high (uv);
      } else {
        uw = centre10 (load32 (u));
        vw = centre10 (load32 (v));
      }
      terms lo, hi;
      subsampled_terms (k, uw, vw, &lo, &hi);
      planar_luma (lay, y, &ylo, &yhi);
      convert_32 (k, ylo, yhi, lo, hi, r, g, b);
      if (y2) {
        planar_luma (lay, y2, &ylo, &yhi);
        convert_32 (k, ylo, yhi, lo, hi, out2[0] + x, out2[1] + x, out2[2] + x);
      }
      break;
    }
    case SRC_PACKED_422: {
      /* words of two macropixel halves: luma and chroma bytes alternate */
      const __m256i a = load32 (y), c = load32 (y + 32), low = _mm256_set1_epi16 (0xff);
      __m256i ya, yc, ca, cc;
      if (lay->luma_high) {
        ya = _mm256_srli_epi16 (a, 8); yc = _mm256_srli_epi16 (c, 8);
        ca = _mm256_and_si256 (a, low); cc = _mm256_and_si256 (c, low);
      } else {
        ya = _mm256_and_si256 (a, low); yc = _mm256_and_si256 (c, low);
        ca = _mm256_srli_epi16 (a, 8); cc = _mm256_srli_epi16 (c, 8);
      }
      /* packus interleaves the lanes of the two halves; 0,2,1,3 restores */
      const __m256i luma = _mm256_permute4x64_epi64 (_mm256_packus_epi16 (ya, yc), 0xd8);
      const __m256i uv = _mm256_permute4x64_epi64 (_mm256_packus_epi16 (ca, cc), 0xd8);
      luma8 (luma, &ylo, &yhi);
      convert_32_subsampled (k, ylo, yhi, centre_low (uv), centre_high (uv), r, g, b);
      break;
    }
    case SRC_PLANAR_444:
      convert_32_full (k, load32 (y), load32 (u), load32 (v), r, g, b);
      break;
  }
}

/* Bytes of each source a step of `n` (≤ 32) pixels reads. */
static void
step_bytes (const yuv_layout *lay, int n, int *luma, int *chroma)
{
  switch (lay->kind) {
    case SRC_PLANAR_420: *luma = n; *chroma = (n + 1) / 2; break;
    case SRC_PAIRS: *luma = n; *chroma = 2 * ((n + 1) / 2); break;
    case SRC_PACKED_422: *luma = 4 * ((n + 1) / 2); *chroma = 0; break;
    case SRC_PLANAR_420_10: *luma = 2 * n; *chroma = 2 * ((n + 1) / 2); break;
    default: *luma = n; *chroma = n; break;
  }
}

/* A row (and the next one, y2 not NULL, 4:2:0 only) of n pixels. */
static void
yuv_row (const yuv_consts *k, const yuv_layout *lay, const uint8_t *y,
    const uint8_t *y2, const uint8_t *u, const uint8_t *v, int n,
    uint8_t *const out[3], uint8_t *const out2[3])
{
  /* per 32 pixels: luma bytes and chroma bytes advanced */
  const int luma_step = lay->kind == SRC_PACKED_422 || lay->kind == SRC_PLANAR_420_10 ? 64 : 32;
  const int chroma_step = lay->kind == SRC_PLANAR_420 ? 16 : 32;
  int x = 0;
  for (; x + 32 <= n; x += 32, y += luma_step, u += chroma_step, v += chroma_step) {
    yuv_step (k, lay, y, y2, u, v, out[0] + x, out[1] + x, out[2] + x, out2, x);
    if (y2)
      y2 += luma_step;
  }
  if (x < n) {
    uint8_t ty[64] = { 0 }, ty2[64] = { 0 }, tu[32] = { 0 }, tv[32] = { 0 };
    int nl, nc;
    step_bytes (lay, n - x, &nl, &nc);
    memcpy (ty, y, nl);
    if (y2)
      memcpy (ty2, y2, nl);
    if (nc) {
      memcpy (tu, u, nc);
      if (lay->kind != SRC_PAIRS)
        memcpy (tv, v, nc);
    }
    yuv_step (k, lay, ty, y2 ? ty2 : NULL, tu, tv, out[0] + x, out[1] + x, out[2] + x,
        out2, x);
  }
}

/* 16 pixels of 4 bytes to planar; ctl picks R0-3 G0-3 B0-3 in each lane. */
static inline void
rgb32_step (const uint8_t *p, __m256i ctl, uint8_t *r, uint8_t *g, uint8_t *b)
{
  const __m256i a = _mm256_shuffle_epi8 (load32 (p), ctl);
  const __m256i c = _mm256_shuffle_epi8 (load32 (p + 32), ctl);
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i rg = _mm256_permutevar8x32_epi32 (_mm256_unpacklo_epi32 (a, c), order);
  const __m256i bx = _mm256_permutevar8x32_epi32 (_mm256_unpackhi_epi32 (a, c), order);
  _mm_storeu_si128 ((__m128i *) r, _mm256_castsi256_si128 (rg));
  _mm_storeu_si128 ((__m128i *) g, _mm256_extracti128_si256 (rg, 1));
  _mm_storeu_si128 ((__m128i *) b, _mm256_castsi256_si128 (bx));
}

static void
rgb32_row (const uint8_t *p, int n, int ro, int go, int bo, uint8_t *r,
    uint8_t *g, uint8_t *b)
{
  uint8_t c[16];
  for (int i = 0; i < 4; i++) {
    c[i] = (uint8_t) (4 * i + ro);
    c[4 + i] = (uint8_t) (4 * i + go);
    c[8 + i] = (uint8_t) (4 * i + bo);
    c[12 + i] = 0x80;
  }
  const __m256i ctl = _mm256_broadcastsi128_si256 (_mm_loadu_si128 ((const __m128i *) c));
  int x = 0;
  for (; x + 16 <= n; x += 16)
    rgb32_step (p + 4 * x, ctl, r + x, g + x, b + x);
  if (x < n) {
    uint8_t t[64] = { 0 };
    memcpy (t, p + 4 * x, 4 * (size_t) (n - x));
    rgb32_step (t, ctl, r + x, g + x, b + x);
  }
}

/* Byte i of a planar channel at offset ch of 3-byte pixels, taken from the
 * s-th 16-byte block of 48: its index there, or -1 (zero) if elsewhere. */
#define PICK(ch, s, i) \
  ((3 * (i) + (ch) - 16 * (s)) >= 0 && (3 * (i) + (ch) - 16 * (s)) < 16 \
   ? (3 * (i) + (ch) - 16 * (s)) : -1)
#define PICK16(ch, s) _mm_setr_epi8 (PICK (ch, s, 0), PICK (ch, s, 1), PICK (ch, s, 2), \
    PICK (ch, s, 3), PICK (ch, s, 4), PICK (ch, s, 5), PICK (ch, s, 6), PICK (ch, s, 7), \
    PICK (ch, s, 8), PICK (ch, s, 9), PICK (ch, s, 10), PICK (ch, s, 11), PICK (ch, s, 12), \
    PICK (ch, s, 13), PICK (ch, s, 14), PICK (ch, s, 15))

static inline __m128i
rgb24_channel (__m128i a, __m128i b, __m128i c, __m128i m0, __m128i m1, __m128i m2)
{
  return _mm_or_si128 (_mm_or_si128 (_mm_shuffle_epi8 (a, m0), _mm_shuffle_epi8 (b, m1)),
      _mm_shuffle_epi8 (c, m2));
}

/* 16 pixels of 3 bytes: first, second, third channel in memory order. */
static inline void
rgb24_step (const uint8_t *p, uint8_t *c0, uint8_t *c1, uint8_t *c2)
{
  const __m128i a = _mm_loadu_si128 ((const __m128i *) p);
  const __m128i b = _mm_loadu_si128 ((const __m128i *) (p + 16));
  const __m128i c = _mm_loadu_si128 ((const __m128i *) (p + 32));
  _mm_storeu_si128 ((__m128i *) c0, rgb24_channel (a, b, c, PICK16 (0, 0), PICK16 (0, 1), PICK16 (0, 2)));
  _mm_storeu_si128 ((__m128i *) c1, rgb24_channel (a, b, c, PICK16 (1, 0), PICK16 (1, 1), PICK16 (1, 2)));
  _mm_storeu_si128 ((__m128i *) c2, rgb24_channel (a, b, c, PICK16 (2, 0), PICK16 (2, 1), PICK16 (2, 2)));
}

static void
rgb24_row (const uint8_t *p, int n, uint8_t *c0, uint8_t *c1, uint8_t *c2)
{
  int x = 0;
  for (; x + 16 <= n; x += 16)
    rgb24_step (p + 3 * x, c0 + x, c1 + x, c2 + x);
  if (x < n) {
    uint8_t t[48] = { 0 };
    memcpy (t, p + 3 * x, 3 * (size_t) (n - x));
    rgb24_step (t, c0 + x, c1 + x, c2 + x);
  }
}

int
mc_unpack_planar_avx2 (const mc_unpacker *up, const mc_image *img, int y,
    int x0, int x1, int rows, uint8_t *const scratch[2][3],
    const uint8_t *planes[2][3])
{
  const uint8_t *row = img->planes[0] + (size_t) y * img->strides[0];
  const int n = x1 - x0, c0 = x0 / 2;
  uint8_t *r = scratch[0][0], *g = scratch[0][1], *b = scratch[0][2];
  int ro, go, bo;
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 3; c++)
      planes[i][c] = scratch[i][c];

  switch (img->format) {
    case MC_PIXEL_RGB:
      rgb24_row (row + 3 * (size_t) x0, n, r, g, b);
      return 1;
    case MC_PIXEL_BGR:
      rgb24_row (row + 3 * (size_t) x0, n, b, g, r);
      return 1;
    case MC_PIXEL_GRAY8:
      memcpy (r, row + x0, n);
      planes[0][1] = planes[0][2] = r;
      return 1;
    case MC_PIXEL_RGBX: case MC_PIXEL_RGBA: ro = 0; go = 1; bo = 2; break;
    case MC_PIXEL_BGRX: case MC_PIXEL_BGRA: ro = 2; go = 1; bo = 0; break;
    case MC_PIXEL_XRGB: case MC_PIXEL_ARGB: ro = 1; go = 2; bo = 3; break;
    case MC_PIXEL_XBGR: case MC_PIXEL_ABGR: ro = 3; go = 2; bo = 1; break;
    default: {
      yuv_consts k;
      yuv_layout lay = { SRC_PLANAR_420, 0, 0 };
      const uint8_t *u = NULL, *v = NULL;
      /* 4:2:0 rows 2i and 2i+1 share their chroma: convert them together */
      int pair = 0;
      consts_load (up, &k);
      switch (img->format) {
        case MC_PIXEL_I420: case MC_PIXEL_YV12: case MC_PIXEL_Y42B: {
          const int ui = img->format == MC_PIXEL_YV12 ? 2 : 1, vi = 3 - ui;
          const int cy = img->format == MC_PIXEL_Y42B ? y : y >> 1;
          u = img->planes[ui] + (size_t) cy * img->strides[ui] + c0;
          v = img->planes[vi] + (size_t) cy * img->strides[vi] + c0;
          row += x0;
          pair = img->format != MC_PIXEL_Y42B;
          break;
        }
        case MC_PIXEL_Y444:
          lay.kind = SRC_PLANAR_444;
          u = img->planes[1] + (size_t) y * img->strides[1] + x0;
          v = img->planes[2] + (size_t) y * img->strides[2] + x0;
          row += x0;
          break;
        case MC_PIXEL_I420_10LE:
          lay.kind = SRC_PLANAR_420_10;
          u = img->planes[1] + (size_t) (y >> 1) * img->strides[1] + 2 * (size_t) c0;
          v = img->planes[2] + (size_t) (y >> 1) * img->strides[2] + 2 * (size_t) c0;
          row += 2 * (size_t) x0;
          pair = 1;
          break;
        case MC_PIXEL_NV12: case MC_PIXEL_NV21:
          lay.kind = SRC_PAIRS;
          lay.uv_swap = img->format == MC_PIXEL_NV21;
          u = img->planes[1] + (size_t) (y >> 1) * img->strides[1] + 2 * (size_t) c0;
          row += x0;
          pair = 1;
          break;
        case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
          lay.kind = SRC_PACKED_422;
          lay.luma_high = img->format == MC_PIXEL_UYVY;
          row += 4 * (size_t) c0;
          break;
        default:
          return 1;
      }
      pair = pair && rows == 2 && (y & 1) == 0 && y + 1 < img->height;
      yuv_row (&k, &lay, row, pair ? row + img->strides[0] : NULL, u, v, n, scratch[0],
          scratch[1]);
      return pair ? 2 : 1;
    }
  }
  rgb32_row (row + 4 * (size_t) x0, n, ro, go, bo, r, g, b);
  return 1;
}
