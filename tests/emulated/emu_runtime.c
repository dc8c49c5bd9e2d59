/* emu_runtime.c — console, printf, string functions and exit for the
 * bare-metal test images (see emu_runtime.h).  Built without ISA flags so
 * that it runs on every emulated CPU model. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "emu_runtime.h"

static inline void
outb (uint16_t port, uint8_t v)
{
  __asm__ volatile ("outb %0, %1"::"a" (v), "Nd" (port));
}

void
emu_putc (char c)
{
  outb (0xE9, (uint8_t) c);
}

/* Bochs's shutdown port: the string "Shutdown" written to port 0x8900 is
 * a panic to Bochs, which run-bochs.sh makes fatal, so Bochs exits. */
static void __attribute__ ((noreturn))
shutdown (void)
{
  for (const char *s = "Shutdown"; *s; s++)
    outb (0x8900, (uint8_t) *s);
  for (;;)
    __asm__ volatile ("cli; hlt");
}

void
emu_exit (int status)
{
  emu_printf ("\nEMU-EXIT %d\n", status);
  shutdown ();
}

void
emu_exception (unsigned vector, unsigned long long error,
    unsigned long long rip)
{
  static int nested;

  if (!nested++)        /* a fault while printing must not loop */
    emu_printf ("\nEXCEPTION %u rip=0x%llx err=0x%llx\n", vector, rip, error);
  shutdown ();
}

/* Thread-local storage for one thread (x86-64 variant II): the TLS image
 * sits right below the thread pointer, which points at itself (the TCB's
 * first word), and FS's base is the thread pointer. */
extern const char __tdata_start[], __tdata_end[], __tls_size[];

#define TLS_MAX 16384   /* the AMX tile model keeps 8 KiB of tiles per thread */

static char tls_block[TLS_MAX + 64] __attribute__ ((aligned (64)));

void
emu_tls_init (void)
{
  const size_t size = (size_t) __tls_size, init = __tdata_end - __tdata_start;
  char *tp = tls_block + size;

  if (size > TLS_MAX) {
    emu_printf ("emu_tls_init: %lu bytes of TLS, room for %d\n",
        (unsigned long) size, TLS_MAX);
    emu_exit (5);
  }
  memcpy (tls_block, __tdata_start, init);
  memset (tls_block + init, 0, size - init);
  *(char **) tp = tp;
  __asm__ volatile ("wrmsr"::"c" (0xC0000100u) /* IA32_FS_BASE */,
      "a" ((unsigned) (uintptr_t) tp), "d" ((unsigned) ((uintptr_t) tp >> 32)));
}

/* ---- string functions the compiler may call; rep movs/stos are fast in
 * Bochs and cannot be turned back into calls to themselves. ---- */

void *
memcpy (void *dst, const void *src, size_t n)
{
  void *d = dst;
  __asm__ volatile ("rep movsb":"+D" (d), "+S" (src), "+c" (n)::"memory");
  return dst;
}

void *
memmove (void *dst, const void *src, size_t n)
{
  if ((uintptr_t) dst - (uintptr_t) src >= n)   /* no harmful overlap */
    return memcpy (dst, src, n);
  /* dst overlaps the tail of src: copy backwards */
  void *d = (char *) dst + n - 1;
  src = (const char *) src + n - 1;
  __asm__ volatile ("std; rep movsb; cld":"+D" (d), "+S" (src), "+c" (n)
      ::"memory");
  return dst;
}

void *
memset (void *dst, int c, size_t n)
{
  void *d = dst;
  __asm__ volatile ("rep stosb":"+D" (d), "+c" (n):"a" (c):"memory");
  return dst;
}

int
memcmp (const void *a, const void *b, size_t n)
{
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q)
      return *p - *q;
  return 0;
}

/* ---- emu_printf ---- */

/* Formatting goes into a small buffer so that width padding is easy. */
struct field
{
  char buf[64];
  int len;
};

static void
put_char (struct field *f, char c)
{
  if (f->len < (int) sizeof f->buf)
    f->buf[f->len++] = c;
}

/* Digits of v in the given base, at least min_digits of them. */
static void
put_uint (struct field *f, unsigned long long v, unsigned base, int min_digits)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n < min_digits && n < (int) sizeof tmp)
    tmp[n++] = '0';
  while (n)
    put_char (f, tmp[--n]);
}

static unsigned long long
pow10u (int n)
{
  unsigned long long p = 1;
  while (n-- > 0)
    p *= 10;
  return p;
}

/* m as a decimal with `decimals` (at most 20) digits after the point; %g
 * drops the trailing zeros of the fraction. */
static void
put_fixed (struct field *f, unsigned long long m, int decimals, int strip)
{
  char d[24];                   /* digits, least significant first */
  int n = 0, low = 0;

  do {
    d[n++] = (char) ('0' + m % 10);
    m /= 10;
  } while (m);
  while (n <= decimals)         /* at least "0." before the fraction */
    d[n++] = '0';
  while (strip && low < decimals && d[low] == '0')
    low++;
  while (n > decimals)
    put_char (f, d[--n]);
  if (low < decimals)
    put_char (f, '.');
  while (n > low)
    put_char (f, d[--n]);
}

/* x * 10^n in x87 long double, in one rounding step whenever |n| <= 27
 * (5^27 < 2^64, so 10^27 is exact there).  The 11 bits beyond a double
 * decide the rounding of near-ties like 4450.4250000000002 correctly. */
