/* unpack_avx512.c — the avx512 variant's unpacker: rows of the RGB-family
 * formats and of the YUV ones, planar, semi-planar and packed (I420, YV12,
 * Y42B, Y444, I420_10LE, NV12, NV21, YUY2, UYVY), to planar R, G, B bytes;
 * GRAY8 (a copy) goes to mc_unpack_planar_avx2.  Compiled with the avx512
 * variant's flags (kernels_avx512.h).
 *
 * The arithmetic is unpack_avx2.c's (mc-preprocess.orc's 16-bit fixed point
 * op for op), so the bytes are the same; only the width differs.  64 pixels
 * a step: every operation works within 128-bit lanes, so lane L holds luma
 * pixels 16L..16L+15 and chroma samples 8L..8L+7, and the AVX2 file's
 * unpack order carries over lane by lane (unpacklo/hi of the luma bytes give
 * pixels 16L..16L+7 and 16L+8..16L+15, the same unpacks of the chroma terms
 * double samples 8L..8L+3 and 8L+4..8L+7 onto them, packus restores the
 * order; 10-bit luma, two vectors of words, is regrouped into that order
 * by one cross-lane permutation per half).  The 512-bit integer multiplies
 * issue on one port where 256-bit ones issue on two, but the adds, shifts,
 * unpacks and packs do twice the work per instruction.
 *
 * The last partial step reads and writes under byte masks: nothing past the
 * row is read, nothing past n pixels written.
 */
#include "kernels_avx512.h"

#include <immintrin.h>

typedef struct {
  __m512i cy, crv, cgu, cgv, cbu, bias;
} yuv_consts;

typedef struct {
  __m512i r, g, b;
} terms;

/* (C − 128) << 8 from words holding C in their low byte ... */
static inline __m512i
centre_low (__m512i c)
{
  return _mm512_xor_si512 (_mm512_slli_epi16 (c, 8), _mm512_set1_epi16 ((int16_t) 0x8000));
}

/* ... and from words holding C in their high byte. */
static inline __m512i
centre_high (__m512i c)
{
  return _mm512_xor_si512 (_mm512_and_si512 (c, _mm512_set1_epi16 ((int16_t) 0xff00)),
      _mm512_set1_epi16 ((int16_t) 0x8000));
}

static inline terms
chroma_terms (const yuv_consts *k, __m512i uw, __m512i vw)
{
  terms t;
  t.r = _mm512_add_epi16 (_mm512_mulhi_epi16 (vw, k->crv), k->bias);
  t.g = _mm512_add_epi16 (_mm512_add_epi16 (_mm512_mulhi_epi16 (uw, k->cgu),
          _mm512_mulhi_epi16 (vw, k->cgv)), k->bias);
  t.b = _mm512_add_epi16 (_mm512_mulhi_epi16 (uw, k->cbu), k->bias);
  return t;
}

static inline __m512i
channel (__m512i ylo, __m512i yhi, __m512i tlo, __m512i thi)
{
  return _mm512_packus_epi16 (_mm512_srai_epi16 (_mm512_add_epi16 (ylo, tlo), 5),
      _mm512_srai_epi16 (_mm512_add_epi16 (yhi, thi), 5));
}

/* Bytes 0..n-1 set in a 64-bit mask (none for n ≤ 0, all for n ≥ 64). */
static inline __mmask64
first_bytes (int n)
{
  return n >= 64 ? ~(__mmask64) 0 : n <= 0 ? 0 : ((__mmask64) 1 << n) - 1;
}

/* 64 pixels (those under mask m stored) from luma on 16 bits (Y·257, or
 * 10-bit Y << 6) and per-pixel terms, both in the unpack order: lo holds
 * pixels 16L..16L+7 of lane L, hi pixels 16L+8..16L+15. */
static inline void
convert_64_words (const yuv_consts *k, __m512i y16lo, __m512i y16hi, terms lo,
    terms hi, __mmask64 m, uint8_t *r, uint8_t *g, uint8_t *b)
{
  const __m512i ylo = _mm512_mulhi_epu16 (y16lo, k->cy);
  const __m512i yhi = _mm512_mulhi_epu16 (y16hi, k->cy);
  _mm512_mask_storeu_epi8 (r, m, channel (ylo, yhi, lo.r, hi.r));
  _mm512_mask_storeu_epi8 (g, m, channel (ylo, yhi, lo.g, hi.g));
  _mm512_mask_storeu_epi8 (b, m, channel (ylo, yhi, lo.b, hi.b));
}

/* The terms of 32 chroma samples, given as centred words [0-31], each
 * doubled onto its two pixels in the unpack order. */
