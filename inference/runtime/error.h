/* error.h — filling an mc_error from inside the engine. */
#ifndef MC_RUNTIME_ERROR_H
#define MC_RUNTIME_ERROR_H

#include "mobileclip.h"

/* Sets err (when non-NULL) to code and a printf-style message; returns code so
 * that callers can write `return mc_err (err, MC_ERR_IO, "...")`. */
mc_status mc_err (mc_error *err, mc_status code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prepends "prefix: " to an error's message (adds context on the way up). */
void mc_err_prefix (mc_error *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
