/* html_unescape.c — Python's html.unescape on UCS-4 text. */
#include "text/html_unescape.h"

#include <string.h>

#include "text/html_entities.h"

/* A reference names at most this many characters before its optional ';'
 * (Python's pattern is [^\t\n\f <&#;]{1,32};?). */
#define NAME_RUN_MAX 32

/* Numbers past U+10FFFF all become U+FFFD, so parsing can stop growing there
 * (Python parses arbitrarily long digit strings as big integers). */
#define NUMBER_CAP 0x110000u

/* Numeric references 0x80-0x9F are read as windows-1252, as browsers do;
 * the five bytes windows-1252 leaves undefined stay C1 controls. */
static const gunichar cp1252_c1[32] = {
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/* Appends what the numeric reference `num` stands for (possibly nothing). */
static void
append_numeric_reference (GArray *out, uint32_t num)
{
  gunichar c;

  /* The order of the checks is Python's: its remapping table comes first,
   * so 0x0D and 0x80-0x9F are replaced rather than dropped. */
  if (num == 0)
    c = 0xfffd;
  else if (num == 0x0d)
    c = '\r';
  else if (num >= 0x80 && num <= 0x9f)
    c = cp1252_c1[num - 0x80];
  else if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff)
    c = 0xfffd;
  else if ((num >= 0x01 && num <= 0x08) || num == 0x0b || (num >= 0x0e && num <= 0x1f)
      || num == 0x7f || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) == 0xfffe)
    return;   /* control characters and non-characters vanish */
  else
    c = num;
  g_array_append_val (out, c);
}

static int
is_hex_digit (gunichar c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
hex_value (gunichar c)
{
  if (c <= '9')
    return c - '0';
  return (c | 0x20) - 'a' + 10;
}

static int
is_name_char (gunichar c)
{
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&'
      && c != '#' && c != ';';
}

/* Looks up an ASCII name of `len` bytes (with its ';' if any). */
static const mc_html_entity *
find_entity (const char *name, size_t len)
{
  size_t lo = 0, hi = mc_html_entities_count;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *cand = mc_html_entities[mid].name;
    int cmp = strncmp (name, cand, len);
    if (cmp == 0 && cand[len] != '\0')
      cmp = -1;   /* name is a proper prefix of cand: it sorts first */
    if (cmp == 0)
      return &mc_html_entities[mid];
    if (cmp < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

static void
append_entity (GArray *out, const mc_html_entity *e)
{
  g_array_append_val (out, e->cp[0]);
  if (e->cp[1])
    g_array_append_val (out, e->cp[1]);
}

/* Tries a numeric reference at in[i] == '&', in[i+1] == '#'.  Returns the
 * index just past it, or 0 when the text there is not one. */
static size_t
numeric_reference (const gunichar *in, size_t n, size_t i, GArray *out)
{
  size_t k = i + 2;
  uint32_t num = 0;

  if (k < n && in[k] >= '0' && in[k] <= '9') {
    for (; k < n && in[k] >= '0' && in[k] <= '9'; k++)
      num = MIN (num * 10 + (in[k] - '0'), NUMBER_CAP);
  } else if (k + 1 < n && (in[k] == 'x' || in[k] == 'X') && is_hex_digit (in[k + 1])) {
    for (k++; k < n && is_hex_digit (in[k]); k++)
      num = MIN (num * 16 + hex_value (in[k]), NUMBER_CAP);
  } else {
    return 0;
  }
  if (k < n && in[k] == ';')
    k++;
  append_numeric_reference (out, num);
  return k;
}

/* Tries a named reference at in[i] == '&'.  Returns the index just past the
 * characters it consumed, or 0 when there is no name there at all. */
static size_t
named_reference (const gunichar *in, size_t n, size_t i, GArray *out)
{
  char name[NAME_RUN_MAX + 2];
  size_t start = i + 1, end = start, len, ascii_len;
  const mc_html_entity *e;

  while (end < n && end - start < NAME_RUN_MAX && is_name_char (in[end]))
    end++;
  if (end == start)
    return 0;
  if (end < n && in[end] == ';')
    end++;
  len = end - start;

  /* Entity names are ASCII: only the leading ASCII part of the run can
   * match, and then character and byte counts coincide. */
  for (ascii_len = 0; ascii_len < len && in[start + ascii_len] < 0x80; ascii_len++)
    name[ascii_len] = (char) in[start + ascii_len];

  if (ascii_len == len && (e = find_entity (name, len))) {
    append_entity (out, e);
    return end;
  }
  /* Otherwise the longest known prefix of at least two characters; only the
   * legacy names without ';' can match here, and the rest of the run is
   * kept as it was ("&copyright" -> "©right"). */
  for (size_t x = MIN (len - 1, ascii_len); x >= 2; x--) {
    if ((e = find_entity (name, x))) {
      append_entity (out, e);
      g_array_append_vals (out, in + start + x, len - x);
      return end;
    }
  }
  g_array_append_vals (out, in + i, end - i);
  return end;
}

void
mc_html_unescape (const gunichar *in, size_t n, GArray *out)
{
  size_t i = 0;

  while (i < n) {
    size_t next = 0;

    if (in[i] == '&' && i + 1 < n)
      next = in[i + 1] == '#' ? numeric_reference (in, n, i, out)
          : named_reference (in, n, i, out);
    if (next) {
      i = next;
    } else {
      g_array_append_val (out, in[i]);
      i++;
    }
  }
}