static inline void
subsampled_terms (const yuv_consts *k, __m512i uw, __m512i vw, terms *lo, terms *hi)
{
  const terms t = chroma_terms (k, uw, vw);
  lo->r = _mm512_unpacklo_epi16 (t.r, t.r);
  lo->g = _mm512_unpacklo_epi16 (t.g, t.g);
  lo->b = _mm512_unpacklo_epi16 (t.b, t.b);
  hi->r = _mm512_unpackhi_epi16 (t.r, t.r);
  hi->g = _mm512_unpackhi_epi16 (t.g, t.g);
  hi->b = _mm512_unpackhi_epi16 (t.b, t.b);
}

/* 64 luma bytes of one row (those under mask m stored) with the chroma
 * terms of their 32 samples, given as centred words [0-31]. */
static inline void
convert_64 (const yuv_consts *k, __m512i yb, __m512i uw, __m512i vw, __mmask64 m,
    uint8_t *r, uint8_t *g, uint8_t *b)
{
  terms lo, hi;
  subsampled_terms (k, uw, vw, &lo, &hi);
  convert_64_words (k, _mm512_unpacklo_epi8 (yb, yb), _mm512_unpackhi_epi8 (yb, yb), lo, hi,
      m, r, g, b);
}

/* 10-bit samples (the low bits of little-endian uint16) as value << 6: the
 * luma that the 10-bit cy expects, and chroma centred as centre_low's. */
static inline __m512i
widen10 (__m512i s)
{
  return _mm512_slli_epi16 (_mm512_and_si512 (s, _mm512_set1_epi16 (1023)), 6);
}

/* The 64 luma samples of a step at pixel x (those of the first `left`) on
 * 16 bits in the unpack order.  8-bit: Y·257 by the unpacks of the bytes.
 * 10-bit: words of pixels 0-31 and 32-63, whose 128-bit lanes hold 8
 * pixels each, regrouped so that lane L holds 16L..16L+7 (lo) and
 * 16L+8..16L+15 (hi), as the 8-bit unpacks leave them. */
static inline void
luma_words (const uint8_t *y, int x, int left, int ten, __m512i *lo, __m512i *hi)
{
  if (ten) {
    const uint8_t *p = y + 2 * x;
    const __m512i a = widen10 (_mm512_maskz_loadu_epi8 (first_bytes (2 * left), p));
    const __m512i c = widen10 (_mm512_maskz_loadu_epi8 (first_bytes (2 * left - 64), p + 64));
    *lo = _mm512_permutex2var_epi64 (a, _mm512_set_epi64 (13, 12, 9, 8, 5, 4, 1, 0), c);
    *hi = _mm512_permutex2var_epi64 (a, _mm512_set_epi64 (15, 14, 11, 10, 7, 6, 3, 2), c);
  } else {
    const __m512i yb = _mm512_maskz_loadu_epi8 (first_bytes (left), y + x);
    *lo = _mm512_unpacklo_epi8 (yb, yb);
    *hi = _mm512_unpackhi_epi8 (yb, yb);
  }
}

/* How a 4:2:0 row's chroma is stored. */
typedef enum {
  CHROMA_PLANAR,      /* u, v: a byte a sample (I420, YV12, and Y42B's rows) */
  CHROMA_PAIRS,       /* u: U, V byte pairs (NV12) */
  CHROMA_PAIRS_VU,    /* u: V, U byte pairs (NV21) */
  CHROMA_PLANAR_10,   /* u, v: 10-bit samples in uint16 (I420_10LE; luma too) */
} chroma_layout;

/* n pixels of row y (and of y2, sharing the chroma, when not NULL), 64 a
 * step: the chroma terms of 32 samples, doubled onto their pixels.  Inlined
 * with cl a constant (row_420_of): tested in the loop, it cost 2-3 %. */
