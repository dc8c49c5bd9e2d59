/* error.c — engine error codes and messages. */
#include "error.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
mc_status_name (mc_status status)
{
  switch (status) {
    case MC_OK: return "ok";
    case MC_ERR_INVALID_ARGUMENT: return "invalid-argument";
    case MC_ERR_IO: return "io";
    case MC_ERR_FORMAT: return "format";
    case MC_ERR_CONFIG: return "config";
    case MC_ERR_WEIGHTS: return "weights";
    case MC_ERR_UNSUPPORTED: return "unsupported";
    case MC_ERR_NOMEM: return "out-of-memory";
    case MC_ERR_VOCAB: return "vocab";
  }
  return "unknown";
}

mc_status
mc_err (mc_error *err, mc_status code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    err->code = code;
    va_start (ap, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, ap);
    va_end (ap);
  }
  return code;
}

void
mc_err_prefix (mc_error *err, const char *fmt, ...)
{
  char prefix[MC_ERROR_MESSAGE_SIZE];
  char old[MC_ERROR_MESSAGE_SIZE];
  va_list ap;

  if (!err)
    return;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  memcpy (old, err->message, sizeof old);
  /* a message cut at the buffer's end is still a useful message */
  g_snprintf (err->message, sizeof err->message, "%s: %s", prefix, old);
}
