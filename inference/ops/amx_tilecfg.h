/* amx_tilecfg.h — LDTILECFG's memory operand, shared by the AMX kernel
 * templates (gemm_bf16_amx_template.h, gemm_int8_amx_template.h). */
#ifndef MC_OPS_AMX_TILECFG_H
#define MC_OPS_AMX_TILECFG_H

#include <stdint.h>

/* Palette 1: bytes 16-31 hold the bytes per row of tmm0-7, bytes 48-55
 * their rows; the rest (tiles 8-15 included) must be zero, as must both
 * fields of an unused tile. */
typedef struct {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} __attribute__ ((aligned (64))) mc_amx_tilecfg;

_Static_assert (sizeof (mc_amx_tilecfg) == 64, "LDTILECFG reads 64 bytes");

#endif