static inline __attribute__ ((always_inline)) void
row_420 (const yuv_consts *k, const uint8_t *y, const uint8_t *y2,
    const uint8_t *u, const uint8_t *v, chroma_layout cl, int n,
    uint8_t *const out[3], uint8_t *const out2[3])
{
  const int ten = cl == CHROMA_PLANAR_10;
  for (int x = 0; x < n; x += 64) {
    const int left = n - x < 64 ? n - x : 64, chroma = (left + 1) / 2;
    const __mmask64 m = first_bytes (left);
    __m512i uw, vw, ylo, yhi;
    terms lo, hi;
    if (cl == CHROMA_PAIRS || cl == CHROMA_PAIRS_VU || ten) {
      const __mmask64 mc = first_bytes (2 * chroma);
      const __m512i a = _mm512_maskz_loadu_epi8 (mc, u + x);
      if (ten) {
        const __m512i flip = _mm512_set1_epi16 ((int16_t) 0x8000);
        uw = _mm512_xor_si512 (widen10 (a), flip);
        vw = _mm512_xor_si512 (widen10 (_mm512_maskz_loadu_epi8 (mc, v + x)), flip);
      } else {
        uw = cl == CHROMA_PAIRS_VU ? centre_high (a) : centre_low (a);
        vw = cl == CHROMA_PAIRS_VU ? centre_low (a) : centre_high (a);
      }
    } else {
      /* 512-bit masked loads: the 256-bit ones would need AVX512-VL */
      const __mmask64 mc = first_bytes (chroma);
      uw = centre_low (_mm512_cvtepu8_epi16 (_mm512_castsi512_si256 (
              _mm512_maskz_loadu_epi8 (mc, u + x / 2))));
      vw = centre_low (_mm512_cvtepu8_epi16 (_mm512_castsi512_si256 (
              _mm512_maskz_loadu_epi8 (mc, v + x / 2))));
    }
    subsampled_terms (k, uw, vw, &lo, &hi);
    luma_words (y, x, left, ten, &ylo, &yhi);
    convert_64_words (k, ylo, yhi, lo, hi, m, out[0] + x, out[1] + x, out[2] + x);
    if (y2) {
      luma_words (y2, x, left, ten, &ylo, &yhi);
      convert_64_words (k, ylo, yhi, lo, hi, m, out2[0] + x, out2[1] + x, out2[2] + x);
    }
  }
}

static void
row_420_of (const yuv_consts *k, const uint8_t *y, const uint8_t *y2,
    const uint8_t *u, const uint8_t *v, chroma_layout cl, int n,
    uint8_t *const out[3], uint8_t *const out2[3])
{
  switch (cl) {
    case CHROMA_PLANAR: row_420 (k, y, y2, u, v, CHROMA_PLANAR, n, out, out2); break;
    case CHROMA_PAIRS: row_420 (k, y, y2, u, v, CHROMA_PAIRS, n, out, out2); break;
    case CHROMA_PAIRS_VU: row_420 (k, y, y2, u, v, CHROMA_PAIRS_VU, n, out, out2); break;
    case CHROMA_PLANAR_10: row_420 (k, y, y2, u, v, CHROMA_PLANAR_10, n, out, out2); break;
  }
}

/* n pixels of a 4:4:4 row: 64 luma, U and V bytes a step, the chroma bytes
 * widened by the same unpacks as the luma, so no doubling. */
static void
row_444 (const yuv_consts *k, const uint8_t *y, const uint8_t *u, const uint8_t *v, int n,
    uint8_t *const out[3])
{
  const __m512i zero = _mm512_setzero_si512 (), flip = _mm512_set1_epi16 ((int16_t) 0x8000);
  for (int x = 0; x < n; x += 64) {
    const __mmask64 m = first_bytes (n - x);
    const __m512i yb = _mm512_maskz_loadu_epi8 (m, y + x);
    const __m512i ub = _mm512_maskz_loadu_epi8 (m, u + x);
    const __m512i vb = _mm512_maskz_loadu_epi8 (m, v + x);
    const terms lo = chroma_terms (k, _mm512_xor_si512 (_mm512_unpacklo_epi8 (zero, ub), flip),
        _mm512_xor_si512 (_mm512_unpacklo_epi8 (zero, vb), flip));
    const terms hi = chroma_terms (k, _mm512_xor_si512 (_mm512_unpackhi_epi8 (zero, ub), flip),
        _mm512_xor_si512 (_mm512_unpackhi_epi8 (zero, vb), flip));
    convert_64_words (k, _mm512_unpacklo_epi8 (yb, yb), _mm512_unpackhi_epi8 (yb, yb), lo, hi,
        m, out[0] + x, out[1] + x, out[2] + x);
  }
}

/* n pixels of a packed 4:2:2 row (YUY2: Y U Y V; UYVY, luma_high: U Y V Y).
 * Each 64-byte half holds 32 pixels as words of one luma and one chroma
 * byte; packus joins the halves lane by lane (qwords a0 c0 a1 c1 ...), and
 * a qword permutation restores the order. */
