/* bpe.h — CLIP's byte-level BPE vocabulary and the merge loop.
 *
 * The vocabulary file (bpe_simple_vocab_16e6.txt.gz) lists merges, one
 * "A B" pair per line after a header line, in priority order.  Symbols are
 * strings over a 256-character alphabet that stands for the bytes of UTF-8
 * text (printable Latin-1 characters for themselves, U+0100.. for the rest);
 * a symbol ending a word carries "</w>".  Ids follow open_clip's vocabulary:
 *   0..255      the byte symbols, in the alphabet's order (not byte order)
 *   256..511    the same followed by "</w>"
 *   512..49405  the result of merge 0..48893
 *   49406       <start_of_text>,   49407  <end_of_text>
 * After loading only ids are used: a pair of ids maps to a merge rank and
 * the id it merges into.
 */
#ifndef MC_TEXT_BPE_H
#define MC_TEXT_BPE_H

#include <glib.h>
#include <stdint.h>

#include "mobileclip.h"

#define MC_BPE_N_MERGES 48894      /* lines 1..48894 of the file are used */
#define MC_BPE_START_OF_TEXT 49406
#define MC_BPE_END_OF_TEXT 49407
#define MC_BPE_VOCAB_SIZE 49408

typedef struct mc_bpe mc_bpe;

/* Reads the merges from a gzip-compressed (or plain) vocabulary file. */
mc_status mc_bpe_load (const char *path, mc_bpe **out, mc_error *err);
void mc_bpe_free (mc_bpe *bpe);

/* The id of byte b as a symbol of its own, word-final (with "</w>") or not. */
int32_t mc_bpe_byte_symbol (uint8_t b, gboolean word_final);

/* The rank of merging adjacent symbols a then b (lower ranks merge first),
 * or -1 when the pair never merges; *merged (may be NULL) receives the id
 * of the symbol they become. */
int mc_bpe_merge_rank (const mc_bpe *bpe, int32_t a, int32_t b, int32_t *merged);

/* Splits one word, given as its UTF-8 bytes (n >= 1), exactly as open_clip's
 * SimpleTokenizer.bpe does, and appends the symbol ids to out (a GArray of
 * int32_t).  Runs in O(n log n), so a word of any length is fine. */
void mc_bpe_encode_word (const mc_bpe *bpe, const uint8_t *bytes, size_t n, GArray *out);

#endif
