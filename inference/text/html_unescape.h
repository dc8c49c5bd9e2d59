/* html_unescape.h — Python's html.unescape, character for character.
 *
 * open_clip cleans every prompt with html.unescape(html.unescape(text)), so
 * "&amp;amp;" becomes "&" and "&copy 2024" becomes "© 2024".  This follows
 * CPython 3.11's Lib/html/__init__.py: the same reference syntax (a run of
 * at most 32 name characters, decimal or hex numbers of any length, the ';'
 * optional everywhere), the longest-prefix rule for legacy names without ';',
 * and the same treatment of invalid numbers (cp1252 remapping of 0x80-0x9F,
 * U+FFFD for 0, surrogates and values past U+10FFFF, nothing for the
 * non-characters and most C0/C1 controls).
 */
#ifndef MC_TEXT_HTML_UNESCAPE_H
#define MC_TEXT_HTML_UNESCAPE_H

#include <glib.h>

/* Appends the unescaped form of in[0..n) to out, a GArray of gunichar. */
void mc_html_unescape (const gunichar *in, size_t n, GArray *out);

#endif