static long double
scale10 (double x, int n)
{
  long double y = x, p = 1;
  for (; n > 27; n -= 27)
    y *= 1e27L;
  for (; n < -27; n += 27)
    y /= 1e27L;
  for (int i = n < 0 ? -n : n; i > 0; i--)
    p *= 10;
  return n < 0 ? y / p : y * p;
}

/* y >= 0 (below 2^63) to an integer, ties to even as printf does */
static unsigned long long
round_even (long double y)
{
  unsigned long long m = (unsigned long long) y;
  long double frac = y - m;
  return m + (frac > 0.5L || (frac == 0.5L && (m & 1)));
}

/* x > 0 as m * 10^(exp - prec) with m having exactly prec+1 digits.  The
 * loops only estimate exp; m comes from one rounding of x. */
static unsigned long long
decompose (double x, int prec, int *exp)
{
  int e = 0;
  for (double y = x; y >= 10; y /= 10)
    e++;
  for (double y = x; y < 1; y *= 10)
    e--;
  for (;;) {
    unsigned long long m = round_even (scale10 (x, prec - e));
    if (m >= pow10u (prec + 1))
      e++;
    else if (m < pow10u (prec))
      e--;
    else {
      *exp = e;
      return m;
    }
  }
}

static void
put_exp_form (struct field *f, unsigned long long m, int prec, int exp, int strip)
{
  put_fixed (f, m, prec, strip);
  put_char (f, 'e');
  put_char (f, exp < 0 ? '-' : '+');
  put_uint (f, (unsigned long long) (exp < 0 ? -exp : exp), 10, 2);
}

static void
put_double (struct field *f, double x, char conv, int prec)
{
  int exp;

  if (prec < 0)
    prec = 6;
  if (prec > 17)
    prec = 17;
  if (__builtin_signbit (x)) {
    put_char (f, '-');
    x = -x;
  }
  if (x != x || x > 1.7976931348623157e308) {
    const char *s = x != x ? "nan" : "inf";
    while (*s)
      put_char (f, *s++);
    return;
  }
  if (conv == 'f' && scale10 (x, prec) < 1e18) {
    put_fixed (f, round_even (scale10 (x, prec)), prec, 0);
    return;
  }
  if (conv == 'g') {
    int sig = prec ? prec : 1;
    if (x == 0) {
      put_char (f, '0');
      return;
    }
    unsigned long long m = decompose (x, sig - 1, &exp);
    if (exp >= -4 && exp < sig)         /* C's rule for fixed vs. exponent */
      put_fixed (f, m, sig - 1 - exp, 1);
    else
      put_exp_form (f, m, sig - 1, exp, 1);
    return;
  }
  if (x == 0) {                         /* %e, and %f's fallback */
    put_exp_form (f, 0, prec, 0, 0);
    return;
  }
  unsigned long long m = decompose (x, prec, &exp);
  put_exp_form (f, m, prec, exp, 0);
}

void
emu_vprintf (const char *fmt, va_list ap)
{
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      emu_putc (*fmt);
      continue;
    }
    int left = 0, zero = 0, width = 0, prec = -1, longs = 0;
    for (;; fmt++) {
      if (fmt[1] == '-')
        left = 1;
      else if (fmt[1] == '0')
        zero = 1;
      else
        break;
    }
    while (fmt[1] >= '0' && fmt[1] <= '9')
      width = width * 10 + (*++fmt - '0');
    if (fmt[1] == '.') {
      fmt++;
      prec = 0;
      while (fmt[1] >= '0' && fmt[1] <= '9')
        prec = prec * 10 + (*++fmt - '0');
    }
    while (fmt[1] == 'l' || fmt[1] == 'z') {
      longs++;
      fmt++;
    }
    char conv = *++fmt;
    if (!conv)
      break;

    struct field f = { .len = 0 };
    const char *s = NULL;
    switch (conv) {
    case 'd':
    case 'i':{
        long long v = longs ? va_arg (ap, long long) : va_arg (ap, int);
        if (v < 0)
          put_char (&f, '-');
        put_uint (&f, v < 0 ? 0ull - (unsigned long long) v : (unsigned long long) v,
            10, 1);
        break;
      }
    case 'u':
    case 'x':
      put_uint (&f, longs ? va_arg (ap, unsigned long long) : va_arg (ap,
              unsigned), conv == 'x' ? 16 : 10, 1);
      break;
    case 'p':
      put_char (&f, '0');
      put_char (&f, 'x');
      put_uint (&f, (uintptr_t) va_arg (ap, void *), 16, 1);
      break;
    case 'c':
      put_char (&f, (char) va_arg (ap, int));
      break;
    case 's':
      s = va_arg (ap, const char *);
      if (!s)
        s = "(null)";
      break;
    case 'e':
    case 'f':
    case 'g':
      put_double (&f, va_arg (ap, double), conv, prec);
      break;
    default:                    /* %% and anything unknown: print as is */
      put_char (&f, conv);
      break;
    }

    const char *out = s ? s : f.buf;
    int len = 0;
    if (s)
      while (s[len])
        len++;
    else
      len = f.len;
    int pad = width > len ? width - len : 0;
    if (zero && !left && conv != 's' && conv != 'c') {
      if (*out == '-') {        /* zeros go after the sign */
        emu_putc (*out++);
        len--;
      }
      for (; pad; pad--)
        emu_putc ('0');
    }
    for (; !left && pad; pad--)
      emu_putc (' ');
    for (int i = 0; i < len; i++)
      emu_putc (out[i]);
    for (; pad; pad--)
      emu_putc (' ');
  }
}

void
emu_printf (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  emu_vprintf (fmt, ap);
  va_end (ap);
}