static void
row_422 (const yuv_consts *k, const uint8_t *p, int luma_high, int n,
    uint8_t *const out[3])
{
  const __m512i low = _mm512_set1_epi16 (0xff);
  const __m512i order = _mm512_set_epi64 (7, 5, 3, 1, 6, 4, 2, 0);
  for (int x = 0; x < n; x += 64) {
    const int left = n - x < 64 ? n - x : 64, bytes = 4 * ((left + 1) / 2);
    const __m512i a = _mm512_maskz_loadu_epi8 (first_bytes (bytes), p + 2 * x);
    const __m512i c = _mm512_maskz_loadu_epi8 (first_bytes (bytes - 64), p + 2 * x + 64);
    __m512i ya, yc, ca, cc;
    if (luma_high) {
      ya = _mm512_srli_epi16 (a, 8); yc = _mm512_srli_epi16 (c, 8);
      ca = _mm512_and_si512 (a, low); cc = _mm512_and_si512 (c, low);
    } else {
      ya = _mm512_and_si512 (a, low); yc = _mm512_and_si512 (c, low);
      ca = _mm512_srli_epi16 (a, 8); cc = _mm512_srli_epi16 (c, 8);
    }
    const __m512i luma = _mm512_permutexvar_epi64 (order, _mm512_packus_epi16 (ya, yc));
    const __m512i uv = _mm512_permutexvar_epi64 (order, _mm512_packus_epi16 (ca, cc));
    convert_64 (k, luma, centre_low (uv), centre_high (uv), first_bytes (left), out[0] + x,
        out[1] + x, out[2] + x);
  }
}

/* ---- RGB-family pixels: one VPERMT2B (AVX512-VBMI) gathers a channel's
 * bytes of 32 pixels from a 128-byte window, two make 64 ---- */

/* Byte j < 32 of the index: step·j + offset (the rest is never kept);
 * step is 3 or 4. */
static inline __m512i
gather_index (int step, int offset)
{
  const __m512i j3 = _mm512_set_epi8 (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      93, 90, 87, 84, 81, 78, 75, 72, 69, 66, 63, 60, 57, 54, 51, 48,
      45, 42, 39, 36, 33, 30, 27, 24, 21, 18, 15, 12, 9, 6, 3, 0);
  /* 4·j: j·3 + j, with j the bytes of j3 / 3 */
  const __m512i j1 = _mm512_set_epi8 (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
      15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i base = step == 4 ? _mm512_add_epi8 (j3, j1) : j3;
  return _mm512_add_epi8 (base, _mm512_set1_epi8 ((char) offset));
}

/* The low 32 bytes of lo and of hi as one vector. */
static inline __m512i
join_halves (__m512i lo, __m512i hi)
{
  return _mm512_inserti64x4 (lo, _mm512_castsi512_si256 (hi), 1);
}

/* n pixels of bpp (3 or 4) bytes, channel c at byte off[c] of each: the
 * 64 pixels of a step are bpp vectors; pixels 0-31 lie in the first two,
 * pixels 32-63 in the last two, from byte 128 - 32·bpp of the first of
 * them (0 for 4 bytes, 32 for 3). */
static void
row_rgb (const uint8_t *p, int n, int bpp, const int off[3], uint8_t *const out[3])
{
  __m512i lo[3], hi[3];
  for (int c = 0; c < 3; c++) {
    lo[c] = gather_index (bpp, off[c]);
    hi[c] = gather_index (bpp, off[c] + 128 - 32 * bpp);
  }
  for (int x = 0; x < n; x += 64) {
    const int left = n - x < 64 ? n - x : 64, bytes = bpp * left;
    const uint8_t *q = p + (size_t) bpp * x;
    __m512i v[4];
    for (int i = 0; i < bpp; i++)
      v[i] = _mm512_maskz_loadu_epi8 (first_bytes (bytes - 64 * i), q + 64 * i);
    for (int c = 0; c < 3; c++)
      _mm512_mask_storeu_epi8 (out[c] + x, first_bytes (left),
          join_halves (_mm512_permutex2var_epi8 (v[0], lo[c], v[1]),
              _mm512_permutex2var_epi8 (v[bpp - 2], hi[c], v[bpp - 1])));
  }
}

/* The RGB-family formats (GRAY8 aside); 0 for any other. */
static int
rgb_offsets (mc_pixel_format f, int off[3], int *bytes)
{
  static const struct { mc_pixel_format f; int bytes, r, g, b; } table[] = {
    { MC_PIXEL_RGB, 3, 0, 1, 2 }, { MC_PIXEL_BGR, 3, 2, 1, 0 },
    { MC_PIXEL_RGBX, 4, 0, 1, 2 }, { MC_PIXEL_RGBA, 4, 0, 1, 2 },
    { MC_PIXEL_BGRX, 4, 2, 1, 0 }, { MC_PIXEL_BGRA, 4, 2, 1, 0 },
    { MC_PIXEL_XRGB, 4, 1, 2, 3 }, { MC_PIXEL_ARGB, 4, 1, 2, 3 },
    { MC_PIXEL_XBGR, 4, 3, 2, 1 }, { MC_PIXEL_ABGR, 4, 3, 2, 1 },
  };
  for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].f == f) {
      off[0] = table[i].r;
      off[1] = table[i].g;
      off[2] = table[i].b;
      *bytes = table[i].bytes;
      return 1;
    }
  return 0;
}

