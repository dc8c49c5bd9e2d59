/* tokenizer.h — open_clip's SimpleTokenizer (CLIP BPE), in C.
 *
 * Prompt text becomes the 77 token ids the text tower reads, exactly as
 * open_clip.get_tokenizer('ViT-B-16') / ('MobileCLIP2-*') produce them,
 * except that ftfy.fix_text is not run (docs/tokenizer.md lists what that
 * changes).  The steps: html.unescape twice, whitespace collapsed, Python's
 * str.lower(), open_clip's word pattern, byte-level BPE, SOT/EOT, truncation
 * to 77 with EOT last, zero padding.
 *
 * A loaded tokenizer is read-only: encode from any number of threads.
 */
#ifndef MC_TEXT_TOKENIZER_H
#define MC_TEXT_TOKENIZER_H

#include <stdint.h>

#include "mobileclip.h"

#define MC_VOCAB_FILE_NAME "bpe_simple_vocab_16e6.txt.gz"

typedef struct mc_tokenizer mc_tokenizer;

/* Loads bpe_simple_vocab_16e6.txt.gz (gzip-compressed; a plain-text file is
 * accepted too).  Errors: MC_ERR_VOCAB. */
mc_status mc_tokenizer_load (const char *vocab_path, mc_tokenizer **out, mc_error *err);
void mc_tokenizer_free (mc_tokenizer *tok);

/* ids: 77 entries written.  n_tokens (may be NULL): count before truncation
 * incl. SOT/EOT.  Text that is not valid UTF-8: MC_ERR_INVALID_ARGUMENT. */
mc_status mc_tokenizer_encode (const mc_tokenizer *tok, const char *utf8,
    int32_t ids[MC_CONTEXT_LENGTH], int *n_tokens, mc_error *err);

/* Finds the vocabulary: explicit path if non-NULL; else $MOBILECLIP_VOCAB
 * (a file); else <model_dir>/bpe_simple_vocab_16e6.txt.gz if model_dir is
 * non-NULL; else the installed copy (MC_INSTALLED_VOCAB).  A path given
 * explicitly or through the environment must exist: it is not silently
 * replaced by another.  Returns a g_malloc'd path, or NULL with err set
 * (MC_ERR_VOCAB; the message lists where it looked). */
char *mc_vocab_find (const char *explicit_path, const char *model_dir, mc_error *err);

#endif
