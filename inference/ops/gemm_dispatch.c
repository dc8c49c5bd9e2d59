/* gemm_dispatch.c — which GEMM kernels run: the variant slot (portable,
 * AVX2+FMA or AVX-512) from cpuid and XCR0 (MC_GEMM_VARIANT overrides), and
 * in each slot its float, bf16 and int8 kernels (AMX, VPDPBUSD or
 * VDPBF16PS where the CPU, Linux and the build allow, else the slot's own
 * or an emulation); the tests' kernel overrides; the thread's packing
 * format.  gemm.c runs products on what it picks, gemm_pack.c packs weights
 * for it. */
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "gemm_kernels.h"
#include "runtime/cpu.h"

/* ---- variant slots and their float kernels ---- */

static mc_gemm_variant current_variant = MC_GEMM_PORTABLE;
static pthread_once_t variant_once = PTHREAD_ONCE_INIT;

int
mc_gemm_variant_supported (mc_gemm_variant v)
{
#ifdef MC_GEMM_HAVE_X86
  const mc_cpu_features *f = mc_cpu_get_features ();
#endif

  switch (v) {
    case MC_GEMM_PORTABLE:
      return 1;
#ifdef MC_GEMM_HAVE_X86
    case MC_GEMM_AVX2:
      return f->avx2 && f->fma;
    case MC_GEMM_AVX512:
      /* avx2 too: -mavx512f code uses AVX2 instructions, and this slot's
       * int8 (and emulated bf16) products run the AVX2 slot's kernels */
      return f->avx2 && f->avx512f && f->avx512dq && f->avx512bw
          && f->avx512vl && f->fma;
#endif
    default:
      return 0;
  }
}

static mc_gemm_variant
best_variant (void)
{
  if (mc_gemm_variant_supported (MC_GEMM_AVX512))
    return MC_GEMM_AVX512;
  if (mc_gemm_variant_supported (MC_GEMM_AVX2))
    return MC_GEMM_AVX2;
  return MC_GEMM_PORTABLE;
}

static void
variant_init (void)
{
  const char *env = getenv ("MC_GEMM_VARIANT");

  current_variant = best_variant ();
  if (env && *env) {
    for (int v = MC_GEMM_PORTABLE; v <= MC_GEMM_AVX512; v++)
      if (strcmp (env, mc_gemm_variant_name (v)) == 0
          && mc_gemm_variant_supported (v))
        current_variant = v;
  }
}

void
mc_gemm_set_variant (mc_gemm_variant v)
{
  pthread_once (&variant_once, variant_init);
  if (v == MC_GEMM_AUTO || !mc_gemm_variant_supported (v))
    v = best_variant ();
  current_variant = v;
}

mc_gemm_variant
mc_gemm_get_variant (void)
{
  pthread_once (&variant_once, variant_init);
  return current_variant;
}

const char *
mc_gemm_variant_name (mc_gemm_variant v)
{
  switch (v) {
    case MC_GEMM_PORTABLE: return "portable";
    case MC_GEMM_AVX2: return "avx2";
    case MC_GEMM_AVX512: return "avx512";
    default: return "auto";
  }
}

static const mc_gemm_kernels *kernel_override[MC_GEMM_AVX512 + 1];

void
mc_gemm_kernels_override (mc_gemm_variant v, const mc_gemm_kernels *k)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512)
    kernel_override[v] = k;
}

const mc_gemm_kernels *
mc_gemm_kernels_f32 (int v)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512 && kernel_override[v])
    return kernel_override[v];
  switch (v) {
#ifdef MC_GEMM_HAVE_X86
    case MC_GEMM_AVX2: return &mc_gemm_kernels_avx2;
    case MC_GEMM_AVX512: return &mc_gemm_kernels_avx512;
#endif
    default: return &mc_gemm_kernels_portable;
  }
}

/* ---- bf16 kernels: one per variant slot (the AVX-512 slot's is AMX-BF16
 * where it may run, else AVX512-BF16), sharing that slot's float kernel's
 * panel width, N blocking and epilogue ---- */

static const mc_gemm_bf16_kernels *bf16_override[MC_GEMM_AVX512 + 1];

void
mc_gemm_bf16_kernels_override (mc_gemm_variant v,
    const mc_gemm_bf16_kernels *k)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512)
    bf16_override[v] = k;
}