int
mc_unpack_planar_avx512 (const mc_unpacker *up, const mc_image *img, int y,
    int x0, int x1, int rows, uint8_t *const scratch[2][3],
    const uint8_t *planes[2][3])
{
  const uint8_t *luma = img->planes[0] + (size_t) y * img->strides[0] + x0;
  const int c0 = x0 / 2;
  const uint8_t *u = NULL, *v = NULL;
  chroma_layout cl = CHROMA_PLANAR;
  int pair = 0, off[3], bpp;

  if (rgb_offsets (img->format, off, &bpp)) {
    const uint8_t *row = img->planes[0] + (size_t) y * img->strides[0] + (size_t) bpp * x0;
    for (int i = 0; i < 2; i++)
      for (int c = 0; c < 3; c++)
        planes[i][c] = scratch[i][c];
    row_rgb (row, x1 - x0, bpp, off, scratch[0]);
    return 1;
  }
  switch (img->format) {
    case MC_PIXEL_I420: case MC_PIXEL_YV12: case MC_PIXEL_Y42B: {
      const int ui = img->format == MC_PIXEL_YV12 ? 2 : 1, vi = 3 - ui;
      const int cy = img->format == MC_PIXEL_Y42B ? y : y >> 1;
      u = img->planes[ui] + (size_t) cy * img->strides[ui] + c0;
      v = img->planes[vi] + (size_t) cy * img->strides[vi] + c0;
      pair = img->format != MC_PIXEL_Y42B;
      break;
    }
    case MC_PIXEL_NV12: case MC_PIXEL_NV21:
      u = img->planes[1] + (size_t) (y >> 1) * img->strides[1] + 2 * (size_t) c0;
      cl = img->format == MC_PIXEL_NV21 ? CHROMA_PAIRS_VU : CHROMA_PAIRS;
      pair = 1;
      break;
    case MC_PIXEL_Y444:
      u = img->planes[1] + (size_t) y * img->strides[1] + x0;
      v = img->planes[2] + (size_t) y * img->strides[2] + x0;
      break;
    case MC_PIXEL_I420_10LE:
      luma = img->planes[0] + (size_t) y * img->strides[0] + 2 * (size_t) x0;
      u = img->planes[1] + (size_t) (y >> 1) * img->strides[1] + 2 * (size_t) c0;
      v = img->planes[2] + (size_t) (y >> 1) * img->strides[2] + 2 * (size_t) c0;
      cl = CHROMA_PLANAR_10;
      pair = 1;
      break;
    case MC_PIXEL_YUY2: case MC_PIXEL_UYVY:
      break;
    default:
      return mc_unpack_planar_avx2 (up, img, y, x0, x1, rows, scratch, planes);
  }

  const yuv_consts k = {
    _mm512_set1_epi16 ((int16_t) up->cy), _mm512_set1_epi16 ((int16_t) up->crv),
    _mm512_set1_epi16 ((int16_t) up->cgu), _mm512_set1_epi16 ((int16_t) up->cgv),
    _mm512_set1_epi16 ((int16_t) up->cbu), _mm512_set1_epi16 ((int16_t) up->bias),
  };
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 3; c++)
      planes[i][c] = scratch[i][c];
  if (!u) {
    row_422 (&k, img->planes[0] + (size_t) y * img->strides[0] + 4 * (size_t) c0,
        img->format == MC_PIXEL_UYVY, x1 - x0, scratch[0]);
    return 1;
  }
  if (img->format == MC_PIXEL_Y444) {
    row_444 (&k, luma, u, v, x1 - x0, scratch[0]);
    return 1;
  }
  /* 4:2:0 rows 2i and 2i+1 share their chroma: convert them together */
  pair = pair && rows == 2 && (y & 1) == 0 && y + 1 < img->height;
  row_420_of (&k, luma, pair ? luma + img->strides[0] : NULL, u, v, cl, x1 - x0,
      scratch[0], scratch[1]);
  return pair ? 2 : 1;
}
