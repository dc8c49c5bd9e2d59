/* text_clean.h — open_clip's 'lower' text cleaning, without ftfy.
 *
 * SimpleTokenizer(clean='lower') runs, before splitting a prompt into words:
 *   html.unescape twice, strip, " ".join(text.split()), .lower()
 * This reproduces those Python str operations on UCS-4 text.  ftfy.fix_text,
 * which open_clip runs first, is not reproduced (see docs/tokenizer.md).
 */
#ifndef MC_TEXT_TEXT_CLEAN_H
#define MC_TEXT_TEXT_CLEAN_H

#include <glib.h>

/* Python's str.isspace(): the characters str.split() and str.strip() cut at
 * (Unicode White_Space plus the ASCII separators 0x1C-0x1F). */
gboolean mc_text_is_python_space (gunichar c);

/* The whole cleaning on in[0..n); returns a GArray of gunichar (free it with
 * g_array_unref). */
GArray *mc_text_clean (const gunichar *in, size_t n);

/* " ".join(text.split()) on in[0..n): words separated by one ' ', no space
 * at either end.  Appends to out. */
void mc_text_collapse_whitespace (const gunichar *in, size_t n, GArray *out);

/* Python's str.lower() on in[0..n): full lowercase mapping ('İ' becomes
 * "i\u0307") with the Final_Sigma rule for 'Σ'.  Appends to out. */
void mc_text_lower (const gunichar *in, size_t n, GArray *out);

#endif