static int
bf16_instruction_supported (void)
{
#ifdef MC_GEMM_HAVE_X86
  return mc_gemm_variant_supported (MC_GEMM_AVX512)
      && mc_cpu_get_features ()->avx512_bf16;
#else
  return 0;
#endif
}

/* The slot bf16 panels are packed for while variant v is current: the
 * AVX-512 slot only where its kernel (VDPBF16PS) can run, else the AVX2
 * emulation. */
int
mc_gemm_bf16_slot (int v)
{
  if (v == MC_GEMM_AVX512 && !bf16_override[v] && !bf16_instruction_supported ())
    return MC_GEMM_AVX2;
  return v;
}

#if defined(MC_GEMM_HAVE_AMX) || defined(MC_GEMM_HAVE_AMX_INT8)
/* Why an AMX kernel cannot run in this process, or NULL: the tile type
 * (cpuid and XCR0), the other ISA it needs, then the Linux tile permission
 * (asked here). */
static const char *
amx_refusal (int has_type, const char *no_type, int has_isa,
    const char *no_isa)
{
  if (!mc_cpu_get_features ()->amx_tile || !has_type)
    return no_type;
  if (!has_isa)
    return no_isa;
  if (mc_cpu_request_amx () != 0)
    return "Linux refused the tile data permission (ARCH_REQ_XCOMP_PERM)";
  return NULL;
}
#endif

/* AMX-BF16 (x86/gemm_amx.c): TDPBF16PS reads the AVX512-BF16 kernel's
 * pair-word panels as they are, so it is the other bf16 kernel of the
 * AVX-512 slot, used in its place where the CPU, the OS and this build
 * allow (decided once; the Linux permission is asked then). */
static const mc_gemm_bf16_kernels *amx_kernels;
static const char *amx_why;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
static int amx_off;
static pthread_once_t amx_env_once = PTHREAD_ONCE_INIT;

static void
amx_init (void)
{
#ifdef MC_GEMM_HAVE_AMX
  const mc_cpu_features *f = mc_cpu_get_features ();

  amx_why = amx_refusal (f->amx_bf16,
      "cpuid/XCR0 report no usable AMX-TILE and AMX-BF16",
      mc_gemm_variant_supported (MC_GEMM_AVX512) && f->avx512_bf16,
      "no AVX-512 with AVX512-BF16 (the kernel's A conversion)");
  if (!amx_why)
    amx_kernels = &mc_gemm_bf16_kernels_amx;
#else
  amx_why = "this build has no AMX kernel (compiler without -mamx-bf16, "
      "or not x86-64)";
#endif
}

const mc_gemm_bf16_kernels *
mc_gemm_bf16_amx_kernels (const char **why)
{
  pthread_once (&amx_once, amx_init);
  if (why)
    *why = amx_kernels ? NULL : amx_why;
  return amx_kernels;
}

static int amx_rows32;   /* MC_GEMM_AMX_ROWS=32: amx-bf16-32, amx-int8-32 */

static void
amx_env_init (void)
{
  const char *env = getenv ("MC_GEMM_AMX");
  const char *rows = getenv ("MC_GEMM_AMX_ROWS");

  amx_off = env && (strcmp (env, "0") == 0 || strcmp (env, "off") == 0
      || strcmp (env, "no") == 0 || strcmp (env, "false") == 0);
  amx_rows32 = rows && strcmp (rows, "32") == 0;
}

int
mc_gemm_amx_rows32 (void)
{
  pthread_once (&amx_env_once, amx_env_init);
  return amx_rows32;
}

void
mc_gemm_set_amx_rows32 (int on)
{
  pthread_once (&amx_env_once, amx_env_init);
  amx_rows32 = on != 0;
}

/* The AMX kernel where the AVX-512 slot's bf16 products should run on it
 * (on 32-row strips where the environment asks), else NULL; MC_GEMM_AMX=0
 * (for bf16 and int8 alike) keeps the process from even asking Linux. */
static const mc_gemm_bf16_kernels *
amx_default (void)
{
  pthread_once (&amx_env_once, amx_env_init);
  if (amx_off || !mc_gemm_bf16_amx_kernels (NULL))
    return NULL;
#ifdef MC_GEMM_HAVE_AMX
  if (amx_rows32)
    return &mc_gemm_bf16_kernels_amx32;
#endif
  return mc_gemm_bf16_amx_kernels (NULL);
}

