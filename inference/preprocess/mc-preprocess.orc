# mc-preprocess.orc — the vectorized row kernels of preprocessing.
#
# orcc turns this into C functions that JIT-compile to SIMD at first use and
# fall back to the generated plain C ("backup") where ORC has no JIT.  ORC
# does not spill registers, so programs keep few values alive at once.
#
# YUV -> RGBx: each function converts n pixel PAIRS (two luma samples share a
# chroma sample horizontally in every 4:2:x format) into 2n RGBx pixels
# (R, G, B, 255 in memory order).  16-bit fixed point, four lanes R,G,B,-:
#   y' = mulhsw ((Y - yoff) << 7, ycoef) + 16      luma in 1/32 units, +0.5
#   u, v = (C - 128) << 8
#   T  = (v, u, v, u) *h kc1 + (u, v, u, v) *h kc2  (*h = mulhsw per lane)
#        kc1 = (crv, cgu, 0, 0), kc2 = (0, cgv, cbu, 0)
#   RGB = saturate_u8 ((y' + T) >> 5)
# with ycoef = luma scale * 2^14 and the chroma weights * 2^13 (see yuv.c).
# The chroma terms are computed once per pair, the luma term per pixel.

# I420 / YV12: separate chroma planes (YV12 swaps the pointers).
.function mc_orc_i420_to_rgbx
.dest 8 d uint8_t
.source 2 y uint8_t
.source 1 u uint8_t
.source 1 v uint8_t
.param 2 yoff
.param 2 ycoef
.longparam 8 kc1
.longparam 8 kc2
.temp 1 yb
.temp 2 cu
.temp 2 cv
.temp 2 yw
.temp 4 l
.temp 8 cq
.temp 8 tq
.temp 8 yq
.temp 4 p0
.temp 4 p1

loadb yb, u
convubw cu, yb
subw cu, cu, 128
shlw cu, cu, 8
loadb yb, v
convubw cv, yb
subw cv, cv, 128
shlw cv, cv, 8
mergewl l, cv, cu
mergelq cq, l, l
x4 mulhsw tq, cq, kc1
mergewl l, cu, cv
mergelq cq, l, l
x4 mulhsw cq, cq, kc2
x4 addw tq, tq, cq
select0wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p0, yq
orl p0, p0, 0xff000000
select1wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p1, yq
orl p1, p1, 0xff000000
mergelq d, p0, p1


# NV12: chroma pairs interleaved, U first.
.function mc_orc_nv12_to_rgbx
.dest 8 d uint8_t
.source 2 y uint8_t
.source 2 uv uint8_t
.param 2 yoff
.param 2 ycoef
.longparam 8 kc1
.longparam 8 kc2
.temp 1 yb
.temp 2 cu
.temp 2 cv
.temp 2 yw
.temp 4 l
.temp 8 cq
.temp 8 tq
.temp 8 yq
.temp 4 p0
.temp 4 p1

select0wb yb, uv
convubw cu, yb
subw cu, cu, 128
shlw cu, cu, 8
select1wb yb, uv
convubw cv, yb
subw cv, cv, 128
shlw cv, cv, 8
mergewl l, cv, cu
mergelq cq, l, l
x4 mulhsw tq, cq, kc1
mergewl l, cu, cv
mergelq cq, l, l
x4 mulhsw cq, cq, kc2
x4 addw tq, tq, cq
select0wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p0, yq
orl p0, p0, 0xff000000
select1wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p1, yq
orl p1, p1, 0xff000000
mergelq d, p0, p1


# NV21: chroma pairs interleaved, V first.
.function mc_orc_nv21_to_rgbx
.dest 8 d uint8_t
.source 2 y uint8_t
.source 2 vu uint8_t
.param 2 yoff
.param 2 ycoef
.longparam 8 kc1
.longparam 8 kc2
.temp 1 yb
.temp 2 cu
.temp 2 cv
.temp 2 yw
.temp 4 l
.temp 8 cq
.temp 8 tq
.temp 8 yq
.temp 4 p0
.temp 4 p1

select1wb yb, vu
convubw cu, yb
subw cu, cu, 128
shlw cu, cu, 8
select0wb yb, vu
convubw cv, yb
subw cv, cv, 128
shlw cv, cv, 8
mergewl l, cv, cu
mergelq cq, l, l
x4 mulhsw tq, cq, kc1
mergewl l, cu, cv
mergelq cq, l, l
x4 mulhsw cq, cq, kc2
x4 addw tq, tq, cq
select0wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p0, yq
orl p0, p0, 0xff000000
select1wb yb, y
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p1, yq
orl p1, p1, 0xff000000
mergelq d, p0, p1


# YUY2 macropixel in memory: Y0 U Y1 V (x2 splitwb separates the luma pair from the chroma pair).
.function mc_orc_yuy2_to_rgbx
.dest 8 d uint8_t
.source 4 s uint8_t
.param 2 yoff
.param 2 ycoef
.longparam 8 kc1
.longparam 8 kc2
.temp 1 yb
.temp 2 cu
.temp 2 cv
.temp 2 yw
.temp 4 l
.temp 8 cq
.temp 8 tq
.temp 8 yq
.temp 4 p0
.temp 4 p1
.temp 2 yy

x2 splitwb cu, yy, s
select1wb yb, cu
convubw cv, yb
subw cv, cv, 128
shlw cv, cv, 8
select0wb yb, cu
convubw cu, yb
subw cu, cu, 128
shlw cu, cu, 8
mergewl l, cv, cu
mergelq cq, l, l
x4 mulhsw tq, cq, kc1
mergewl l, cu, cv
mergelq cq, l, l
x4 mulhsw cq, cq, kc2
x4 addw tq, tq, cq
select0wb yb, yy
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p0, yq
orl p0, p0, 0xff000000
select1wb yb, yy
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p1, yq
orl p1, p1, 0xff000000
mergelq d, p0, p1


# UYVY macropixel in memory: U Y0 V Y1.
.function mc_orc_uyvy_to_rgbx
.dest 8 d uint8_t
.source 4 s uint8_t
.param 2 yoff
.param 2 ycoef
.longparam 8 kc1
.longparam 8 kc2
.temp 1 yb
.temp 2 cu
.temp 2 cv
.temp 2 yw
.temp 4 l
.temp 8 cq
.temp 8 tq
.temp 8 yq
.temp 4 p0
.temp 4 p1
.temp 2 yy

x2 splitwb yy, cu, s
select1wb yb, cu
convubw cv, yb
subw cv, cv, 128
shlw cv, cv, 8
select0wb yb, cu
convubw cu, yb
subw cu, cu, 128
shlw cu, cu, 8
mergewl l, cv, cu
mergelq cq, l, l
x4 mulhsw tq, cq, kc1
mergewl l, cu, cv
mergelq cq, l, l
x4 mulhsw cq, cq, kc2
x4 addw tq, tq, cq
select0wb yb, yy
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p0, yq
orl p0, p0, 0xff000000
select1wb yb, yy
convubw yw, yb
subw yw, yw, yoff
shlw yw, yw, 7
mulhsw yw, yw, ycoef
addw yw, yw, 16
mergewl l, yw, yw
mergelq yq, l, l
x4 addw yq, yq, tq
x4 shrsw yq, yq, 5
x4 convsuswb p1, yq
orl p1, p1, 0xff000000
mergelq d, p0, p1


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
