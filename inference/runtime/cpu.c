/* cpu.c — cpuid/xgetbv feature detection (see cpu.h). */
#include "cpu.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MC_CPU_X86 1
#endif

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#define MC_CPU_LINUX_X86_64 1
#endif

static mc_cpu_features features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

#ifdef MC_CPU_X86
/* XCR0 through xgetbv; written as bytes so that the file needs no -mxsave. */
static uint64_t
read_xcr0 (void)
{
  uint32_t lo, hi;
  __asm__ volatile (".byte 0x0f, 0x01, 0xd0" : "=a" (lo), "=d" (hi) : "c" (0));
  return ((uint64_t) hi << 32) | lo;
}
#endif

static void
detect (void)
{
#ifdef MC_CPU_X86
  unsigned a, b, c, d, max_leaf;
  unsigned b7 = 0, c7 = 0, d7 = 0, a7_1 = 0;
  uint64_t xcr0 = 0;
  int os_avx, os_avx512, os_amx;

  if (!__get_cpuid (0, &max_leaf, &b, &c, &d))
    return;
  if (!__get_cpuid (1, &a, &b, &c, &d))
    return;
  /* bit 27: OSXSAVE (xgetbv usable), 28: AVX, 12: FMA */
  if (!(c & (1u << 27)) || !(c & (1u << 28)))
    return;
  xcr0 = read_xcr0 ();
  os_avx = (xcr0 & 0x6) == 0x6;                  /* XMM and YMM state */
  os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;   /* opmask, ZMM_Hi256, Hi16_ZMM */
  os_amx = (xcr0 & 0x60000) == 0x60000;          /* XTILECFG, XTILEDATA */
  if (!os_avx)
    return;
  features.fma = (c >> 12) & 1;

  if (max_leaf >= 7) {
    __cpuid_count (7, 0, a, b7, c7, d7);
    if (a >= 1) {
      unsigned b1, c1, d1;
      __cpuid_count (7, 1, a7_1, b1, c1, d1);
    }
  }
  features.avx2 = (b7 >> 5) & 1;
  features.avx_vnni = (a7_1 >> 4) & 1;
  if (os_avx512) {
    features.avx512f = (b7 >> 16) & 1;
    features.avx512dq = (b7 >> 17) & 1;
    features.avx512bw = (b7 >> 30) & 1;
    features.avx512vl = (b7 >> 31) & 1;
    features.avx512vbmi = (c7 >> 1) & 1;
    features.avx512_vnni = (c7 >> 11) & 1;
    features.avx512_bf16 = (a7_1 >> 5) & 1;
  }
  if (os_amx) {
    features.amx_bf16 = (d7 >> 22) & 1;
    features.amx_tile = (d7 >> 24) & 1;
    features.amx_int8 = (d7 >> 25) & 1;
  }
#endif
}

const mc_cpu_features *
mc_cpu_get_features (void)
{
  pthread_once (&features_once, detect);
  return &features;
}

char *
mc_cpu_describe (char *buf, int size)
{
  const mc_cpu_features *f = mc_cpu_get_features ();
  const struct { unsigned on; const char *name; } list[] = {
    { f->avx2, "avx2" }, { f->fma, "fma" }, { f->avx512f, "avx512f" },
    { f->avx512dq, "avx512dq" }, { f->avx512bw, "avx512bw" },
    { f->avx512vl, "avx512vl" }, { f->avx512vbmi, "avx512vbmi" }, { f->avx512_vnni, "avx512_vnni" },
    { f->avx_vnni, "avx_vnni" },
    { f->avx512_bf16, "avx512_bf16" }, { f->amx_tile, "amx_tile" },
    { f->amx_bf16, "amx_bf16" }, { f->amx_int8, "amx_int8" },
  };
  int used = 0;

  if (size <= 0)
    return buf;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
    if (!list[i].on)
      continue;
    int w = snprintf (buf + used, (size_t) (size - used), "%s%s",
        used ? " " : "", list[i].name);
    if (w < 0 || w >= size - used)
      break;
    used += w;
  }
  if (!used)
    snprintf (buf, (size_t) size, "none");
  return buf;
}

int
mc_cpu_request_amx (void)
{
#ifdef MC_CPU_LINUX_X86_64
  /* from <asm/prctl.h>, spelled out for older headers */
  const int arch_get_xcomp_perm = 0x1022, arch_req_xcomp_perm = 0x1023;
  const unsigned long xfeature_xtiledata = 18;
  uint64_t granted = 0;

  if (!mc_cpu_get_features ()->amx_tile)
    return -1;
  if (syscall (SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) != 0)
    return -1;
  if (syscall (SYS_arch_prctl, arch_get_xcomp_perm, &granted) != 0)
    return -1;
  return (granted & (1ull << xfeature_xtiledata)) ? 0 : -1;
#else
  return -1;
#endif
}
