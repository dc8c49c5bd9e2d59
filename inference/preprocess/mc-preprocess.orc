# mc-preprocess.orc — the vectorized row kernels of preprocessing.
#
# orcc turns this into C functions that JIT-compile to SIMD at first use and
# fall back to the generated plain C ("backup") where ORC has no JIT.  ORC
# keeps every value in a register and does not spill, so programs stay short.
#
# The horizontal resampling pass (C, resample.c) reads a source row as two
# arrays: rg, one 64-bit word per pixel holding R in bits 0..31 and G in bits
# 32..63, and b, one 32-bit word per pixel.  One 64-bit multiply by a weight
# then filters two channels at once.  The unpack kernels below produce that
# layout from every input format.

# ---- RGB family -----------------------------------------------------------

# 32-bit pixels (RGBx, BGRA, xRGB, ...): channels picked by shift amounts.
.function mc_orc_unpack_rgb32
.dest 8 rg uint8_t
.dest 4 b uint8_t
.source 4 p uint8_t
.param 4 rshift
.param 4 gshift
.param 4 bshift
.const 4 c_mask 255
.temp 4 r
.temp 4 g

shrul r, p, rshift
andl r, r, c_mask
shrul g, p, gshift
andl g, g, c_mask
mergelq rg, r, g
shrul r, p, bshift
andl b, r, c_mask


.function mc_orc_unpack_gray
.dest 8 rg uint8_t
.dest 4 b uint8_t
.source 1 s uint8_t
.temp 2 w
.temp 4 l

convubw w, s
convuwl l, w
mergelq rg, l, l
copyl b, l


# ---- YUV ------------------------------------------------------------------
#
# 16-bit fixed point in 1/32 units:
#   luma   y' = mulhuw (Y·257, cy)               = Y · (luma scale) · 32
#   chroma u = (U - 128) << 8, v likewise
#          Rt = mulhsw (v, crv) + bias
#          Gt = mulhsw (u, cgu) + mulhsw (v, cgv) + bias
#          Bt = mulhsw (u, cbu) + bias
#   R = saturate_u8 ((y' + Rt) >> 5), G and B likewise
# with cy = scale · 8160 and the chroma weights · 2^13; bias = 16 (rounding)
# minus the luma offset (16 · scale · 32 for video range).  See unpack.c.
#
# The chroma terms are computed once per chroma sample (and, for 4:2:0, once
# per two rows) and stored twice, once for each pixel of the pair, so that
# the per-pixel luma kernel reads them as plain 16-bit arrays.

.function mc_orc_chroma_terms
.dest 4 rt int16_t
.dest 4 gt int16_t
.dest 4 bt int16_t
.source 1 u uint8_t
.source 1 v uint8_t
.param 2 crv
.param 2 cgu
.param 2 cgv
.param 2 cbu
.param 2 bias
.temp 2 uw
.temp 2 vw
.temp 2 t
.temp 2 x

convubw uw, u
subw uw, uw, 128
shlw uw, uw, 8
convubw vw, v
subw vw, vw, 128
shlw vw, vw, 8
mulhsw x, vw, crv
addw x, x, bias
mergewl rt, x, x
mulhsw x, uw, cgu
mulhsw t, vw, cgv
addw x, x, t
addw x, x, bias
mergewl gt, x, x
mulhsw x, uw, cbu
addw x, x, bias
mergewl bt, x, x


# 4:4:4: the same terms, one per pixel (no doubling).
.function mc_orc_chroma_terms_444
.dest 2 rt int16_t
.dest 2 gt int16_t
.dest 2 bt int16_t
.source 1 u uint8_t
.source 1 v uint8_t
.param 2 crv
.param 2 cgu
.param 2 cgv
.param 2 cbu
.param 2 bias
.temp 2 uw
.temp 2 vw
.temp 2 t
.temp 2 x

convubw uw, u
subw uw, uw, 128
shlw uw, uw, 8
convubw vw, v
subw vw, vw, 128
shlw vw, vw, 8
mulhsw t, vw, crv
addw rt, t, bias
mulhsw t, uw, cgu
mulhsw x, vw, cgv
addw t, t, x
addw gt, t, bias
mulhsw t, uw, cbu
addw bt, t, bias


# 10-bit chroma (the low bits of 16-bit samples): (C - 512) << 6, the same
# 16-bit scale as (C - 128) << 8.
.function mc_orc_chroma_terms_10
.dest 4 rt int16_t
.dest 4 gt int16_t
.dest 4 bt int16_t
.source 2 u uint16_t
.source 2 v uint16_t
.param 2 crv
.param 2 cgu
.param 2 cgv
.param 2 cbu
.param 2 bias
.temp 2 uw
.temp 2 vw
.temp 2 t
.temp 2 x

andw uw, u, 1023
shlw uw, uw, 6
xorw uw, uw, 32768
andw vw, v, 1023
shlw vw, vw, 6
xorw vw, vw, 32768
mulhsw x, vw, crv
addw x, x, bias
mergewl rt, x, x
mulhsw x, uw, cgu
mulhsw t, vw, cgv
addw x, x, t
addw x, x, bias
mergewl gt, x, x
mulhsw x, uw, cbu
addw x, x, bias
mergewl bt, x, x


