/* pretokenize.c — open_clip's word pattern, scanned by hand. */
#include "text/pretokenize.h"

#include <string.h>

typedef enum {
  CLASS_LETTER,   /* \p{L} */
  CLASS_NUMBER,   /* \p{N}: Nd, Nl and No */
  CLASS_OTHER,    /* [^\s\p{L}\p{N}] */
  CLASS_NONE,     /* matched by no alternative: skipped */
} char_class;

static char_class
classify (gunichar c)
{
  switch (g_unichar_type (c)) {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
      return CLASS_LETTER;
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return CLASS_NUMBER;
    default:
      break;
  }
  /* The regex module's \s is Unicode White_Space (it leaves out 0x1C-0x1F,
   * which Python's str.split() cuts at, but those are gone by now). */
  if ((c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680
      || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f
      || c == 0x205f || c == 0x3000)
    return CLASS_NONE;
  /* COMBINING GREEK YPOGEGRAMMENI is a mark, but it case-folds to 'ι': under
   * IGNORECASE the regex module neither counts it a letter nor lets the
   * negated class take it, so it matches nothing and is dropped. */
  if (c == 0x0345)
    return CLASS_NONE;
  return CLASS_OTHER;
}

/* The pattern's literals, in the order the alternation tries them. */
static const char *const literals[] = {
  "<start_of_text>", "<end_of_text>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
};

/* IGNORECASE with simple case folding, for the ASCII literals above: ASCII
 * capitals and LONG S ('ſ' folds to 's') are the only characters that fold
 * onto them (KELVIN SIGN folds to 'k', which no literal has). */
static gunichar
fold (gunichar c)
{
  if (c >= 'A' && c <= 'Z')
    return c + ('a' - 'A');
  if (c == 0x017f)
    return 's';
  return c;
}

static size_t
match_literal (const gunichar *text, size_t n, size_t i, const char *lit)
{
  size_t len = strlen (lit);

  if (n - i < len)
    return 0;
  for (size_t k = 0; k < len; k++)
    if (fold (text[i + k]) != (gunichar) lit[k])
      return 0;
  return len;
}

/* Whether text[start..end) is exactly the ASCII string s. */
static gboolean
equals_ascii (const gunichar *text, size_t start, size_t end, const char *s)
{
  size_t len = strlen (s);

  if (end - start != len)
    return FALSE;
  for (size_t k = 0; k < len; k++)
    if (text[start + k] != (gunichar) s[k])
      return FALSE;
  return TRUE;
}

gboolean
mc_pretoken_next (const gunichar *text, size_t n, size_t *pos,
    size_t *start, size_t *end, mc_pretoken_kind *kind)
{
  size_t i = *pos;

  for (; i < n; i++) {
    size_t len = 0, j;
    char_class cls;

    for (size_t l = 0; l < G_N_ELEMENTS (literals) && !len; l++)
      len = match_literal (text, n, i, literals[l]);
    if (len) {
      j = i + len;
    } else {
      cls = classify (text[i]);
      if (cls == CLASS_NONE)
        continue;
      j = i + 1;
      if (cls != CLASS_NUMBER)   /* letters and others run on; digits are single */
        while (j < n && classify (text[j]) == cls)
          j++;
    }
    *start = i;
    *end = j;
    *pos = j;
    /* open_clip's BPE cache is seeded with the two special tokens, so only
     * the exact lowercase spellings become their ids; a case-folded match
     * such as "<ſtart_of_text>" goes through BPE like any word. */
    if (equals_ascii (text, i, j, "<start_of_text>"))
      *kind = MC_PRETOKEN_START_OF_TEXT;
    else if (equals_ascii (text, i, j, "<end_of_text>"))
      *kind = MC_PRETOKEN_END_OF_TEXT;
    else
      *kind = MC_PRETOKEN_WORD;
    return TRUE;
  }
  *pos = n;
  return FALSE;
}