const mc_gemm_bf16_kernels *
mc_gemm_kernels_bf16 (int v)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512 && bf16_override[v])
    return bf16_override[v];
  switch (v) {
#ifdef MC_GEMM_HAVE_X86
    case MC_GEMM_AVX2: return &mc_gemm_bf16_kernels_avx2;
    case MC_GEMM_AVX512: {
      const mc_gemm_bf16_kernels *amx = amx_default ();
      return amx ? amx : &mc_gemm_bf16_kernels_avx512bf16;
    }
#endif
    default: return &mc_gemm_bf16_kernels_portable;
  }
}

/* ---- int8 kernels: one per variant slot with the same panel width.  The
 * AVX-512 slot's is VPDPBUSD on 512-bit vectors, where the CPU has
 * AVX512-VNNI; elsewhere int8 panels are packed for the AVX2 slot, whose
 * kernel is AVX2 or, where the CPU has it, VPDPBUSD on 256-bit vectors ---- */

static const mc_gemm_int8_kernels *int8_override[MC_GEMM_AVX512 + 1];

void
mc_gemm_int8_kernels_override (mc_gemm_variant v,
    const mc_gemm_int8_kernels *k)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512)
    int8_override[v] = k;
}

/* VPDPBUSD kernels replace the AVX2 one where cpuid and XCR0 allow (in the
 * AVX2 slot the VEX form first: it needs no AVX-512 state), unless
 * MC_GEMM_VNNI=0.  Decided once. */
static const mc_gemm_int8_kernels *vnni_kernels;      /* AVX2 slot */
static const mc_gemm_int8_kernels *vnni512_kernels;   /* AVX-512 slot */
static pthread_once_t vnni_once = PTHREAD_ONCE_INIT;

static void
vnni_init (void)
{
  const char *env = getenv ("MC_GEMM_VNNI");
#if defined(MC_GEMM_HAVE_AVX_VNNI) || defined(MC_GEMM_HAVE_AVX512_VNNI) \
    || defined(MC_GEMM_HAVE_AVX512_VNNI512)
  const mc_cpu_features *f = mc_cpu_get_features ();
#endif

  if (env && (strcmp (env, "0") == 0 || strcmp (env, "off") == 0
          || strcmp (env, "no") == 0 || strcmp (env, "false") == 0))
    return;
#ifdef MC_GEMM_HAVE_AVX512_VNNI512
  if (mc_gemm_variant_supported (MC_GEMM_AVX512) && f->avx512_vnni)
    vnni512_kernels = &mc_gemm_int8_kernels_avx512_vnni512;
#endif
  if (!mc_gemm_variant_supported (MC_GEMM_AVX2))
    return;
#ifdef MC_GEMM_HAVE_AVX_VNNI
  if (f->avx_vnni) {
    vnni_kernels = &mc_gemm_int8_kernels_avx_vnni;
    return;
  }
#endif
#ifdef MC_GEMM_HAVE_AVX512_VNNI
  if (f->avx512_vnni && f->avx512vl && f->avx512f)
    vnni_kernels = &mc_gemm_int8_kernels_avx512_vnni;
#endif
}

const mc_gemm_int8_kernels *
mc_gemm_int8_vnni_kernels (void)
{
  pthread_once (&vnni_once, vnni_init);
  return vnni_kernels;
}

const mc_gemm_int8_kernels *
mc_gemm_int8_vnni512_kernels (void)
{
  pthread_once (&vnni_once, vnni_init);
  return vnni512_kernels;
}

/* AMX-INT8 (x86/gemm_int8_amx.c): TDPBUSD reads the 512-bit VPDPBUSD
 * kernel's panels as they are and gives the same outputs, so it is the
 * AVX-512 slot's int8 kernel where the CPU, the OS and this build allow
 * (decided once; the Linux permission is asked then), unless MC_GEMM_AMX=0
 * (amx_default's switch, shared with bf16). */
static const mc_gemm_int8_kernels *amx8_kernels;
static const char *amx8_why;
static pthread_once_t amx8_once = PTHREAD_ONCE_INIT;