# Bytes out (R|G<<8 pairs and B) keep every temporary at 16 bits, so ORC
# runs eight pixels per SSE register; mc_orc_widen_u8_u32 then spreads them to
# the rg/b words.  (Writing 64-bit rg directly would cap a loop iteration at
# two pixels.)
.function mc_orc_yuv_to_rgb8
.dest 2 rg uint8_t
.dest 1 b uint8_t
.source 1 y uint8_t
.source 2 rt int16_t
.source 2 gt int16_t
.source 2 bt int16_t
.param 2 cy
.temp 2 yw
.temp 2 x
.temp 1 r8
.temp 1 g8

splatbw yw, y
mulhuw yw, yw, cy
addw x, yw, rt
shrsw x, x, 5
convsuswb r8, x
addw x, yw, gt
shrsw x, x, 5
convsuswb g8, x
mergebw rg, r8, g8
addw x, yw, bt
shrsw x, x, 5
convsuswb b, x


# 10-bit luma: Y << 6 in place of Y·257 (cy is computed for it, see
# unpack.c); then as mc_orc_yuv_to_rgb8.
.function mc_orc_yuv10_to_rgb8
.dest 2 rg uint8_t
.dest 1 b uint8_t
.source 2 y uint16_t
.source 2 rt int16_t
.source 2 gt int16_t
.source 2 bt int16_t
.param 2 cy
.temp 2 yw
.temp 2 x
.temp 1 r8
.temp 1 g8

andw yw, y, 1023
shlw yw, yw, 6
mulhuw yw, yw, cy
addw x, yw, rt
shrsw x, x, 5
convsuswb r8, x
addw x, yw, gt
shrsw x, x, 5
convsuswb g8, x
mergebw rg, r8, g8
addw x, yw, bt
shrsw x, x, 5
convsuswb b, x


# u8 to u32: R,G byte pairs become the 64-bit R | G << 32 words on a
# little-endian machine (unpack.c swaps the pair on big-endian ones).
.function mc_orc_widen_u8_u32
.dest 4 d uint32_t
.source 1 s uint8_t
.temp 2 w

convubw w, s
convuwl d, w


# Interleaved chroma (NV12: U,V; NV21: swap the destinations).
.function mc_orc_split_pairs
.dest 1 a uint8_t
.dest 1 b uint8_t
.source 2 ab uint8_t

splitwb b, a, ab


# YUY2 macropixel Y0 U Y1 V: luma pair and chroma pair.
.function mc_orc_split_yuy2
.dest 2 yy uint8_t
.dest 1 u uint8_t
.dest 1 v uint8_t
.source 4 s uint8_t
.temp 2 c

x2 splitwb c, yy, s
splitwb v, u, c


# UYVY macropixel U Y0 V Y1.
.function mc_orc_split_uyvy
.dest 2 yy uint8_t
.dest 1 u uint8_t
.dest 1 v uint8_t
.source 4 s uint8_t
.temp 2 c

x2 splitwb yy, c, s
splitwb v, u, c


# Vertical pass: acc[i] = 2^21 + Σ_t row_t[i] · k_t over the taps of one
# output row, in int32 exactly as Pillow (weights reach 2^22, so 32-bit
# products are needed; the sum stays below 2^31 for non-negative weights).
.function mc_orc_vfilter_first
.dest 4 acc int32_t
.source 1 s uint8_t
.param 4 k
.const 4 c_half 2097152
.temp 2 w
.temp 4 l

convubw w, s
convuwl l, w
mulll l, l, k
addl acc, l, c_half


.function mc_orc_vfilter_add
.dest 4 acc int32_t
.source 1 s uint8_t
.param 4 k
.temp 2 w
.temp 4 l

convubw w, s
convuwl l, w
mulll l, l, k
addl acc, acc, l


.function mc_orc_vfilter_add2
.dest 4 acc int32_t
.source 1 s1 uint8_t
.source 1 s2 uint8_t
.param 4 k1
.param 4 k2
.temp 2 w
.temp 4 l
.temp 4 m

convubw w, s1
convuwl l, w
mulll l, l, k1
convubw w, s2
convuwl m, w
mulll m, m, k2
addl l, l, m
addl acc, acc, l


# The end of the vertical pass: acc >> 22 clamped to 0..255, then /255 in
# float32 as torchvision's ToTensor (a true division: x * (1/255) differs
# for 126 of the 256 values).
.function mc_orc_vfilter_finish
.dest 4 d float
.source 4 acc int32_t
.const 4 c_255f 0x437f0000
.temp 4 l
.temp 4 f

shrsl l, acc, 22
maxsl l, l, 0
minsl l, l, 255
convlf f, l
divf d, f, c_255f


# Rows the vertical pass leaves alone: u8 to float /255.
.function mc_orc_u8_to_unit_float
.dest 4 d float
.source 1 s uint8_t
.const 4 c_255f 0x437f0000
.temp 2 w
.temp 4 l
.temp 4 f

convubw w, s
convuwl l, w
convlf f, l
divf d, f, c_255f
