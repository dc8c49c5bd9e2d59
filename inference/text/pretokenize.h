/* pretokenize.h — splitting cleaned text into the words BPE works on.
 *
 * open_clip finds words with the `regex` module pattern
 *   <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * compiled with IGNORECASE, and keeps every match (re.findall).  This is the
 * same scan without a regex engine: at each position the alternatives are
 * tried in order; characters no alternative accepts (whitespace) are skipped.
 */
#ifndef MC_TEXT_PRETOKENIZE_H
#define MC_TEXT_PRETOKENIZE_H

#include <glib.h>

typedef enum {
  MC_PRETOKEN_WORD = 0,        /* an ordinary word, to be split by BPE */
  MC_PRETOKEN_START_OF_TEXT,   /* exactly "<start_of_text>" */
  MC_PRETOKEN_END_OF_TEXT,     /* exactly "<end_of_text>" */
} mc_pretoken_kind;

/* Finds the next word at or after *pos in text[0..n): sets [*start, *end),
 * moves *pos past it and returns its kind through *kind.  Returns FALSE when
 * no word is left. */
gboolean mc_pretoken_next (const gunichar *text, size_t n, size_t *pos,
    size_t *start, size_t *end, mc_pretoken_kind *kind);

#endif
