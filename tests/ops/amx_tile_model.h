/* amx_tile_model.h — a plain-C model of the AMX tiles (tests only), on
 * which the AMX kernels' template code runs on machines without AMX:
 * gemm_bf16_amx_emulated.c (TDPBF16PS) and gemm_int8_amx_emulated.c
 * (TDPBUSD).  amx_tile_model.c says what is modelled and how. */
#ifndef MC_TEST_AMX_TILE_MODEL_H
#define MC_TEST_AMX_TILE_MODEL_H

/* LDTILECFG, TILERELEASE, TILEZERO, TILELOADD, TILESTORED */
void mc_amx_model_config (const void *cfg);
void mc_amx_model_release (void);
void mc_amx_model_zero (int t);
void mc_amx_model_load (int t, const void *base, long stride);
void mc_amx_model_store (int t, void *base, long stride);
/* tmm c += tmm a · tmm b */
void mc_amx_model_dpbf16ps (int c, int a, int b);
void mc_amx_model_dpbusd (int c, int a, int b);

/* Tests: whether this thread's tiles hold a configuration (a kernel must
 * release them after each product), and how many TDPBF16PS and TDPBUSD
 * were modelled so far, all threads together. */
int mc_amx_emulated_configured (void);
long mc_amx_emulated_dp_count (void);
long mc_amx_emulated_dpbusd_count (void);

/* the layer gemm_bf16_amx_template.h and gemm_int8_amx_template.h run on */
#define amx_tile_config(cfg) mc_amx_model_config (cfg)
#define amx_tile_release() mc_amx_model_release ()
#define amx_tile_zero(t) mc_amx_model_zero (t)
#define amx_tile_load(t, p, s) mc_amx_model_load (t, p, s)
#define amx_tile_store(t, p, s) mc_amx_model_store (t, p, s)

#endif
