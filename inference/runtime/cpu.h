/* cpu.h — what the processor and the OS let us run.
 *
 * Features count only when both the CPU advertises them (cpuid) and the OS
 * saves their register state on context switches (xgetbv/XCR0): a CPU with
 * AVX-512 under an OS or hypervisor that does not enable ZMM state must not
 * run AVX-512 code.  Detected once, then cached; on non-x86 builds every
 * flag is 0.
 */
#ifndef MC_RUNTIME_CPU_H
#define MC_RUNTIME_CPU_H

typedef struct {
  unsigned avx2 : 1;
  unsigned fma : 1;
  unsigned avx512f : 1;
  unsigned avx512dq : 1;
  unsigned avx512bw : 1;
  unsigned avx512vl : 1;
  unsigned avx512vbmi : 1;   /* byte permutes: VPERMB, VPERMT2B */
  unsigned avx512_vnni : 1;
  unsigned avx_vnni : 1;   /* the VEX (256-bit) VPDPBUSD */
  unsigned avx512_bf16 : 1;
  unsigned amx_tile : 1;   /* AMX needs mc_cpu_request_amx () before use */
  unsigned amx_bf16 : 1;
  unsigned amx_int8 : 1;
} mc_cpu_features;

/* The features of the running CPU (thread-safe, detected on first call). */
const mc_cpu_features *mc_cpu_get_features (void);

/* Writes the usable features as a space-separated list ("avx2 fma ...", or
 * "none") into buf; returns buf. */
char *mc_cpu_describe (char *buf, int size);

/* Asks Linux for permission to use the AMX tile data state in this process
 * (arch_prctl ARCH_REQ_XCOMP_PERM); without it the first tile instruction
 * kills the process.  Returns 0 when granted (or already granted), -1 when
 * the CPU, the OS or this build cannot use AMX. */
int mc_cpu_request_amx (void);

#endif
