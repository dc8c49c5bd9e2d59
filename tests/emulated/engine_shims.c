/* engine_shims.c — what the engine's GEMM driver and CPU detection
 * (inference/ops/gemm*.c, gemm_int8.c, runtime/cpu.c) take from libc,
 * pthreads and our thread pool, provided for one thread on bare metal, so
 * that those files run unchanged under the emulator.
 *
 * Memory is a bump allocator over a static arena: free() gives nothing
 * back (the test allocates about 30 MiB in all before it exits).  getenv()
 * finds nothing, so the driver picks its kernels from cpuid alone; tests
 * choose others through the driver's override calls.  syscall() answers
 * only the AMX permission request (granted: no kernel to ask).  fprintf()
 * and abort() serve the AMX tile model's fault report.  vsnprintf() and
 * g_snprintf() serve runtime/error.c, which the preprocessing plans link
 * for their out-of-memory message: they keep the format, not the values. */
#include <immintrin.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "emu_runtime.h"
#include "runtime/threadpool.h"

#define ARENA_BYTES (96u << 20)

static unsigned char arena[ARENA_BYTES] __attribute__ ((aligned (64)));
static size_t arena_used;

int
posix_memalign (void **out, size_t align, size_t size)
{
  size_t start = (arena_used + align - 1) & ~(align - 1);

  if (start + size > ARENA_BYTES) {
    emu_printf ("engine_shims: arena exhausted (%lu bytes wanted)\n",
        (unsigned long) size);
    return 12;   /* ENOMEM */
  }
  arena_used = start + size;
  *out = arena + start;
  return 0;
}

void *
malloc (size_t size)
{
  void *p;
  return posix_memalign (&p, 64, size ? size : 1) == 0 ? p : NULL;
}

void *
calloc (size_t n, size_t size)
{
  void *p = malloc (n * size);
  if (p)
    memset (p, 0, n * size);
  return p;
}

void
free (void *p)
{
  (void) p;
}

char *
getenv (const char *name)
{
  (void) name;
  return NULL;
}

int
strcmp (const char *a, const char *b)
{
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return (unsigned char) *a - (unsigned char) *b;
}

/* cpu.c's only use: "%s%s" and a plain string. */
int
snprintf (char *buf, size_t size, const char *fmt, ...)
{
  va_list ap;
  size_t n = 0;

  va_start (ap, fmt);
  for (const char *f = fmt; *f; f++) {
    const char *s = NULL;
    char one[2] = { *f, 0 };
    if (f[0] == '%' && f[1] == 's') {
      s = va_arg (ap, const char *);
      f++;
    } else {
      s = one;
    }
    for (; *s; s++, n++)
      if (n + 1 < size)
        buf[n] = *s;
  }
  va_end (ap);
  if (size)
    buf[n < size ? n : size - 1] = '\0';
  return (int) n;
}

/* The format string alone: error messages here are never printed. */
int
vsnprintf (char *buf, size_t size, const char *fmt, va_list ap)
{
  size_t n = 0;
  (void) ap;
  for (; fmt[n]; n++)
    if (n + 1 < size)
      buf[n] = fmt[n];
  if (size)
    buf[n < size ? n : size - 1] = '\0';
  return (int) n;
}

int g_snprintf (char *buf, unsigned long size, const char *fmt, ...);

int
g_snprintf (char *buf, unsigned long size, const char *fmt, ...)
{
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vsnprintf (buf, size, fmt, ap);
  va_end (ap);
  return n;
}

/* Only arch_prctl's AMX permission calls (runtime/cpu.c) answer: on bare
 * metal the tile state is usable once boot.S put it in XCR0, which is what
 * Linux grants, so the grant reported is XCR0's. */
long
syscall (long number, ...)
{
  const long sys_arch_prctl = 158, req_xcomp_perm = 0x1023,
      get_xcomp_perm = 0x1022;
  va_list ap;
  long code;
  void *arg;

  if (number != sys_arch_prctl)
    return -1;
  va_start (ap, number);
  code = va_arg (ap, long);
  arg = va_arg (ap, void *);
  va_end (ap);
  if (code == req_xcomp_perm)
    return 0;
  if (code == get_xcomp_perm) {
    uint32_t lo, hi;
    __asm__ volatile ("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
    *(uint64_t *) arg = ((uint64_t) hi << 32) | lo;
    return 0;
  }
  return -1;
}

/* for the AMX tile model (tests/ops/amx_tile_model.c): its fault report */
FILE *stderr;

int
fprintf (FILE *stream, const char *fmt, ...)
{
  va_list ap;

  (void) stream;
  va_start (ap, fmt);
  emu_vprintf (fmt, ap);
  va_end (ap);
  return 0;
}

void
abort (void)
{
  emu_printf ("abort()\n");
  emu_exit (99);
}

float
fabsf (float x)
{
  union { float f; uint32_t u; } v = { x };
  v.u &= 0x7fffffffu;
  return v.f;
}

/* the AMX tile model's (it is built -ffreestanding, so without builtins);
 * every CPU model the test boots has FMA */
float
copysignf (float x, float y)
{
  union { float f; uint32_t u; } a = { x }, b = { y };
  a.u = (a.u & 0x7fffffffu) | (b.u & 0x80000000u);
  return a.f;
}

__attribute__ ((target ("fma"))) float
fmaf (float a, float b, float c)
{
  return _mm_cvtss_f32 (_mm_fmadd_ss (_mm_set_ss (a), _mm_set_ss (b),
          _mm_set_ss (c)));
}

float
fminf (float a, float b)
{
  if (a != a)
    return b;
  if (b != b)
    return a;
  return a < b ? a : b;
}

float
fmaxf (float a, float b)
{
  if (a != a)
    return b;
  if (b != b)
    return a;
  return a > b ? a : b;
}

/* round to nearest even (the MXCSR default), without the inexact flag */
float
nearbyintf (float x)
{
  return _mm_cvtss_f32 (_mm_round_ss (_mm_setzero_ps (), _mm_set_ss (x),
          _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC));
}

/* ---- one thread ---- */

typedef int pthread_once_t;
typedef unsigned pthread_key_t;

#define MAX_KEYS 8
static void *key_values[MAX_KEYS];
static unsigned n_keys;

int
pthread_once (pthread_once_t *once, void (*fn) (void))
{
  if (!*once) {
    *once = 1;
    fn ();
  }
  return 0;
}

int
pthread_key_create (pthread_key_t *key, void (*destructor) (void *))
{
  (void) destructor;
  if (n_keys == MAX_KEYS)
    return 11;   /* EAGAIN */
  *key = n_keys++;
  return 0;
}

void *
pthread_getspecific (pthread_key_t key)
{
  return key < MAX_KEYS ? key_values[key] : NULL;
}

int
pthread_setspecific (pthread_key_t key, const void *value)
{
  if (key >= MAX_KEYS)
    return 22;   /* EINVAL */
  key_values[key] = (void *) value;
  return 0;
}

int
mc_threadpool_size (const mc_threadpool *pool)
{
  (void) pool;
  return 1;
}

void
mc_parallel_for (mc_threadpool *pool, int64_t n, int64_t grain,
    mc_range_fn fn, void *arg)
{
  (void) pool;
  (void) grain;
  if (n > 0)
    fn (arg, 0, n, 0);
}