static void
amx8_init (void)
{
#ifdef MC_GEMM_HAVE_AMX_INT8
  amx8_why = amx_refusal (mc_cpu_get_features ()->amx_int8,
      "cpuid/XCR0 report no usable AMX-TILE and AMX-INT8",
      mc_gemm_variant_supported (MC_GEMM_AVX512),
      "no usable AVX-512 (the kernel's epilogue)");
  if (!amx8_why)
    amx8_kernels = &mc_gemm_int8_kernels_amx;
#else
  amx8_why = "this build has no AMX-INT8 kernel (compiler without "
      "-mamx-int8, or not x86-64)";
#endif
}

const mc_gemm_int8_kernels *
mc_gemm_int8_amx_kernels (const char **why)
{
  pthread_once (&amx8_once, amx8_init);
  if (why)
    *why = amx8_kernels ? NULL : amx8_why;
  return amx8_kernels;
}

/* The AVX-512 slot's own int8 kernel on this CPU, or NULL (its products are
 * then packed for the AVX2 slot): AMX-INT8 (on 32-row strips where the
 * environment asks), else 512-bit VPDPBUSD. */
static const mc_gemm_int8_kernels *
int8_avx512_kernels (void)
{
  pthread_once (&amx_env_once, amx_env_init);
  if (!amx_off && mc_gemm_int8_amx_kernels (NULL)) {
#ifdef MC_GEMM_HAVE_AMX_INT8
    if (amx_rows32)
      return &mc_gemm_int8_kernels_amx32;
#endif
    return mc_gemm_int8_amx_kernels (NULL);
  }
  return mc_gemm_int8_vnni512_kernels ();
}

/* The slot int8 panels are packed for while variant v is current: the
 * AVX-512 slot only where it has a kernel. */
int
mc_gemm_int8_slot (int v)
{
  if (v == MC_GEMM_AVX512 && !int8_override[v] && !int8_avx512_kernels ())
    return MC_GEMM_AVX2;
  return v;
}

const mc_gemm_int8_kernels *
mc_gemm_kernels_int8 (int v)
{
  if (v >= MC_GEMM_PORTABLE && v <= MC_GEMM_AVX512 && int8_override[v])
    return int8_override[v];
#ifdef MC_GEMM_HAVE_X86
  if (v == MC_GEMM_AVX512 && int8_avx512_kernels ())
    return int8_avx512_kernels ();
  if (v == MC_GEMM_AVX2) {
    const mc_gemm_int8_kernels *vnni = mc_gemm_int8_vnni_kernels ();
    return vnni ? vnni : &mc_gemm_int8_kernels_avx2;
  }
#endif
  return &mc_gemm_int8_kernels_portable;
}

const char *
mc_gemm_kernel_name (mc_gemm_format f)
{
  const int v = mc_gemm_get_variant ();
  if (f == MC_GEMM_INT8)
    return mc_gemm_kernels_int8 (mc_gemm_int8_slot (v))->name;
  return f == MC_GEMM_BF16 ? mc_gemm_kernels_bf16 (mc_gemm_bf16_slot (v))->name
      : mc_gemm_kernels_f32 (v)->name;
}

int
mc_gemm_bf16_native (void)
{
  const int v = mc_gemm_bf16_slot (mc_gemm_get_variant ());
  return mc_gemm_kernels_bf16 (v)->native;
}

static _Thread_local mc_gemm_format pack_format = MC_GEMM_F32;

mc_gemm_format
mc_gemm_set_pack_format (mc_gemm_format f)
{
  const mc_gemm_format old = pack_format;
  pack_format = f == MC_GEMM_BF16 || f == MC_GEMM_INT8 ? f : MC_GEMM_F32;
  return old;
}

mc_gemm_format
mc_gemm_get_pack_format (void)
{
  return pack_format;
}

static _Thread_local int int8_min_k;

int
mc_gemm_set_int8_min_k (int min_k)
{
  const int old = int8_min_k;
  int8_min_k = min_k;
  return old;
}

int
mc_gemm_int8_min_k (void)
{
  return int8_min_k;
}

mc_gemm_format
mc_gemm_sensitive_format (void)
{
  return pack_format == MC_GEMM_INT8 ? MC_GEMM_F32 : pack_format;
}

void
mc_gelu_inplace (float *x, size_t n)
{
  mc_gemm_kernels_f32 (mc_gemm_get_variant ())->gelu (x, n);
}

void
mc_gelu_coarse_inplace (float *x, size_t n)
{
  mc_gemm_kernels_f32 (mc_gemm_get_variant ())->gelu_coarse (x, n);
}

