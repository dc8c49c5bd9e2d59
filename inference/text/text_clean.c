/* text_clean.c — Python's str.split/join and str.lower as open_clip uses them.
 *
 * GLib's character tables agree with CPython 3.11's for everything here
 * (checked over every code point) except where noted; the exceptions are
 * handled below.  Characters new in Unicode 15 follow GLib 2.74 (Unicode 15),
 * which Python 3.11 (Unicode 14) treats as unassigned.
 */
#include "text/text_clean.h"

#include "text/html_unescape.h"

gboolean
mc_text_is_python_space (gunichar c)
{
  if (c < 0x80)
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a)
      || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

void
mc_text_collapse_whitespace (const gunichar *in, size_t n, GArray *out)
{
  const gunichar space = ' ';
  gboolean first = TRUE;
  size_t i = 0;

  while (i < n) {
    size_t start;
    while (i < n && mc_text_is_python_space (in[i]))
      i++;
    if (i == n)
      break;
    start = i;
    while (i < n && !mc_text_is_python_space (in[i]))
      i++;
    if (!first)
      g_array_append_val (out, space);
    g_array_append_vals (out, in + start, i - start);
    first = FALSE;
  }
}

/* Unicode's Case_Ignorable: marks, format characters, modifier letters and
 * symbols, and the Word_Break MidLetter/MidNumLet/Single_Quote punctuation
 * (so "'" and "." do not end a word for the final-sigma test). */
static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c)) {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      break;
  }
  switch (c) {
    case 0x0027: case 0x002e: case 0x003a: case 0x00b7: case 0x0387: case 0x055f:
    case 0x05f4: case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xfe13:
    case 0xfe52: case 0xfe55: case 0xff07: case 0xff0e: case 0xff1a:
      return TRUE;
    default:
      return FALSE;
  }
}

/* Unicode's Cased: upper, lower and title case letters plus the
 * Other_Uppercase/Other_Lowercase characters of other categories.  (Those
 * that are modifier letters or marks are case-ignorable, and the final-sigma
 * test skips case-ignorable characters before it asks whether one is cased,
 * so they need not be listed.) */
static gboolean
is_cased (gunichar c)
{
  switch (g_unichar_type (c)) {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
      return TRUE;
    default:
      break;
  }
  return c == 0x00aa || c == 0x00ba                 /* ª º */
      || (c >= 0x2160 && c <= 0x217f)              /* Roman numerals */
      || (c >= 0x24b6 && c <= 0x24e9)              /* circled Latin letters */
      || (c >= 0x1f130 && c <= 0x1f149)            /* squared, negative circled */
      || (c >= 0x1f150 && c <= 0x1f169)            /* and negative squared */
      || (c >= 0x1f170 && c <= 0x1f189);           /* Latin capitals */
}

/* CPython's rule: 'Σ' at in[i] lowercases to final 'ς' when a cased
 * character precedes it and none follows it, case-ignorable characters
 * being skipped in both directions. */
static gboolean
is_final_sigma (const gunichar *in, size_t n, size_t i)
{
  size_t j = i;
  gboolean final;

  while (j > 0 && is_case_ignorable (in[j - 1]))
    j--;
  final = j > 0 && is_cased (in[j - 1]);
  if (final) {
    j = i + 1;
    while (j < n && is_case_ignorable (in[j]))
      j++;
    final = j == n || !is_cased (in[j]);
  }
  return final;
}

static gunichar
lower_simple (gunichar c)
{
  /* GLib lowercases letters only; Python also maps these two ranges, which
   * carry case but are a number (Nl) and symbols (So). */
  if (c >= 0x2160 && c <= 0x216f)
    return c + 0x10;
  if (c >= 0x24b6 && c <= 0x24cf)
    return c + 0x1a;
  return g_unichar_tolower (c);
}

void
mc_text_lower (const gunichar *in, size_t n, GArray *out)
{
  for (size_t i = 0; i < n; i++) {
    gunichar c = in[i];
    if (c == 0x0130) {
      /* 'İ' has the only unconditional multi-character lowercase mapping:
       * 'i' followed by COMBINING DOT ABOVE. */
      const gunichar dotted_i[2] = { 'i', 0x0307 };
      g_array_append_vals (out, dotted_i, 2);
      continue;
    }
    if (c == 0x03a3)
      c = is_final_sigma (in, n, i) ? 0x03c2 : 0x03c3;
    else
      c = lower_simple (c);
    g_array_append_val (out, c);
  }
}

GArray *
mc_text_clean (const gunichar *in, size_t n)
{
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), n + 1);
  GArray *b = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), n + 1);

  /* Twice, as open_clip does: "&amp;lt;" ends as "<". */
  mc_html_unescape (in, n, a);
  mc_html_unescape ((const gunichar *) a->data, a->len, b);
  g_array_set_size (a, 0);
  mc_text_collapse_whitespace ((const gunichar *) b->data, b->len, a);
  g_array_set_size (b, 0);
  mc_text_lower ((const gunichar *) a->data, a->len, b);
  g_array_unref (a);
  return b;
}
