/* emu_runtime.h — what freestanding test code gets when it runs on bare
 * metal under Bochs (boot.S calls kmain(), which the test defines).
 *
 * Output goes to Bochs's port 0xE9 debug console; run-bochs.sh prints it
 * and turns "EMU-EXIT <status>" into its exit status.  Returning from
 * kmain() is the same as emu_exit(0). */
#ifndef EMU_RUNTIME_H
#define EMU_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>

void kmain (void);

void emu_putc (char c);
/* %d %i %u %x %c %s %p %% with l/ll/z, flags '-' '0', width, and
 * %e %f %g with precision (doubles; %f prints as %e once value * 10^prec
 * reaches 1e18, e.g. %f of 1e12). */
void emu_printf (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));
void emu_vprintf (const char *fmt, va_list ap);
void emu_exit (int status) __attribute__ ((noreturn));

/* Called by boot.S before kmain: sets up thread-local storage. */
void emu_tls_init (void);

/* Called by boot.S's exception stubs. */
void emu_exception (unsigned vector, unsigned long long error,
    unsigned long long rip) __attribute__ ((noreturn));

#endif
