/* resample_avxvnni.c — the avx-vnni variant's two passes: resample_avx2.c
 * built again with -mavxvnni, its multiply-adds as VPDPWSSD (see there). */
#define MC_PP_AVX_VNNI 1
#include "resample_avx2.c"
